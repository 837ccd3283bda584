"""``PluginSpec``: what a plugin's entry point points at. Cheap to import, validated on creation."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

import attrs

Level = Literal["hard", "soft"]
_ID = re.compile(r"^[a-z][a-z0-9_]{1,62}$")
_ACTION = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_CAPABILITY = re.compile(r"^(database|redis|config:[A-Z][A-Z0-9_]*|plugin:[a-z][a-z0-9_]*)$")


@attrs.frozen
class Requirement:
    """A capability the plugin needs: ``database``, ``redis``, ``config:<KEY>`` or ``plugin:<id>``.

    A missing ``hard`` requirement disables the plugin; a missing ``soft`` one degrades it.
    """

    capability: str
    level: Level = "hard"

    def __attrs_post_init__(self) -> None:
        if not _CAPABILITY.match(self.capability):
            raise ValueError(
                f"unknown capability {self.capability!r}: use database, redis, "
                "config:<UPPER_KEY> or plugin:<plugin_id>"
            )
        if self.level not in ("hard", "soft"):
            raise ValueError(f"requirement level must be 'hard' or 'soft', got {self.level!r}")


def hard(capability: str) -> Requirement:
    """Return a requirement whose absence disables the plugin."""
    return Requirement(capability, "hard")


def soft(capability: str) -> Requirement:
    """Return a requirement whose absence degrades the plugin."""
    return Requirement(capability, "soft")


def _requirements(value: Any) -> tuple[Requirement, ...]:
    items = (value,) if isinstance(value, str | Requirement) else tuple(value)
    return tuple(item if isinstance(item, Requirement) else Requirement(item) for item in items)


def _check_id(_instance: Any, _attribute: Any, value: str) -> None:
    if not _ID.match(value):
        raise ValueError(f"plugin id {value!r} must be snake_case: [a-z][a-z0-9_]{{1,62}}")


def _check_credits(_instance: Any, _attribute: Any, value: Mapping[str, int]) -> None:
    for action, cost in value.items():
        if not _ACTION.match(action):
            raise ValueError(f"credit action {action!r} must be an identifier")
        if not isinstance(cost, int) or isinstance(cost, bool) or cost < 0:
            raise ValueError(f"credit cost of {action!r} must be a non-negative integer")


def _check_prefix(_instance: Any, _attribute: Any, value: str | None) -> None:
    if value is not None and (not value.startswith("/") or value.endswith("/")):
        raise ValueError(f"route_prefix {value!r} must start with '/' and not end with '/'")


@attrs.frozen
class PluginSpec:
    """Describe a plugin: identity, routes prefix, requirements, credit costs, settings, hooks.

    Only ``id`` is required; ``version`` defaults to the installed distribution's version.
    ``hooks`` is the dotted path of the module holding the
    ``@hookimpl`` functions; it is imported only when the plugin is enabled.
    ``required_in_production``: in production, a configuration problem (an unset
    ``config:`` requirement, a setting that breaks a rule) stops the startup instead of
    disabling the plugin; a deployer who does not want it turns it off with a toggle.
    """

    id: str = attrs.field(validator=_check_id)
    title: str = ""
    version: str | None = None
    description: str = ""
    route_prefix: str | None = attrs.field(default=None, validator=_check_prefix)
    requires: tuple[Requirement, ...] = attrs.field(default=(), converter=_requirements)
    credits: Mapping[str, int] = attrs.field(factory=dict, validator=_check_credits)
    settings: type | None = None
    hooks: str | None = None
    required_in_production: bool = False

    @property
    def display_title(self) -> str:
        """Return the title, or one derived from the id."""
        return self.title or self.id.replace("_", " ").title()

    @property
    def storage_folder(self) -> str:
        """Return the plugin's folder under the storage root: its id with dashes."""
        return self.id.replace("_", "-")

    @property
    def prefix(self) -> str:
        """Return the route prefix (default ``/api/apps/<id with dashes>``)."""
        return self.route_prefix or "/api/apps/" + self.id.replace("_", "-")
