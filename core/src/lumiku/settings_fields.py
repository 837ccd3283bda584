"""Fields of a plugin's settings class: which variable each is read from, whether it is secret.

A plugin's settings field is read from ``<PLUGIN_ID>_<FIELD>`` by default. ``setting(env=...)``
names the variable instead, for the names deployers already know (``DUITKU_API_KEY``);
``secret=True`` keeps the value out of ``repr`` (tracebacks, logs) and out of the messages
that report a value that does not convert. Cheap to import: a plugin's spec module uses it.
"""

from __future__ import annotations

import re
from typing import Any

import attrs

_ENV_KEY = "lumiku.env"
_HIDDEN_KEY = "lumiku.secret"  # the metadata key of the secret flag
_VARIABLE = re.compile(r"^[A-Z][A-Z0-9_]*$")


def setting(
    default: Any = attrs.NOTHING,
    *,
    env: str | None = None,
    secret: bool = False,
    factory: Any = None,
    validator: Any = None,
) -> Any:
    """Return an attrs field of a plugin settings class.

    ``env`` names the environment variable (upper snake case) that sets it, instead of
    ``<PLUGIN_ID>_<FIELD>``; ``lumiku.toml`` still uses the field's name. ``secret`` hides
    the value from ``repr`` and from error messages. Without ``default`` or ``factory``
    the setting is required.
    """
    if env is not None and not _VARIABLE.match(env):
        raise ValueError(f"setting env {env!r} must be an UPPER_SNAKE_CASE variable name")
    metadata = {_ENV_KEY: env, _HIDDEN_KEY: secret}
    if factory is not None:
        return attrs.field(factory=factory, repr=not secret, metadata=metadata, validator=validator)
    return attrs.field(default=default, repr=not secret, metadata=metadata, validator=validator)


def variable_of(attribute: attrs.Attribute[Any], prefix: str) -> str:
    """Return the environment variable that sets ``attribute`` (``prefix`` + name by default)."""
    named = attribute.metadata.get(_ENV_KEY)
    return str(named) if named else prefix + attribute.name.upper()


def is_secret(attribute: attrs.Attribute[Any]) -> bool:
    """Return whether the field was declared ``secret``."""
    return bool(attribute.metadata.get(_HIDDEN_KEY, False))
