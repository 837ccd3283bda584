"""Declared endpoints: a handler plus the attrs classes of its body, query and response.

``route(...)`` turns a declaration into a Starlette ``Route`` whose wrapper checks the media
type (415) and the declared size (413) from the headers, authenticates on the event loop
before reading any of the body (401; ``lumiku.auth.gate``), reads and checks the body (400
malformed, 413 too large, 422 for schema violations, every failing field at once), applies
rate limits and idempotency keys, runs the handler and renders the result or the error in
the common shape. A sync handler runs in the threadpool, in one hop with the idempotency
and rate-limit work; an async one runs on the loop, with a hop only for the writes of an
Idempotency-Key or a rate limit. OpenAPI is generated from the same
declarations (``lumiku.http.openapi``).
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

import attrs
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from lumiku import errors
from lumiku.http.bodies import (
    ANONYMOUS_BODY_LIMIT,
    JSON_BODY_LIMIT,
    MULTIPART_MEDIA_TYPE,
    URLENCODED_MEDIA_TYPE,
    check_declared_length,
    parse_json,
    read_body,
    require_json,
    require_media_type,
)
from lumiku.http.errors import (
    ERROR_CODES,
    client_gone_response,
    error_response,
    internal_error_response,
)
from lumiku.http.forms import FormLayout, form_fingerprint, form_values, query_parts
from lumiku.http.multipart import read_multipart, read_urlencoded
from lumiku.http.naming import to_camel
from lumiku.http.results import render
from lumiku.http.structuring import structure, validation_failed
from lumiku.http.text import check_path_text, header_text
from lumiku.idempotency import RequestKey
from lumiku.integers import INT64
from lumiku.storage.decoding import decoding_owner

if TYPE_CHECKING:
    from lumiku.http.services import EndpointServices

B = TypeVar("B")
Q = TypeVar("Q")
Role = Literal["user", "admin"]
Handler = Callable[["Call[Any, Any]"], Any]

__all__ = [
    "ANONYMOUS_BODY_LIMIT",
    "JSON_BODY_LIMIT",
    "Call",
    "Endpoint",
    "RateLimit",
]

SUCCESS_STATUSES = frozenset({200, 201, 202, 204})
METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})


@attrs.frozen
class RateLimit:
    """A limit such as ``"5/minute"`` counted per ``user`` or per ``ip`` under ``scope``."""

    limit: str
    per: Literal["user", "ip"] = "user"
    scope: str = ""


def _check_statuses(endpoint: Endpoint, _attribute: Any, value: tuple[int, ...]) -> None:
    unknown = sorted(set(value) - set(ERROR_CODES))
    if unknown:
        raise ValueError(
            f"{endpoint.method} {endpoint.path}: errors={unknown} are not statuses of the "
            f"error tree; use some of {sorted(ERROR_CODES)}"
        )


@attrs.frozen
class Endpoint:
    """The declaration of one route; the OpenAPI document is built from these.

    ``form`` is a form class (multipart fields and files, see ``lumiku.http.forms``).
    ``max_body`` is the body limit in
    bytes (default: 1 MiB for JSON; for a form, its files' limits plus 256 KiB; for an
    anonymous route without files, 16 KiB, so that no one without an account can hold a
    connection open for minutes by sending a large body slowly).
    ``errors`` lists the statuses the handler itself may answer beyond those the
    declaration implies (e.g. ``(402, 409)``), for the OpenAPI document.
    ``extra_fields="ignore"`` drops form fields the form class does not declare instead of
    refusing them (422): for a third party's webhook that may add fields. ``plugin_id`` is
    set when the route is mounted for a plugin. ``operation_id`` overrides the OpenAPI
    operation id derived from the handler's name (``lumiku.http.openapi``). ``produces``
    is the media type of a handler that answers with its own ``Response`` (a picture, a ZIP):
    the document declares the success body as binary of that type.
    """

    method: str
    path: str
    handler: Handler
    body: type | None = None
    query: type | None = None
    response: Any = None
    status: int = 200
    auth: Role | None = None
    form: type | None = None
    max_body: int | None = None
    rate_limits: tuple[RateLimit, ...] = ()
    idempotent: bool = False
    summary: str = ""
    tags: tuple[str, ...] = ()
    name: str | None = None
    operation_id: str | None = None
    produces: str | None = None
    errors: tuple[int, ...] = attrs.field(default=(), validator=_check_statuses)
    extra_fields: Literal["refuse", "ignore"] = "refuse"
    plugin_id: str | None = None
    form_layout: FormLayout | None = attrs.field(init=False, default=None, eq=False, repr=False)
    query_layout: FormLayout | None = attrs.field(init=False, default=None, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        where = f"{self.method} {self.path}"
        if self.method not in METHODS:
            raise ValueError(f"{where}: the method is one of {sorted(METHODS)}")
        if self.status not in SUCCESS_STATUSES:
            raise ValueError(f"{where}: status is one of {sorted(SUCCESS_STATUSES)}")
        if self.body is not None and self.form is not None:
            raise ValueError(f"{where}: declare either body= (JSON) or form= (multipart)")
        if self.extra_fields not in ("refuse", "ignore"):
            raise ValueError(f"{where}: extra_fields is 'refuse' or 'ignore'")
        if self.extra_fields == "ignore" and self.form is None:
            raise ValueError(f"{where}: extra_fields='ignore' is for form= routes")
        if self.form is not None:
            object.__setattr__(self, "form_layout", FormLayout.of(self.form))
        if self.query is not None:
            layout = FormLayout.of(self.query)
            if layout.has_files:
                raise TypeError(f"{where}: a query class has no UploadedFile fields")
            object.__setattr__(self, "query_layout", layout)

    @property
    def takes_body(self) -> bool:
        """Return whether the route reads a body (JSON or form)."""
        return self.body is not None or self.form is not None

    @property
    def media_types(self) -> tuple[str, ...]:
        """Return the media types the body may be sent as (``()`` without a body)."""
        if self.body is not None:
            return ("application/json",)
        if self.form_layout is not None and self.form_layout.has_files:
            return (MULTIPART_MEDIA_TYPE,)
        if self.form is not None:
            return (MULTIPART_MEDIA_TYPE, URLENCODED_MEDIA_TYPE)
        return ()

    @property
    def body_limit(self) -> int:
        """Return the size limit of the body in bytes."""
        if self.max_body is not None:
            return self.max_body
        if self.form_layout is not None and self.form_layout.has_files:
            return self.form_layout.default_body_limit()
        if self.auth is None:
            return ANONYMOUS_BODY_LIMIT
        if self.form_layout is not None:
            return self.form_layout.default_body_limit()
        return JSON_BODY_LIMIT


@attrs.frozen
class Call(Generic[B, Q]):
    """What a handler receives: the request, its checked body and query, and the user.

    ``body`` is the instance of the ``body=`` or ``form=`` class. ``raw_body`` is the JSON
    body as sent, or for a form a digest of its fields and files (what ``Idempotency-Key``
    compares).
    ``request_key`` is the request's idempotency key and attempt (``lumiku.idempotency``).
    """

    request: Request
    body: B
    query: Q
    user: Any
    raw_body: bytes = b""
    request_key: RequestKey = attrs.field(factory=lambda: RequestKey.fresh(""))

    @property
    def idempotency_key(self) -> str | None:
        """Return the client's ``Idempotency-Key`` on an ``idempotent`` route, else ``None``.

        Handlers rarely need it: the charging primitives (``ctx.charges``, held jobs) derive
        their ledger keys and ids from ``request_key``, which also knows the attempt.
        """
        return self.request_key.header

    @property
    def path(self) -> Mapping[str, Any]:
        """Return the path parameters (by their Python names, e.g. ``project_id``)."""
        return self.request.path_params

    @property
    def user_id(self) -> str:
        """Return the authenticated user's id (the route must declare ``auth``)."""
        if self.user is None:
            raise errors.Unauthorized("This route needs a signed-in user.")
        return str(self.user.id)

    @property
    def client_ip(self) -> str:
        """Return the client address (behind ``LUMIKU_TRUSTED_PROXIES``: the forwarded one)."""
        return self.request.client.host if self.request.client else "unknown"


def _caller(call: Call[Any, Any]) -> str:
    """Name the caller for the decoding budget: the signed-in user, else the address."""
    return f"user:{call.user.id}" if call.user is not None else f"address:{call.client_ip}"


def _services(request: Request) -> EndpointServices:
    services: EndpointServices = request.app.state.endpoint_services
    return services


def _check_path(request: Request) -> None:
    check_path_text(request)
    for name, value in request.path_params.items():
        if isinstance(value, str) and "\x00" in value:
            raise errors.BadRequest(
                f"The path parameter {to_camel(name)!r} contains a NUL character."
            )
        if isinstance(value, int) and not INT64[0] <= value <= INT64[1]:
            raise errors.NotFound(f"No resource has the {to_camel(name)} {value}.")


class _Wrapper:
    """The ASGI-facing function of one endpoint."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.is_async = inspect.iscoroutinefunction(endpoint.handler)

    def _check_headers(self, request: Request) -> str | None:
        """Check what the headers say of the body: its media type (415), its size (413).

        Returns the media type of a form body (``None`` otherwise). Nothing is read.
        """
        endpoint = self.endpoint
        media: str | None = None
        if endpoint.form_layout is not None:
            media = require_media_type(request, endpoint.media_types)
        elif endpoint.body is not None:
            require_json(request)
        if endpoint.takes_body:
            check_declared_length(request, endpoint.body_limit)
        return media

    async def _read(
        self, services: EndpointServices, request: Request, media: str | None
    ) -> tuple[Any, bytes]:
        """Read and parse the body (its headers were checked): ``(data, raw)``."""
        endpoint = self.endpoint
        layout = endpoint.form_layout
        if layout is not None:
            if media == MULTIPART_MEDIA_TYPE:
                parts = await read_multipart(request, layout, endpoint.body_limit)
            else:
                parts = await read_urlencoded(request, endpoint.body_limit)
            if endpoint.extra_fields == "ignore":
                parts = [part for part in parts if part[0] in layout.fields]
            return form_values(layout, parts), form_fingerprint(parts)
        if endpoint.body is not None:
            raw = await read_body(request, endpoint.body_limit)
            return parse_json(raw, services.metrics), raw
        return None, b""

    def _structure(
        self, services: EndpointServices, request: Request, data: Any
    ) -> tuple[Any, Any]:
        """Return ``(query, body)``; one 422 names the failing fields of both."""
        endpoint = self.endpoint
        query: Any = None
        body: Any = None
        failures: dict[str, str] = {}
        wheres: list[str] = []
        if endpoint.query is not None and endpoint.query_layout is not None:
            values = form_values(endpoint.query_layout, query_parts(request.scope["query_string"]))
            try:
                query = structure(services.query, values, endpoint.query, where="query string")
            except errors.ValidationFailed as exc:
                failures.update(exc.details["fields"])
                wheres.append("query string")
        target = endpoint.body or endpoint.form
        if target is not None:
            converter = services.json if endpoint.body is not None else services.query
            try:
                body = structure(converter, data, target, where="request body")
            except errors.ValidationFailed as exc:
                for name, problem in exc.details["fields"].items():
                    failures[f"body.{name}" if name in failures else name] = problem
                wheres.append("request body")
        if failures:
            raise validation_failed(failures, where=" and ".join(wheres))
        return query, body

    async def __call__(self, request: Request) -> Response:
        services = _services(request)
        endpoint = self.endpoint
        try:
            _check_path(request)
            media = self._check_headers(request)
            user: Any = None
            if endpoint.auth:
                # Before a byte of the body is read: an anonymous or forged upload costs
                # its headers, not the parsing and hashing of megabytes. On the loop: no
                # thread hop (lumiku.auth.gate).
                user = await services.authenticate_on_loop(_bearer(request), endpoint.auth)
            async with self._body_share(services, request, user):
                data, raw = await self._read(services, request, media)
                query, body = self._structure(services, request, data)
                if self.is_async:
                    result = await self._run_async(services, request, user, body, query, raw)
                else:
                    result = await services.run_handler(
                        self._run_sync, services, request, user, body, query, raw
                    )
                return render(services.json, endpoint, request, result)
        except errors.LumikuError as exc:
            return error_response(exc)
        except ClientDisconnect:  # not a fault of the server: no 500, no traceback
            return client_gone_response(request)
        except Exception as exc:  # noqa: BLE001 - the boundary: any error becomes a 500 in the common shape
            plugin_id = endpoint.plugin_id or request.scope.get("lumiku.plugin")
            where = f"plugin {plugin_id}" if plugin_id else "core"
            services.metrics.record_route_error(plugin_id)
            return internal_error_response(exc, where=f"{where} {endpoint.method} {endpoint.path}")

    def _body_share(
        self, services: EndpointServices, request: Request, user: Any
    ) -> AbstractAsyncContextManager[None]:
        """Hold the body's bytes in the process's body budget until the response is made."""
        endpoint = self.endpoint
        if not endpoint.takes_body:
            return contextlib.nullcontext()
        declared = request.headers.get("content-length", "")
        limit = endpoint.body_limit
        size = min(int(declared), limit) if declared.isdigit() else limit
        if user is not None:
            client = f"user:{user.id}"
        else:
            client = f"ip:{request.client.host if request.client else 'unknown'}"
        return services.bodies.hold(size, client)

    def _limit(self, services: EndpointServices, request: Request, user: Any) -> None:
        """Count the request against its rate limits (after a replay would have answered)."""
        for limit in self.endpoint.rate_limits:
            services.check_rate_limit(limit, request, user, self.endpoint)

    def _respond(self, services: EndpointServices, call: Call[Any, Any], result: Any) -> Response:
        # Rendered before the idempotency record stores it, so a 202's Location and any
        # status the result decides are what a replay sees.
        return render(services.json, self.endpoint, call.request, result)

    def _run_sync(
        self,
        services: EndpointServices,
        request: Request,
        user: Any,
        body: Any,
        query: Any,
        raw: bytes,
    ) -> Any:
        key = services.begin(request, user, self.endpoint, raw)
        if isinstance(key, Response):
            return key
        call: Call[Any, Any] = Call(request, body, query, user, raw, key)
        try:
            self._limit(services, request, user)
            with decoding_owner(_caller(call)):
                result = self._respond(services, call, self.endpoint.handler(call))
        except BaseException as exc:  # noqa: BLE001 - stored or re-raised by fail()
            return services.fail(key, self.endpoint, exc)
        return services.finish(key, self.endpoint, result)

    async def _run_async(
        self,
        services: EndpointServices,
        request: Request,
        user: Any,
        body: Any,
        query: Any,
        raw: bytes,
    ) -> Any:
        # A thread hop only for what writes: reserving an Idempotency-Key, rate limits.
        if services.reserves(request, user, self.endpoint):
            key = await run_in_threadpool(services.begin, request, user, self.endpoint, raw)
        else:
            key = RequestKey.fresh(str(user.id) if user is not None else "")
        if isinstance(key, Response):
            return key
        call: Call[Any, Any] = Call(request, body, query, user, raw, key)
        try:
            if self.endpoint.rate_limits:
                await run_in_threadpool(self._limit, services, request, user)
            with decoding_owner(_caller(call)):
                result = self.endpoint.handler(call)
                if inspect.isawaitable(result):
                    result = await result
            result = self._respond(services, call, result)
        except BaseException as exc:  # noqa: BLE001 - stored or re-raised by fail()
            return await run_in_threadpool(services.fail, key, self.endpoint, exc)
        if not key.from_client:
            return result
        return await run_in_threadpool(services.finish, key, self.endpoint, result)


def _bearer(request: Request) -> str:
    header = header_text(request, "authorization") or ""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise errors.Unauthorized(
            "Send the access token as 'Authorization: Bearer <token>'."
            if header
            else "Authentication required: send 'Authorization: Bearer <token>'."
        )
    return token.strip()


def endpoint_route(endpoint: Endpoint) -> Route:
    """Return the Starlette route serving ``endpoint`` (``route.endpoint_spec`` holds it)."""
    wrapper = _Wrapper(endpoint)

    async def serve(request: Request) -> Response:
        return await wrapper(request)

    serve.__doc__ = endpoint.handler.__doc__
    starlette_route = Route(endpoint.path, serve, methods=[endpoint.method], name=endpoint.name)
    starlette_route.endpoint_spec = endpoint  # type: ignore[attr-defined]
    return starlette_route


def for_plugin(item: BaseRoute, plugin_id: str) -> BaseRoute:
    """Return ``item`` as mounted for ``plugin_id``: declared routes get the plugin's id,
    and its id as their tag when they declare none; other routes are returned as they are."""
    spec: Endpoint | None = getattr(item, "endpoint_spec", None)
    if spec is None:
        return item
    return endpoint_route(attrs.evolve(spec, plugin_id=plugin_id, tags=spec.tags or (plugin_id,)))
