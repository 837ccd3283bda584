"""Generate the OpenAPI 3.1 document from the declared endpoints (and list every other route)."""

from __future__ import annotations

import datetime as dt
import enum
import re
import types
import typing
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import attrs
from starlette.routing import BaseRoute, Mount, Route

from lumiku.http.converter import to_camel
from lumiku.http.endpoint import Endpoint
from lumiku.http.fields import schema_rules

_PATH_PARAM = re.compile(r"{([a-zA-Z_][a-zA-Z0-9_]*)(:[a-z]+)?}")
_ERROR_REF = {"$ref": "#/components/responses/Error"}


class SchemaBuilder:
    """Turn Python types and attrs classes into JSON Schema, collecting components."""

    def __init__(self) -> None:
        self.components: dict[str, Any] = {}
        self._names: dict[type, str] = {}

    def schema(self, tp: Any) -> dict[str, Any]:
        """Return the JSON Schema of ``tp``."""
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
        if attrs.has(tp):
            return self._component(tp)
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            return {"enum": [member.value for member in tp]}
        return self._scalar(tp)

    def _scalar(self, tp: Any) -> dict[str, Any]:
        if tp is bool:
            return {"type": "boolean"}
        if tp is int:
            return {"type": "integer"}
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

    def _component(self, cls: type) -> dict[str, Any]:
        known = cls in self._names
        name = self._name(cls)
        ref = {"$ref": f"#/components/schemas/{name}"}
        if known:
            return ref
        self.components[name] = {}  # placeholder: recursive types end here
        hints = typing.get_type_hints(cls)
        properties: dict[str, Any] = {}
        required: list[str] = []
        for attribute in attrs.fields(cls):
            wire = to_camel(attribute.name)
            prop = dict(self.schema(hints.get(attribute.name, Any)))
            prop.update(schema_rules(attribute))
            properties[wire] = prop
            if attribute.default is attrs.NOTHING:
                required.append(wire)
        schema: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            schema["required"] = required
        if cls.__doc__:
            schema["description"] = cls.__doc__.strip().splitlines()[0]
        self.components[name] = schema
        return ref


def walk_routes(routes: Sequence[BaseRoute], prefix: str = "") -> Iterator[tuple[str, BaseRoute]]:
    """Yield ``(full path, route)`` for every route, entering mounts."""
    for item in routes:
        if isinstance(item, Mount):
            yield from walk_routes(item.routes, prefix + item.path)
        elif isinstance(item, Route):
            yield prefix + item.path, item


def _operation(builder: SchemaBuilder, spec: Endpoint, path: str) -> dict[str, Any]:
    params = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "integer"} if conv == ":int" else {"type": "string"},
        }
        for name, conv in _PATH_PARAM.findall(path)
    ]
    if spec.query is not None:
        hints = typing.get_type_hints(spec.query)
        for attribute in attrs.fields(spec.query):
            schema = builder.schema(hints.get(attribute.name, str))
            schema.update(schema_rules(attribute))
            params.append(
                {
                    "name": to_camel(attribute.name),
                    "in": "query",
                    "required": attribute.default is attrs.NOTHING,
                    "schema": schema,
                }
            )
    if spec.idempotent:
        params.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "schema": {"type": "string", "maxLength": 255},
                "description": "A retry with the same key and body returns the first response.",
            }
        )
    operation: dict[str, Any] = {
        "operationId": spec.name or _operation_id(spec.method, path),
        "summary": spec.summary or (spec.handler.__doc__ or "").strip().split("\n")[0],
        "parameters": params,
    }
    if spec.tags:
        operation["tags"] = list(spec.tags)
    if spec.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": builder.schema(spec.body)}},
        }
    elif spec.form:
        operation["requestBody"] = {
            "required": True,
            "content": {"multipart/form-data": {"schema": {"type": "object"}}},
        }
    ok: dict[str, Any] = {"description": "Success"}
    if spec.response is not None:
        ok["content"] = {"application/json": {"schema": builder.schema(spec.response)}}
    responses: dict[str, Any] = {str(spec.status): ok}
    if spec.body is not None or spec.form:
        responses["400"] = _ERROR_REF
        responses["413"] = _ERROR_REF
    if spec.body is not None or spec.query is not None or spec.form:
        responses["422"] = _ERROR_REF
    if spec.auth:
        responses["401"] = _ERROR_REF
        operation["security"] = [{"bearer": []}]
        if spec.auth == "admin":
            responses["403"] = _ERROR_REF
    if spec.rate_limits:
        responses["429"] = _ERROR_REF
    responses["500"] = _ERROR_REF
    operation["responses"] = responses
    return operation


def _operation_id(method: str, path: str) -> str:
    return f"{method.lower()}_{re.sub(r'[^a-zA-Z0-9]+', '_', path).strip('_')}"


def build_openapi(routes: Sequence[BaseRoute], *, title: str, version: str) -> dict[str, Any]:
    """Return the OpenAPI 3.1 document for ``routes``."""
    builder = SchemaBuilder()
    error_schema = {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "details"],
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "details": {"type": "object"},
                },
            }
        },
    }
    paths: dict[str, dict[str, Any]] = {}
    for full_path, item in walk_routes(routes):
        assert isinstance(item, Route)
        openapi_path = _PATH_PARAM.sub(lambda m: "{" + m.group(1) + "}", full_path)
        entry = paths.setdefault(openapi_path, {})
        spec: Endpoint | None = getattr(item, "endpoint_spec", None)
        if spec is not None:
            entry[spec.method.lower()] = _operation(builder, spec, full_path)
            continue
        for method in sorted((item.methods or {"GET"}) - {"HEAD"}):
            doc = (getattr(item.endpoint, "__doc__", None) or "").strip().split("\n")[0]
            entry[method.lower()] = {
                "operationId": _operation_id(method, full_path),
                "summary": doc,
                "parameters": [
                    {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                    for name, _ in _PATH_PARAM.findall(full_path)
                ],
                "responses": {"200": {"description": "Success"}, "default": _ERROR_REF},
            }
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": {"ErrorBody": error_schema, **builder.components},
            "responses": {
                "Error": {
                    "description": "An error in the common shape",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}
                    },
                }
            },
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }
