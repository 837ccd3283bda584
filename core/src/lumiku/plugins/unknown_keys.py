"""A plugin's settings and credit keys that nothing reads (see ``lumiku.settings_keys``).

``[plugins.<id>]`` keys that are not fields of its settings class, ``[credits.<id>]`` keys
and ``<ID>_CREDITS_<ACTION>`` variables that name no action of its spec, and
``[plugins.<id>]`` / ``[credits.<id>]`` tables of a plugin that is not installed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import attrs

from lumiku.plugins.configuration import credit_variable
from lumiku.plugins.spec import PluginSpec
from lumiku.settings import Settings
from lumiku.settings_keys import PLUGINS_KEYS, Finding, unknown_rule


def _table(settings: Settings, section: str, plugin_id: str) -> Mapping[str, object]:
    outer = settings.file_config.get(section, {})
    table = outer.get(plugin_id, {}) if isinstance(outer, Mapping) else {}
    return table if isinstance(table, Mapping) else {}


def plugin_key_findings(settings: Settings, spec: PluginSpec) -> list[Finding]:
    """Return the unknown keys of one plugin's tables and credit variables."""
    found: list[Finding] = []
    fields = (
        [field.name for field in attrs.fields(spec.settings)]
        if spec.settings is not None and attrs.has(spec.settings)
        else []
    )
    for key in _table(settings, "plugins", spec.id):
        if key not in fields:
            where = f"lumiku.toml [plugins.{spec.id}] {key}"
            found.append((where, unknown_rule(key, fields)))
    actions = list(spec.credits)
    for key in _table(settings, "credits", spec.id):
        if key not in actions:
            found.append((f"lumiku.toml [credits.{spec.id}] {key}", unknown_rule(key, actions)))
    variables = {credit_variable(spec.id, action): action for action in actions}
    prefix = f"{spec.id.upper()}_CREDITS_"
    for name in sorted(settings.environ):
        if name.startswith(prefix) and name not in variables:
            found.append((name, unknown_rule(name, variables)))
    return found


def unknown_plugin_findings(settings: Settings, installed: Iterable[str]) -> list[Finding]:
    """Return the ``[plugins.<id>]`` and ``[credits.<id>]`` tables of no installed plugin."""
    ids = sorted(set(installed))
    found: list[Finding] = []
    for section in ("plugins", "credits"):
        outer = settings.file_config.get(section, {})
        if not isinstance(outer, Mapping):
            continue
        for key, value in outer.items():
            if isinstance(value, Mapping) and key not in ids and key not in PLUGINS_KEYS:
                rule = unknown_rule(key, ids).replace("a known key", "an installed plugin")
                found.append((f"lumiku.toml [{section}.{key}]", rule))
    return found
