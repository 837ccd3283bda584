"""Generate the OpenAPI 3.1 document from the declared endpoints (and list every other route).

Names are camelCase as on the wire, path parameters included (``{projectId}``, though the
handler reads ``call.path["project_id"]``). Every status a route can answer is declared
(``lumiku.http.answers``), with its headers. Operation ids are short and derived from the
handler's name (``lumiku.http.operation_ids``: ``create_project`` in Avatar Creator is
``createAvatarProject``), or the declared ``operation_id`` (or ``name``); a clash raises.
Routes without ``auth`` say ``security: []``; plain routes (health, files) carry what
``lumiku.http.described`` attached.
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
from lumiku.http.operation_ids import derived_id, qualified_id
from lumiku.http.routing import PathRoute, joined_path, walk_routes
from lumiku.http.schemas import SchemaBuilder
from lumiku.idempotency import KEY_PATTERN, MAX_KEY_LENGTH

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


def _handler_name(handler: Any, method: str, path: str) -> str:
    name = getattr(handler, "__name__", "")
    if not name.isidentifier() or name.startswith("<"):
        return f"{method.lower()}_{re.sub(r'[^a-zA-Z0-9]+', '_', path).strip('_')}"
    return str(name)


def _query_parameters(builder: SchemaBuilder, query: type) -> list[dict[str, Any]]:
    """Return the query's parameters. An optional one sent blank (``?cursor=``) is taken as
    left out (``lumiku.http.forms.form_values``), which ``allowEmptyValue`` declares."""
    attrs.resolve_types(query)
    parameters: list[dict[str, Any]] = []
    for attribute in attrs.fields(query):
        if not attribute.init:
            continue
        required = attribute.default is attrs.NOTHING
        parameter = {
            "name": to_camel(attribute.name),
            "in": "query",
            "required": required,
            "schema": builder.property_schema(attribute, text=True),
        }
        if not required:
            parameter["allowEmptyValue"] = True
        parameters.append(parameter)
    return parameters


def _documented_media_types(spec: Endpoint) -> tuple[str, ...]:
    """Return the media types the document offers for a form: one, as client generators
    handle one (a form without files is served as either, documented as url-encoded)."""
    return spec.media_types[-1:]


def _form_body(builder: SchemaBuilder, spec: Endpoint) -> dict[str, Any]:
    if spec.form_layout is None:  # deprecated raw form: its fields are not declared
        return {media: {"schema": {"type": "object"}} for media in _documented_media_types(spec)}
    schema = builder.form_component(spec.form_layout.cls, open=spec.extra_fields == "ignore")
    encoding: dict[str, Any] = {}
    for attribute in attrs.fields(spec.form_layout.cls):
        wire = to_camel(attribute.name)
        known = spec.form_layout.fields.get(wire)
        if known is not None and known.is_file and file_limits(attribute).media_types:
            encoding[wire] = {"contentType": ", ".join(file_limits(attribute).media_types)}
    content: dict[str, Any] = {}
    for media in _documented_media_types(spec):
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
                    "maxLength": MAX_KEY_LENGTH,
                    "pattern": f"^{KEY_PATTERN}$",
                },
                "description": "A retry with the same key and body returns the first response; "
                "the key with another body is 422, while the first request runs 409.",
            }
        )
    operation: dict[str, Any] = {
        "operationId": spec.operation_id or spec.name or "",
        "summary": spec.summary or _first_line(spec.handler.__doc__),
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
    if spec.produces is not None:
        ok["content"] = {spec.produces: {"schema": {"type": "string", "format": "binary"}}}
    elif spec.response is not None and spec.status != 204:
        ok["content"] = {"application/json": {"schema": builder.schema(spec.response)}}
    headers = success_headers(spec)
    if headers:
        ok["headers"] = headers
    responses: dict[str, Any] = {str(spec.status): ok}
    if spec.status == 200 and spec.response is None and spec.produces is None:
        responses["204"] = {"description": "Success, nothing to return"}  # a handler's None
    for status in error_statuses(spec, has_path_params=bool(_PATH_PARAM.search(path))):
        responses[str(status)] = error_response_ref(status)
    operation["responses"] = responses
    if spec.auth or {401, 403} <= set(spec.errors):  # both without auth: operators only
        operation["security"] = [{"bearer": []}]
    else:
        operation["security"] = []
    return operation


def _first_line(doc: str | None) -> str:
    return (doc or "").strip().split("\n")[0]


def _raw_operation(route: Route, method: str, path: str, plugin: str | None) -> dict[str, Any]:
    """Return the operation of a plain route: derived, then what ``described`` attached."""
    described: dict[str, Any] = dict(getattr(route, "openapi_operation", None) or {})
    # A raw route may declare its bodies (``route.openapi_responses``, as health does).
    base = dict(getattr(route, "openapi_responses", None) or {"200": {"description": "Success"}})
    extra = described.pop("responses", None)
    error = {"$ref": "#/components/responses/Error"}
    operation: dict[str, Any] = {
        "operationId": described.pop("operationId", ""),
        "summary": described.pop("summary", None) or _first_line(route.endpoint.__doc__),
        "parameters": [*_path_parameters(path), *described.pop("parameters", [])],
        "responses": {**base, **extra} if extra else {**base, "default": error},
    }
    if plugin:
        operation["tags"] = [plugin]
    operation.update(described)
    return operation


def _assign_ids(found: list[tuple[str, str, dict[str, Any], str, str | None]]) -> None:
    """Give each operation without an explicit id its short id (``operation_ids``).

    ``found`` holds ``(method, path, operation, handler name, plugin id)``. Derived ids that
    operations of different plugins share take the qualified form. Raises ``ValueError`` when
    two operations still share one id.
    """
    derived = {
        id(operation): derived_id(handler, plugin)
        for _method, _path, operation, handler, plugin in found
        if not operation["operationId"]
    }
    plugins_of: dict[str, set[str | None]] = {}
    for _method, _path, operation, _handler, plugin in found:
        if id(operation) in derived:
            plugins_of.setdefault(derived[id(operation)], set()).add(plugin)
    owners: dict[str, str] = {}
    for method, path, operation, handler, plugin in found:
        if id(operation) in derived:
            short = derived[id(operation)]
            shared = len(plugins_of[short]) > 1 and plugin is not None
            operation["operationId"] = qualified_id(handler, plugin) if shared else short
        where = f"{method} {path}"
        clash = owners.setdefault(operation["operationId"], where)
        if clash != where:
            raise ValueError(
                f"operationId {operation['operationId']!r} is used by {clash} and {where}; "
                "rename a handler or pass operation_id= to one of them"
            )


def _servers(public_url: str | None) -> list[dict[str, str]]:
    if public_url:
        return [{"url": public_url.rstrip("/"), "description": "This server"}]
    return [{"url": "/", "description": "The server that serves this document"}]


def build_openapi(
    routes: Sequence[BaseRoute], *, title: str, version: str, public_url: str | None = None
) -> dict[str, Any]:
    """Return the OpenAPI 3.1 document for ``routes`` (``servers``: ``public_url``, else
    the serving host).

    Raises ``ValueError`` when two operations get one operation id (give one an
    ``operation_id=``).
    """
    builder = SchemaBuilder()
    paths: dict[str, dict[str, Any]] = {}
    found: list[tuple[str, str, dict[str, Any], str, str | None]] = []
    for full_path, item, plugin in _walk(routes):
        entry = paths.setdefault(openapi_path(full_path), {})
        spec: Endpoint | None = getattr(item, "endpoint_spec", None)
        if spec is not None:
            owner = spec.plugin_id or plugin
            operations = {spec.method: _operation(builder, spec, full_path, plugin)}
            handler = _handler_name(spec.handler, spec.method, full_path)
        else:
            owner = plugin
            operations = {
                method: _raw_operation(item, method, full_path, plugin)
                for method in sorted((item.methods or {"GET"}) - {"HEAD"})
            }
            handler = _handler_name(item.endpoint, "GET", full_path)
        for method, operation in operations.items():
            if method.lower() in entry:
                continue  # the first declaration of a method wins, as when serving
            entry[method.lower()] = operation
            found.append((method, full_path, operation, handler, owner))
    _assign_ids(found)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "servers": _servers(public_url),
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": {**error_schemas(), **builder.components},
            "responses": error_response_components(),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }
