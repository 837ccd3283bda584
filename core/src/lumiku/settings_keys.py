"""Keys of ``lumiku.toml`` and variables that nothing reads: a mistyped key is not ignored.

An operator who writes ``[plugins] disabld = [...]`` or ``[credits.avatar_creator]
generateAvatr = 1`` would otherwise get the default silently. Each unknown key is a
finding ``(where, rule)`` naming the closest known key; in production it is a settings
problem (the startup stops, or the plugin it belongs to is disabled), elsewhere a ⚠️
warning (``docs/decisions.md``, "Unknown settings keys").
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

Finding = tuple[str, str]

# The top level of lumiku.toml, and the keys of [plugins] that are not a plugin's table.
FILE_SECTIONS = ("plugins", "credits")
PLUGINS_KEYS = ("enabled", "disabled", "safe_mode")


def unknown_rule(key: str, known: Iterable[str]) -> str:
    """Return ``"is not a known key (did you mean X?)"``, the hint only when one is close."""
    close = difflib.get_close_matches(key, sorted(set(known)), n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return f"is not a known key{hint}"


def file_key_findings(file_config: Mapping[str, Any]) -> list[Finding]:
    """Return the unknown keys of ``lumiku.toml`` that the core alone can tell.

    Unknown sections, scalar keys of ``[plugins]`` other than ``enabled``, ``disabled`` and
    ``safe_mode``, and scalar keys of ``[credits]`` (whose keys are plugins' tables). The
    plugins' own tables are checked against their specs (``lumiku.plugins.unknown_keys``).
    """
    found: list[Finding] = []
    for key in file_config:
        if key not in FILE_SECTIONS:
            found.append((f"lumiku.toml {key}", unknown_rule(key, FILE_SECTIONS)))
    plugins = file_config.get("plugins", {})
    if isinstance(plugins, Mapping):
        for key, value in plugins.items():
            if key not in PLUGINS_KEYS and not isinstance(value, Mapping):
                found.append((f"lumiku.toml [plugins] {key}", unknown_rule(key, PLUGINS_KEYS)))
    credits = file_config.get("credits", {})
    if isinstance(credits, Mapping):
        for key, value in credits.items():
            if not isinstance(value, Mapping):
                rule = "is not a plugin's table: write it under [credits.<plugin id>]"
                found.append((f"lumiku.toml [credits] {key}", rule))
    return found
