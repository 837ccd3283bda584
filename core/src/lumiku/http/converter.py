"""The JSON wire converter: attrs classes <-> camelCase JSON, with strict scalar types.

Built once per app by ``make_json_converter``; never the global cattrs converter. Scalars
are strict: ``"5"`` is not an int, ``5.7`` is not an int, ``1`` is not a bool, so a client
learns about a wrong type from a 422 instead of having its data silently changed.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from lumiku.http.fields import FieldRuleError

_CAMEL = re.compile(r"_([a-z0-9])")


def to_camel(name: str) -> str:
    """Return ``snake_case`` as ``camelCase`` (the wire form of field names)."""
    return _CAMEL.sub(lambda m: m.group(1).upper(), name)


def _strict_int(value: Any, _: type) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer, got {type(value).__name__}")
    return value


def _strict_float(value: Any, _: type) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number, got {type(value).__name__}")
    return float(value)


def _strict_str(value: Any, _: type) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    if "\x00" in value:
        # PostgreSQL refuses NUL in text; refuse it here so both databases behave alike.
        raise ValueError("must not contain NUL characters")
    return value


def _strict_bool(value: Any, _: type) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected true or false, got {type(value).__name__}")
    return value


def _datetime(value: Any, _: type) -> dt.datetime:
    if not isinstance(value, str):
        raise TypeError("expected an ISO 8601 date-time string")
    return dt.datetime.fromisoformat(value)


def _format_datetime(value: dt.datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.isoformat().replace("+00:00", "Z")


def make_json_converter() -> cattrs.Converter:
    """Build the converter for request and response bodies."""
    converter = cattrs.Converter(forbid_extra_keys=True)
    converter.register_structure_hook(int, _strict_int)
    converter.register_structure_hook(float, _strict_float)
    converter.register_structure_hook(str, _strict_str)
    converter.register_structure_hook(bool, _strict_bool)
    converter.register_structure_hook(dt.datetime, _datetime)
    converter.register_unstructure_hook(dt.datetime, _format_datetime)

    def structure_factory(cls: type) -> Any:
        renames: dict[str, Any] = {
            a.name: override(rename=to_camel(a.name)) for a in attrs.fields(cls)
        }
        return make_dict_structure_fn(cls, converter, _cattrs_forbid_extra_keys=True, **renames)

    def unstructure_factory(cls: type) -> Any:
        renames: dict[str, Any] = {
            a.name: override(rename=to_camel(a.name)) for a in attrs.fields(cls)
        }
        return make_dict_unstructure_fn(cls, converter, **renames)

    converter.register_structure_hook_factory(attrs.has, structure_factory)
    converter.register_unstructure_hook_factory(attrs.has, unstructure_factory)
    return converter


def _walk(exc: BaseException, path: str, out: dict[str, str]) -> None:
    if isinstance(exc, cattrs.ForbiddenExtraKeysError):
        for key in sorted(exc.extra_fields):
            out[f"{path}.{key}" if path else key] = "is not an accepted field"
        return
    if isinstance(exc, cattrs.ClassValidationError | cattrs.IterableValidationError):
        with_notes, without_notes = exc.group_exceptions()
        for inner, note in with_notes:
            label: Any = note
            if isinstance(label, cattrs.AttributeValidationNote):
                name = to_camel(label.name)
                child = f"{path}.{name}" if path else name
            elif isinstance(label, cattrs.IterableValidationNote):
                child = f"{path}[{label.index}]"
            else:
                child = path
            _walk(inner, child, out)
        for inner in without_notes:
            _walk(inner, path, out)
        return
    if isinstance(exc, FieldRuleError):
        name = to_camel(exc.name)
        out[f"{path}.{name}" if path else name] = str(exc)
        return
    key = path or "body"
    if isinstance(exc, KeyError):
        out[key] = "is required"
    else:
        out[key] = str(exc) or type(exc).__name__


def describe_errors(exc: BaseException) -> dict[str, str]:
    """Return ``{"field.path": "what is wrong"}`` for a cattrs structuring error."""
    out: dict[str, str] = {}
    _walk(exc, "", out)
    return out


def _query_int(value: Any, _: type) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value).strip()
    if not re.fullmatch(r"-?\d{1,18}", text):
        raise ValueError(f"expected an integer, got {text!r}")
    return int(text)


def _query_bool(value: Any, _: type) -> bool:
    text = str(value).strip().lower()
    if text in {"1", "true", "yes"}:
        return True
    if text in {"0", "false", "no"}:
        return False
    raise ValueError(f"expected true or false, got {text!r}")


def make_query_converter() -> cattrs.Converter:
    """Build the converter for query strings, where every value arrives as text."""
    converter = make_json_converter()
    converter.register_structure_hook(int, _query_int)
    converter.register_structure_hook(bool, _query_bool)
    return converter
