"""JSON Schema of Python types and attrs classes, as the wire converters read and write them.

Objects are closed (``additionalProperties: false``, as the converters refuse unknown keys)
and carry every rule ``field`` declared. Integers are ``format: int64`` (the converters
refuse larger ones).
"""

from __future__ import annotations

import datetime as dt
import enum
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from lumiku.http.fields import schema_rules
from lumiku.http.files import UploadedFile
from lumiku.http.naming import to_camel


def strip_optional(tp: Any) -> tuple[Any, bool]:
    """Return ``(X, True)`` for ``X | None``, else ``(tp, False)``."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        rest = [arg for arg in args if arg is not type(None)]
        if len(rest) < len(args):
            return (rest[0] if len(rest) == 1 else typing.Union[tuple(rest)]), True  # noqa: UP007 - built at run time
    return tp, False


class SchemaBuilder:
    """Turn Python types and attrs classes into JSON Schema, collecting components."""

    def __init__(self) -> None:
        self.components: dict[str, Any] = {}
        self._names: dict[type, str] = {}

    def schema(self, tp: Any) -> dict[str, Any]:
        """Return the JSON Schema of ``tp`` as JSON carries it."""
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if tp is Any or tp is object:
            return {}
        if tp is type(None):
            return {"type": "null"}
        if origin in (typing.Union, types.UnionType):
            return {"anyOf": [self.schema(arg) for arg in args]}
        if origin is typing.Literal:
            return {"enum": list(args)}
        if origin in (list, tuple, Sequence, set, frozenset) or tp in (list, tuple):
            item = args[0] if args else Any
            return {"type": "array", "items": self.schema(item)}
        if origin in (dict, Mapping) or tp is dict:
            value = args[1] if len(args) == 2 else Any
            return {"type": "object", "additionalProperties": self.schema(value)}
        if tp is UploadedFile:
            return {"type": "string", "format": "binary"}
        if attrs.has(tp):
            return self._component(tp)
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            return {"enum": [member.value for member in tp]}
        return self._scalar(tp)

    def text_schema(self, tp: Any) -> dict[str, Any]:
        """Return the schema of a query or form field: text has no ``null`` (leave it out)."""
        return self.schema(strip_optional(tp)[0])

    def _scalar(self, tp: Any) -> dict[str, Any]:
        if tp is bool:
            return {"type": "boolean"}
        if tp is int:
            return {"type": "integer", "format": "int64"}
        if tp is float:
            return {"type": "number"}
        if tp is str:
            return {"type": "string"}
        if tp is bytes:
            return {"type": "string", "format": "binary"}
        if tp is dt.datetime:
            return {"type": "string", "format": "date-time"}
        if tp is dt.date:
            return {"type": "string", "format": "date"}
        return {}

    def _name(self, cls: type) -> str:
        """Return the component name: the class name, qualified when two classes share it."""
        name = self._names.get(cls)
        if name is None:
            name = cls.__name__
            if name in self._names.values():
                name = f"{cls.__module__}.{cls.__qualname__}".replace(".", "_")
            self._names[cls] = name
        return name

    def property_schema(
        self, attribute: attrs.Attribute[Any], *, text: bool = False
    ) -> dict[str, Any]:
        """Return the schema of one field: its type and its ``field`` rules.

        ``text=True`` gives the form of a query parameter or form field (no ``null``).
        """
        tp = attribute.type if attribute.type is not None else Any
        schema = dict(self.text_schema(tp) if text else self.schema(tp))
        rules = schema_rules(attribute)
        if "enum" in rules and not text and strip_optional(tp)[1]:
            rules["enum"] = [*rules["enum"], None]  # the server accepts null for X | None
        schema.update(rules)
        return schema

    def object_schema(self, cls: type, *, text: bool = False) -> dict[str, Any]:
        """Return the closed object schema of the attrs class ``cls`` (camelCase names)."""
        attrs.resolve_types(cls)
        properties: dict[str, Any] = {}
        required: list[str] = []
        for attribute in attrs.fields(cls):
            if not attribute.init:
                continue
            wire = to_camel(attribute.name)
            properties[wire] = self.property_schema(attribute, text=text)
            if attribute.default is attrs.NOTHING:
                required.append(wire)
        schema: dict[str, Any] = {
            "type": "object",
            "properties": properties,
            "additionalProperties": False,
        }
        if required:
            schema["required"] = required
        if cls.__doc__:
            schema["description"] = cls.__doc__.strip().splitlines()[0]
        return schema

    def _component(self, cls: type) -> dict[str, Any]:
        known = cls in self._names
        name = self._name(cls)
        ref = {"$ref": f"#/components/schemas/{name}"}
        if not known:
            self.components[name] = {}  # placeholder: recursive types end here
            self.components[name] = self.object_schema(cls)
        return ref

    def form_component(self, cls: type, *, open: bool = False) -> dict[str, Any]:
        """Return a reference to the schema of the form class ``cls`` (text fields, no null).

        ``open`` declares that fields the class does not name are accepted (and ignored).
        """
        known = cls in self._names
        name = self._name(cls)
        if not known:
            self.components[name] = self.object_schema(cls, text=True)
            if open:
                self.components[name]["additionalProperties"] = True
        return {"$ref": f"#/components/schemas/{name}"}
