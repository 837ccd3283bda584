"""Generate the OpenAPI 3.1 document from the declared endpoints (and list every other route).

Names are camelCase as on the wire, path parameters included (``{projectId}``, though the
handler reads ``call.path["project_id"]``). Every status a route can answer is declared
(``lumiku.http.answers``), with its headers. Operation ids are the handler's name in
camelCase (``list_projects`` -> ``listProjects``), prefixed by the plugin's id for plugin
routes (``avatarCreatorListProjects``), or the declared ``name``; a clash raises.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

import attrs
from starlette.routing import BaseRoute, Mount, Route

from lumiku.http.answers import (
    error_response_components,
    error_response_ref,
    error_schemas,
    error_statuses,
    success_headers,
)
from lumiku.http.endpoint import Endpoint
from lumiku.http.fields import file_limits
from lumiku.http.naming import to_camel
from lumiku.http.routing import PathRoute, joined_path, walk_routes
from lumiku.http.schemas import SchemaBuilder

__all__ = ["SchemaBuilder", "build_openapi", "walk_routes"]

_PATH_PARAM = re.compile(r"{([a-zA-Z_][a-zA-Z0-9_]*)(:[a-z]+)?}")
_CONVERTOR_SCHEMAS: dict[str, dict[str, Any]] = {
    ":int": {"type": "integer", "format": "int64", "minimum": 0},
    ":float": {"type": "number", "minimum": 0},
    ":uuid": {"type": "string", "format": "uuid"},
}


def _walk(
    routes: Sequence[BaseRoute], prefix: str = "", plugin: str | None = None
) -> Iterator[tuple[str, Route, str | None]]:
    """Yield ``(full path, route, plugin id of its mount)``."""
    for item in routes:
        if isinstance(item, Mount):
            yield from _walk(item.routes, prefix + item.path, item.name or plugin)
        elif isinstance(item, PathRoute):
            for member in item.routes:
                yield joined_path(prefix, member.path), member, plugin
        elif isinstance(item, Route):
            yield joined_path(prefix, item.path), item, plugin


def openapi_path(path: str) -> str:
    """Return a route path as OpenAPI writes it: ``/a/{project_id:int}`` -> ``/a/{projectId}``."""
    return _PATH_PARAM.sub(lambda m: "{" + to_camel(m.group(1)) + "}", path)


def _path_parameters(path: str) -> list[dict[str, Any]]:
    return [
        {
            "name": to_camel(name),
            "in": "path",
            "required": True,
            "schema": {**_CONVERTOR_SCHEMAS.get(convertor, {"type": "string"})},
        }
        for name, convertor in _PATH_PARAM.findall(path)
    ]


def _operation_id(
    name: str | None, handler: Any, method: str, path: str, plugin: str | None
) -> str:
    if name:
        return name
    handler_name = getattr(handler, "__name__", "")
    if not handler_name.isidentifier() or handler_name.startswith("<"):
        return f"{method.lower()}_{re.sub(r'[^a-zA-Z0-9]+', '_', path).strip('_')}"
    operation = to_camel(handler_name.strip("_"))
    if plugin is None:
        return operation
    return to_camel(plugin) + operation[:1].upper() + operation[1:]


def _query_parameters(builder: SchemaBuilder, query: type) -> list[dict[str, Any]]:
    attrs.resolve_types(query)
    return [
        {
            "name": to_camel(attribute.name),
            "in": "query",
            "required": attribute.default is attrs.NOTHING,
            "schema": builder.property_schema(attribute, text=True),
        }
        for attribute in attrs.fields(query)
        if attribute.init
    ]


def _form_body(builder: SchemaBuilder, spec: Endpoint) -> dict[str, Any]:
    if spec.form_layout is None:  # deprecated raw form: its fields are not declared
        return {media: {"schema": {"type": "object"}} for media in spec.media_types}
    schema = builder.form_component(spec.form_layout.cls, open=spec.extra_fields == "ignore")
    encoding: dict[str, Any] = {}
    for attribute in attrs.fields(spec.form_layout.cls):
        wire = to_camel(attribute.name)
        known = spec.form_layout.fields.get(wire)
        if known is not None and known.is_file and file_limits(attribute).media_types:
            encoding[wire] = {"contentType": ", ".join(file_limits(attribute).media_types)}
    content: dict[str, Any] = {}
    for media in spec.media_types:
        content[media] = {"schema": schema}
        if encoding and media == "multipart/form-data":
            content[media]["encoding"] = encoding
    return content


def _operation(
    builder: SchemaBuilder, spec: Endpoint, path: str, plugin: str | None
) -> dict[str, Any]:
    params = _path_parameters(path)
    if spec.query is not None:
        params.extend(_query_parameters(builder, spec.query))
    if spec.idempotent:
        params.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "schema": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 255,
                    "pattern": "^[!-~]+$",
                },
                "description": "A retry with the same key and body returns the first response; "
                "the key with another body is 422, while the first request runs 409.",
            }
        )
    operation: dict[str, Any] = {
        "operationId": _operation_id(spec.name, spec.handler, spec.method, path, plugin),
        "summary": spec.summary or (spec.handler.__doc__ or "").strip().split("\n")[0],
        "parameters": params,
    }
    tags = spec.tags or ((spec.plugin_id or plugin,) if (spec.plugin_id or plugin) else ())
    if tags:
        operation["tags"] = list(tags)
    if spec.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": builder.schema(spec.body)}},
        }
    elif spec.form is not None:
        operation["requestBody"] = {"required": True, "content": _form_body(builder, spec)}
    ok: dict[str, Any] = {"description": "Success" if spec.status != 202 else "Accepted"}
    if spec.response is not None and spec.status != 204:
        ok["content"] = {"application/json": {"schema": builder.schema(spec.response)}}
    headers = success_headers(spec)
    if headers:
        ok["headers"] = headers
    responses: dict[str, Any] = {str(spec.status): ok}
    if spec.status == 200 and spec.response is None:
        responses["204"] = {"description": "Success, nothing to return"}  # a handler's None
    for status in error_statuses(spec, has_path_params=bool(_PATH_PARAM.search(path))):
        responses[str(status)] = error_response_ref(status)
    operation["responses"] = responses
    if spec.auth:
        operation["security"] = [{"bearer": []}]
    return operation


def _raw_operation(route: Route, method: str, path: str, plugin: str | None) -> dict[str, Any]:
    doc = (getattr(route.endpoint, "__doc__", None) or "").strip().split("\n")[0]
    operation: dict[str, Any] = {
        "operationId": _operation_id(None, route.endpoint, method, path, plugin),
        "summary": doc,
        "parameters": _path_parameters(path),
        "responses": {
            # A raw route may declare its own (``route.openapi_responses``, as health does).
            **getattr(route, "openapi_responses", {"200": {"description": "Success"}}),
            "default": {"$ref": "#/components/responses/Error"},
        },
    }
    if plugin:
        operation["tags"] = [plugin]
    return operation


def build_openapi(routes: Sequence[BaseRoute], *, title: str, version: str) -> dict[str, Any]:
    """Return the OpenAPI 3.1 document for ``routes``.

    Raises ``ValueError`` when two operations get one operation id (give one a ``name=``).
    """
    builder = SchemaBuilder()
    paths: dict[str, dict[str, Any]] = {}
    owners: dict[str, str] = {}
    for full_path, item, plugin in _walk(routes):
        entry = paths.setdefault(openapi_path(full_path), {})
        spec: Endpoint | None = getattr(item, "endpoint_spec", None)
        if spec is not None:
            operations = {spec.method: _operation(builder, spec, full_path, plugin)}
        else:
            operations = {
                method: _raw_operation(item, method, full_path, plugin)
                for method in sorted((item.methods or {"GET"}) - {"HEAD"})
            }
        for method, operation in operations.items():
            where = f"{method} {full_path}"
            clash = owners.setdefault(operation["operationId"], where)
            if clash != where:
                raise ValueError(
                    f"operationId {operation['operationId']!r} is used by {clash} and {where}; "
                    "rename a handler or pass name= to one of them"
                )
            entry.setdefault(method.lower(), operation)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": {**error_schemas(), **builder.components},
            "responses": error_response_components(),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }
