"""A plugin's configuration: its settings class and its credit cost overrides.

Values come from environment variables (``<PLUGIN_ID>_<FIELD>``, or the name a
``lumiku.setting(env=...)`` gives) and from ``lumiku.toml`` (``[plugins.<id>]``,
``[credits.<id>]``); variables win. Every problem is collected and reported together, each
naming where the value came from and what was expected ("DUITKU_EXPIRY_MINUTES: expected a
whole number, got 'abc'"), never in Python's words. A secret's value is never shown.
"""

from __future__ import annotations

import math
import re
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar, cast

import attrs
import cattrs

from lumiku.credit_limits import MAX_AMOUNT
from lumiku.errors import ConfigurationError
from lumiku.settings import Settings, parse_bool
from lumiku.settings_fields import is_secret, variable_of

T = TypeVar("T")
Problem = dict[str, str]

_WHOLE = re.compile(r"^[+-]?[0-9]+$")  # ASCII digits: int() also reads "\uff11\uff12"


class _Unusable(Exception):
    """A value that does not convert; ``expected`` says what would."""

    def __init__(self, expected: str) -> None:
        super().__init__(expected)
        self.expected = expected


def _to_int(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _WHOLE.match(value.strip()):
        return int(value.strip())
    raise _Unusable("a whole number")


def _to_float(value: object) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise _Unusable("a number") from None
    else:
        raise _Unusable("a number")
    if not math.isfinite(number):
        raise _Unusable("a finite number")
    return number


def _to_bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            return parse_bool(value)
        except ValueError:
            pass
    raise _Unusable("true or false (1/0, yes/no, on/off)")


def _to_str(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)  # a number written in lumiku.toml where text is expected
    raise _Unusable("text")


def _to_path(value: object) -> Path:
    if isinstance(value, str) and value:
        return Path(value)
    raise _Unusable("a file or folder path")


_CONVERTERS: dict[Any, Any] = {
    int: _to_int,
    float: _to_float,
    bool: _to_bool,
    str: _to_str,
    Path: _to_path,
}


def _convert(value: object, kind: Any) -> Any:
    """Return ``value`` as ``kind``; raise ``_Unusable`` saying what was expected."""
    if kind is None or kind is Any or kind is object:
        return value
    options = typing.get_args(kind)
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        if (value is None or value == "") and type(None) in options:
            return None  # an empty variable unsets an optional setting
        expected = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _convert(value, option)
            except _Unusable as exc:
                expected.append(exc.expected)
        raise _Unusable(" or ".join(expected))
    if isinstance(kind, str):
        kind = _by_name(kind)
        if kind is None:
            return value
    converter = _CONVERTERS.get(kind)
    if converter is not None:
        return converter(value)
    if isinstance(kind, type) and isinstance(value, kind):
        return value
    try:  # other types (lists from lumiku.toml, attrs classes): cattrs' own rules
        return cattrs.Converter().structure(value, kind)
    except Exception:  # noqa: BLE001 - any refusal is told in words below
        raise _Unusable(_words_for(kind)) from None


def _words_for(kind: Any) -> str:
    """Return what a value of ``kind`` is, in words ("a list of values")."""
    origin = typing.get_origin(kind) or kind
    if origin in (list, tuple, set, frozenset):
        return "a list of values"
    if origin in (dict, Mapping):
        return "a table of values"
    return f"a {getattr(kind, '__name__', str(kind))}"


def _by_name(annotation: str) -> Any:
    """Return the type an unresolved annotation names (``"int | None"``), or ``None``."""
    names = [part.strip() for part in annotation.split("|")]
    kinds = [
        {
            "int": int,
            "float": float,
            "bool": bool,
            "str": str,
            "Path": Path,
            "None": type(None),
        }.get(name)
        for name in names
    ]
    if any(kind is None for kind in kinds):
        return None
    result: Any = kinds[0]
    for kind in kinds[1:]:
        result = result | kind
    return result


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _table(
    settings: Settings, section: str, plugin_id: str
) -> tuple[Mapping[str, Any], Problem | None]:
    """Return ``[section.<plugin_id>]`` of ``lumiku.toml`` ({} when absent), or a problem."""
    outer = settings.file_config.get(section, {})
    table = outer.get(plugin_id, {}) if isinstance(outer, Mapping) else {}
    if isinstance(table, Mapping):
        return table, None
    where = f"lumiku.toml [{section}.{plugin_id}]"
    return {}, {"variable": where, "rule": f"must be a table of values, got {_shown(table)}"}


def _resolved(cls: type[Any]) -> Any:
    """Return ``cls`` with its string annotations turned into types, when they resolve."""
    try:
        return attrs.resolve_types(cast(Any, cls))
    except (NameError, TypeError):
        return cls  # names only the class's scope knew: see ``_by_name``


def read_plugin_settings(settings: Settings, plugin_id: str, cls: type[T]) -> T:
    """Build a plugin's settings class from ``[plugins.<id>]`` and environment variables.

    Each field is read from ``<PLUGIN_ID>_<FIELD>``, or from the variable its
    ``lumiku.setting(env=...)`` names; environment variables win over the file. Fields of
    type ``int``, ``float``, ``bool``, ``str`` and ``Path`` (or ``X | None``) are converted
    here; others are passed as they are. Then, when the class defines
    ``problems(*, production: bool)``, the values are checked by it: it returns
    ``(variable, rule)`` pairs for every rule broken. Raises ``ConfigurationError`` whose
    ``details["problems"]`` lists ``{"variable", "rule"}`` for every problem found.
    """
    prefix = plugin_id.upper() + "_"
    table, shape = _table(settings, "plugins", plugin_id)
    problems: list[Problem] = [shape] if shape else []
    values: dict[str, Any] = {}
    missing_required = False
    fields = attrs.fields(_resolved(cls))
    for field in fields:
        variable = variable_of(field, prefix)
        where = variable
        if variable in settings.environ:
            raw: object = settings.environ[variable]
        elif field.name in table:
            raw, where = table[field.name], f"lumiku.toml [plugins.{plugin_id}] {field.name}"
        else:
            if field.default is attrs.NOTHING:
                problems.append({"variable": variable, "rule": "is required (not set)"})
                missing_required = True
            continue
        try:
            value = _convert(raw, field.type)
            if field.validator is not None:
                field.validator(None, field, value)
        except _Unusable as exc:
            got = (
                " (the value is secret: not shown)" if is_secret(field) else f", got {_shown(raw)}"
            )
            problems.append({"variable": where, "rule": f"expected {exc.expected}{got}"})
            continue
        except (TypeError, ValueError) as exc:  # a field validator's refusal
            rule = "is refused by its check (the value is secret: not shown)"
            problems.append({"variable": where, "rule": rule if is_secret(field) else str(exc)})
            continue
        values[field.name] = value
    if missing_required:
        raise _settings_error(problems)  # the class cannot be built to check the rest
    try:
        instance = cls(**values)
    except (TypeError, ValueError) as exc:
        raise _settings_error([*problems, {"variable": prefix + "*", "rule": str(exc)}]) from None
    check = getattr(instance, "problems", None)
    if callable(check):
        # The class's own rules run on the values that converted (defaults for the others),
        # so every problem is reported in one go; a variable already reported is not repeated.
        reported = {problem["variable"] for problem in problems}
        for variable, rule in check(production=settings.is_production):
            if str(variable) not in reported:
                problems.append({"variable": str(variable), "rule": str(rule)})
    if problems:
        raise _settings_error(problems)
    return instance


def _settings_error(problems: list[Problem]) -> ConfigurationError:
    lines = "; ".join(f"{p['variable']}: {p['rule']}" for p in problems)
    return ConfigurationError(lines, details={"problems": problems})


def credit_variable(plugin_id: str, action: str) -> str:
    """Return the variable overriding ``action``'s cost: ``<ID>_CREDITS_<ACTION_SNAKE>``."""
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", action).upper()
    return f"{plugin_id.upper()}_CREDITS_{snake}"


def credit_overrides(
    settings: Settings, plugin_id: str, actions: Mapping[str, int]
) -> dict[str, int]:
    """Return ``actions`` with the deployer's overrides.

    Overrides come from ``<ID>_CREDITS_<ACTION>`` variables and ``[credits.<id>]`` tables.
    Raises ``ConfigurationError`` naming every override that is not a whole number of
    credits from 0 to the ledger's maximum for one operation (``MAX_AMOUNT``).
    """
    table, shape = _table(settings, "credits", plugin_id)
    problems: list[Problem] = [shape] if shape else []
    result = dict(actions)
    for action in actions:
        variable = credit_variable(plugin_id, action)
        if variable in settings.environ:
            raw: object = settings.environ[variable]
            where = variable
        elif action in table:
            raw, where = table[action], f"lumiku.toml [credits.{plugin_id}] {action}"
        else:
            continue
        try:
            cost = _to_int(raw)
        except _Unusable:
            problems.append(
                {
                    "variable": where,
                    "rule": f"expected a whole number of credits, got {_shown(raw)}",
                }
            )
            continue
        if cost < 0:
            problems.append({"variable": where, "rule": f"must be 0 or more credits, got {cost}"})
            continue
        if cost > MAX_AMOUNT:
            problems.append(
                {
                    "variable": where,
                    "rule": f"must be at most {MAX_AMOUNT} credits (one charge), got {cost}",
                }
            )
            continue
        result[action] = cost
    if problems:
        raise _settings_error(problems)
    return result
