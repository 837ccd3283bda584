"""The wire converters: attrs classes <-> camelCase JSON, and text (query strings, forms).

Built once per app by ``make_json_converter`` and ``make_query_converter``; never the global
cattrs converter. JSON scalars are strict: ``"5"`` is not an int, ``5.7`` is not an int,
``1`` is not a bool, ``"abc"`` is not a list, so a client learns about a wrong type from a
422 instead of having its data silently changed. Query strings and form fields are text:
their integers, numbers and booleans are parsed (see ``make_query_converter``).

Every attrs class is structured by ``lumiku.http.structuring``, which reports every failing
field and rule at once.
"""

from __future__ import annotations

import collections.abc
import datetime as dt
import math
import re
import typing
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import cattrs
from cattrs.gen import make_dict_unstructure_fn, make_mapping_structure_fn, override

from lumiku import errors
from lumiku.http.files import UploadedFile
from lumiku.http.json_keys import DuplicateKey, loads_unique
from lumiku.http.naming import to_camel
from lumiku.http.structuring import make_class_structure, structure_items, wire_type
from lumiku.integers import INT64, parse_whole

__all__ = ["Repeated", "make_json_converter", "make_query_converter", "to_camel", "wire_type"]

_SEQUENCES = (
    list,
    tuple,
    set,
    frozenset,
    collections.abc.Sequence,
    collections.abc.MutableSequence,
    collections.abc.Set,
)


class Repeated(tuple[Any, ...]):
    """The values of a text field sent several times (``?tag=a&tag=b``, repeated parts)."""

    __slots__ = ()


# -- JSON scalars ------------------------------------------------------------------------


def _strict_int(value: Any, _: type) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer, got {wire_type(value)}")
    if not INT64[0] <= value <= INT64[1]:
        raise ValueError("must be a 64-bit integer")
    return value


def _strict_float(value: Any, _: type) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number, got {wire_type(value)}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError("must be a finite number")
    return number


def _strict_str(value: Any, _: type) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {wire_type(value)}")
    if "\x00" in value:
        # PostgreSQL refuses NUL in text; refuse it here so both databases behave alike.
        raise ValueError("must not contain NUL characters")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate such as "\ud800" from a JSON escape
            raise errors.BadRequest(
                "A string in the request cannot be encoded as UTF-8 (it holds a lone "
                "surrogate escape such as \\ud800); send valid Unicode text.",
                code="INVALID_TEXT",
            ) from None
    return value


def _strict_bool(value: Any, _: type) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected true or false, got {wire_type(value)}")
    return value


def _datetime(value: Any, _: type) -> dt.datetime:
    if not isinstance(value, str):
        raise TypeError(f"expected an ISO 8601 date-time string, got {wire_type(value)}")
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("expected an ISO 8601 date-time such as 2024-05-01T12:00:00Z") from None


def _format_datetime(value: dt.datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.isoformat().replace("+00:00", "Z")


def _no_file(value: Any, _: type) -> UploadedFile:
    raise TypeError(f"files are sent in multipart forms; got {wire_type(value)}")


def _unstructure_file(value: UploadedFile) -> dict[str, Any]:
    return {"filename": value.filename, "contentType": value.content_type, "size": value.size}


def _is_sequence(tp: Any) -> bool:
    origin = typing.get_origin(tp) or tp
    if origin is tuple:
        args = typing.get_args(tp)
        return not args or (len(args) == 2 and args[1] is Ellipsis)
    return origin in _SEQUENCES


def _is_mapping(tp: Any) -> bool:
    return (typing.get_origin(tp) or tp) in (dict, Mapping, collections.abc.MutableMapping)


def _container(tp: Any) -> Callable[[list[Any]], Any]:
    origin = typing.get_origin(tp) or tp
    if origin in (set, collections.abc.Set):
        return set
    if origin is frozenset:
        return frozenset
    if origin in (tuple, collections.abc.Sequence):
        return tuple
    return list


def _item_type(tp: Any) -> Any:
    args = typing.get_args(tp)
    return args[0] if args else Any


def _json_sequence(converter: cattrs.Converter) -> Callable[[Any], Any]:
    def factory(tp: Any) -> Any:
        item, build = _item_type(tp), _container(tp)

        def structure(value: Any, _: type) -> Any:
            if not isinstance(value, list | tuple):
                raise TypeError(f"expected an array, got {wire_type(value)}")
            return build(structure_items(converter, value, item, tp))

        return structure

    return factory


def _json_mapping(converter: cattrs.Converter) -> Callable[[Any], Any]:
    def factory(tp: Any) -> Any:
        inner = make_mapping_structure_fn(tp, converter)

        def structure(value: Any, _: type) -> Any:
            if not isinstance(value, Mapping):
                raise TypeError(f"expected an object, got {wire_type(value)}")
            return inner(value, tp)

        return structure

    return factory


def make_json_converter() -> cattrs.Converter:
    """Build the converter for JSON request and response bodies."""
    converter = cattrs.Converter(forbid_extra_keys=True)
    converter.register_structure_hook(int, _strict_int)
    converter.register_structure_hook(float, _strict_float)
    converter.register_structure_hook(str, _strict_str)
    converter.register_structure_hook(bool, _strict_bool)
    converter.register_structure_hook(dt.datetime, _datetime)
    converter.register_structure_hook(UploadedFile, _no_file)
    converter.register_unstructure_hook(dt.datetime, _format_datetime)
    converter.register_unstructure_hook(UploadedFile, _unstructure_file)
    converter.register_structure_hook_factory(_is_sequence, _json_sequence(converter))
    converter.register_structure_hook_factory(_is_mapping, _json_mapping(converter))

    def unstructure_factory(cls: type) -> Any:
        renames: dict[str, Any] = {
            a.name: override(rename=to_camel(a.name)) for a in attrs.fields(cls)
        }
        return make_dict_unstructure_fn(cls, converter, **renames)

    converter.register_structure_hook_factory(
        attrs.has, lambda cls: make_class_structure(converter, cls)
    )
    converter.register_unstructure_hook_factory(attrs.has, unstructure_factory)
    return converter


# -- text: query strings and form fields -------------------------------------------------


def _single(parse: Callable[[Any], Any]) -> Callable[[Any, type], Any]:
    """Wrap a text parser: refuse a field sent several times, or a file where text belongs."""

    def structure(value: Any, _: type) -> Any:
        if isinstance(value, Repeated):
            raise ValueError(f"must be sent once, not {len(value)} times")
        if isinstance(value, UploadedFile):
            raise TypeError("must be a text field, not a file")
        return parse(value)

    return structure


def _text_int(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return _strict_int(value, int)
    text = str(value).strip()
    try:
        return parse_whole(text, *INT64)
    except ValueError:  # the converter's own wording: the type, then the range
        if re.fullmatch(r"-?[0-9]+", text):
            raise ValueError("must be a 64-bit integer") from None
        raise ValueError(f"expected an integer, got {text[:40]!r}") from None


def _text_float(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _strict_float(value, float)
    text = str(value).strip()
    if not re.fullmatch(r"-?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]{1,3})?", text):
        raise ValueError(f"expected a number, got {text[:40]!r}")
    return _strict_float(float(text), float)


def _text_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes"}:
        return True
    if text in {"0", "false", "no"}:
        return False
    raise ValueError(f"expected true or false, got {text[:40]!r}")


def _text_file(value: Any, _: type) -> UploadedFile:
    if isinstance(value, Repeated):
        raise ValueError(f"must be sent once, not {len(value)} times")
    if not isinstance(value, UploadedFile):
        raise TypeError("must be a file part (with a filename), not a text field")
    return value


def split_text_list(value: Any) -> list[Any]:
    """Return the items of a text list field.

    Repeated fields are the items as sent; one value starting with ``[`` is a JSON array;
    any other single value is a comma-separated list (items stripped, empty ones dropped).
    Raises ``ValueError`` for a malformed JSON array and ``TypeError`` for a file.
    """
    if isinstance(value, Repeated | list):
        return list(value)
    if isinstance(value, UploadedFile):
        raise TypeError("must be a text field, not a file")
    if not isinstance(value, str):
        raise TypeError(f"expected a list, got {wire_type(value)}")
    text = value.strip()
    if text.startswith("["):
        try:
            parsed = loads_unique(text)
        except DuplicateKey as exc:
            raise ValueError(f"must not send the key {exc.key!r} twice in one object") from None
        except (ValueError, RecursionError):
            raise ValueError("must be a JSON array or a comma-separated list") from None
        if not isinstance(parsed, list):
            raise ValueError("must be a JSON array or a comma-separated list")
        return parsed
    return [item for item in (part.strip() for part in text.split(",")) if item]


def _text_sequence(converter: cattrs.Converter) -> Callable[[Any], Any]:
    def factory(tp: Any) -> Any:
        item, build = _item_type(tp), _container(tp)

        def structure(value: Any, _: type) -> Any:
            if item is UploadedFile and isinstance(value, UploadedFile):
                return build([value])
            return build(structure_items(converter, split_text_list(value), item, tp))

        return structure

    return factory


def make_query_converter() -> cattrs.Converter:
    """Build the converter for text: query strings and form fields.

    Integers, numbers and booleans (``1/0/true/false/yes/no``) are parsed from text; a field
    sent twice is refused unless it is a list, which takes repeated fields, one JSON array
    or one comma-separated value; ``UploadedFile`` fields take file parts only.
    """
    converter = make_json_converter()
    converter.register_structure_hook(str, _single(lambda value: _strict_str(value, str)))
    converter.register_structure_hook(int, _single(_text_int))
    converter.register_structure_hook(float, _single(_text_float))
    converter.register_structure_hook(bool, _single(_text_bool))
    converter.register_structure_hook(dt.datetime, _single(lambda value: _datetime(value, str)))
    converter.register_structure_hook(UploadedFile, _text_file)
    converter.register_structure_hook_factory(_is_sequence, _text_sequence(converter))
    converter.register_structure_hook_factory(
        attrs.has, lambda cls: make_class_structure(converter, cls)
    )
    return converter
