"""Declared endpoints: a handler plus the attrs classes of its body, query and response.

``route(...)`` turns a declaration into a Starlette ``Route`` whose wrapper reads and checks
the body (400 for malformed JSON, 422 for schema violations), authenticates, applies rate
limits and idempotency keys, runs the handler (sync handlers in the threadpool, in one hop)
and renders the result or the error in the common shape. OpenAPI is generated from the
same declarations.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

import attrs
import cattrs
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lumiku import errors
from lumiku.http.converter import describe_errors
from lumiku.http.errors import error_response, internal_error_response
from lumiku.idempotency import RequestKey

if TYPE_CHECKING:
    from lumiku.http.services import EndpointServices

B = TypeVar("B")
Q = TypeVar("Q")
Role = Literal["user", "admin"]
Handler = Callable[["Call[Any, Any]"], Any]

JSON_BODY_LIMIT = 1024 * 1024


@attrs.frozen
class RateLimit:
    """A limit such as ``"5/minute"`` counted per ``user`` or per ``ip`` under ``scope``."""

    limit: str
    per: Literal["user", "ip"] = "user"
    scope: str = ""


@attrs.frozen
class Endpoint:
    """The declaration of one route; the OpenAPI document is built from these."""

    method: str
    path: str
    handler: Handler
    body: type | None = None
    query: type | None = None
    response: Any = None
    status: int = 200
    auth: Role | None = None
    form: bool = False
    max_body: int = JSON_BODY_LIMIT
    rate_limits: tuple[RateLimit, ...] = ()
    idempotent: bool = False
    summary: str = ""
    tags: tuple[str, ...] = ()
    name: str | None = None


@attrs.frozen
class Call(Generic[B, Q]):
    """What a handler receives: the request, its checked body and query, and the user.

    ``raw_body`` is the JSON body as sent, or for a form a digest of its fields and files
    (what ``Idempotency-Key`` compares). ``request_key`` is the request's idempotency key
    and attempt (see ``lumiku.idempotency``).
    """

    request: Request
    body: B
    query: Q
    user: Any
    form: FormData | None
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
        """Return the path parameters."""
        return self.request.path_params

    @property
    def user_id(self) -> str:
        """Return the authenticated user's id (the route must declare ``auth``)."""
        if self.user is None:
            raise errors.Unauthorized("This route needs a signed-in user.")
        return str(self.user.id)

    @property
    def client_ip(self) -> str:
        """Return the client address (the proxy's, unless a proxy-headers middleware runs)."""
        return self.request.client.host if self.request.client else "unknown"


def _services(request: Request) -> EndpointServices:
    services: EndpointServices = request.app.state.endpoint_services
    return services


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise errors.PayloadTooLarge(f"The request body is over the {limit} byte limit.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise errors.PayloadTooLarge(f"The request body is over the {limit} byte limit.")
        chunks.append(chunk)
    body = b"".join(chunks)
    request._body = body
    return body


def _check_path(request: Request) -> None:
    for name, value in request.path_params.items():
        if isinstance(value, str) and "\x00" in value:
            raise errors.BadRequest(f"The path parameter {name!r} contains a NUL character.")


async def _parse_form(request: Request) -> FormData:
    try:
        form = await request.form(max_files=4, max_fields=64)
    except (HTTPException, MultiPartException) as exc:
        detail = getattr(exc, "detail", None) or getattr(exc, "message", None) or str(exc)
        raise errors.BadRequest(
            f"The multipart form cannot be read: {detail}", code="INVALID_MULTIPART"
        ) from None
    bad = {
        name: "must not contain NUL characters"
        for name, value in form.multi_items()
        if isinstance(value, str) and "\x00" in value
    }
    if bad:
        await form.close()
        raise errors.ValidationFailed(
            "The form has NUL characters in text fields.", details={"fields": bad}
        )
    return form


async def _form_fingerprint(form: FormData) -> bytes:
    """Return a digest of the form's fields and file contents, independent of the boundary.

    A client that retries a multipart upload re-encodes it with a new random boundary; the
    idempotency check must still see the same request.
    """
    digest = hashlib.sha256()
    for name, value in sorted(form.multi_items(), key=lambda item: item[0]):
        digest.update(name.encode() + b"\0")
        if isinstance(value, UploadFile):
            content = await value.read()
            await value.seek(0)
            digest.update(b"file\0" + hashlib.sha256(content).digest())
        else:
            digest.update(b"text\0" + value.encode())
        digest.update(b"\0")
    return digest.hexdigest().encode()


def _parse_json(services: EndpointServices, raw: bytes) -> Any:
    if not raw.strip():
        raise errors.BadRequest(
            "The request body is empty; send a JSON object.", code="INVALID_JSON"
        )
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        services.metrics.json_parse_errors.inc()
        raise errors.BadRequest(
            f"The request body is not valid JSON: {exc}", code="INVALID_JSON"
        ) from None


def structure(converter: cattrs.Converter, data: Any, cls: type[B], *, where: str) -> B:
    """Structure ``data`` as ``cls``; raise ``ValidationFailed`` naming each failing field."""
    if not isinstance(data, dict):
        raise errors.ValidationFailed(
            f"The {where} must be a JSON object.", details={"fields": {where: "must be an object"}}
        )
    try:
        return converter.structure(data, cls)
    except (cattrs.BaseValidationError, ValueError, TypeError, KeyError) as exc:
        fields = describe_errors(exc)
        summary = "; ".join(f"{name}: {problem}" for name, problem in fields.items())
        raise errors.ValidationFailed(
            f"The {where} breaks the schema: {summary}", details={"fields": fields}
        ) from None


def _render(services: EndpointServices, endpoint: Endpoint, result: Any) -> Response:
    if isinstance(result, Response):
        return result
    if result is None:
        return Response(status_code=204 if endpoint.status == 200 else endpoint.status)
    return JSONResponse(services.json.unstructure(result), status_code=endpoint.status)


class _Wrapper:
    """The ASGI-facing function of one endpoint."""

    def __init__(self, endpoint: Endpoint, plugin_id: str | None) -> None:
        self.endpoint = endpoint
        self.plugin_id = plugin_id
        self.is_async = inspect.iscoroutinefunction(endpoint.handler)

    async def __call__(self, request: Request) -> Response:
        services = _services(request)
        endpoint = self.endpoint
        form: FormData | None = None
        try:
            raw = b""
            data: Any = None
            _check_path(request)
            if endpoint.form:
                await _read_body(request, endpoint.max_body)
                form = await _parse_form(request)
                raw = await _form_fingerprint(form)
            elif endpoint.body is not None:
                raw = await _read_body(request, endpoint.max_body)
                data = _parse_json(services, raw)
            query: Any = None
            if endpoint.query is not None:
                query = structure(
                    services.query, dict(request.query_params), endpoint.query, where="query string"
                )
            body: Any = None
            if endpoint.body is not None:
                body = structure(services.json, data, endpoint.body, where="request body")
            token = _bearer(request) if endpoint.auth else None
            if self.is_async:
                result = await self._run_async(services, request, token, body, query, form, raw)
            else:
                result = await run_in_threadpool(
                    self._run_sync, services, request, token, body, query, form, raw
                )
            return _render(services, endpoint, result)
        except errors.LumikuError as exc:
            return error_response(exc)
        except Exception as exc:  # noqa: BLE001 - the boundary: any error becomes a 500 in the common shape
            plugin_id = self.plugin_id or request.scope.get("lumiku.plugin")
            where = f"plugin {plugin_id}" if plugin_id else "core"
            services.metrics.record_route_error(plugin_id)
            return internal_error_response(exc, where=f"{where} {endpoint.method} {endpoint.path}")
        finally:
            if form is not None:
                await form.close()

    def _admit(
        self, services: EndpointServices, request: Request, token: str | None, raw: bytes
    ) -> tuple[Any, RequestKey | Response]:
        """Authenticate, then reserve the Idempotency-Key (a replay is answered here)."""
        user = services.authenticate(token, self.endpoint.auth) if self.endpoint.auth else None
        return user, services.begin(request, user, self.endpoint, raw)

    def _limit(self, services: EndpointServices, request: Request, user: Any) -> None:
        """Count the request against its rate limits (after a replay would have answered)."""
        for limit in self.endpoint.rate_limits:
            services.check_rate_limit(limit, request, user, self.endpoint)

    def _run_sync(
        self,
        services: EndpointServices,
        request: Request,
        token: str | None,
        body: Any,
        query: Any,
        form: FormData | None,
        raw: bytes,
    ) -> Any:
        user, key = self._admit(services, request, token, raw)
        if isinstance(key, Response):
            return key
        call: Call[Any, Any] = Call(request, body, query, user, form, raw, key)
        try:
            self._limit(services, request, user)
            result = self.endpoint.handler(call)
        except BaseException as exc:  # noqa: BLE001 - stored or re-raised by fail()
            return services.fail(key, self.endpoint, exc)
        return services.finish(key, self.endpoint, result)

    async def _run_async(
        self,
        services: EndpointServices,
        request: Request,
        token: str | None,
        body: Any,
        query: Any,
        form: FormData | None,
        raw: bytes,
    ) -> Any:
        user, key = await run_in_threadpool(self._admit, services, request, token, raw)
        if isinstance(key, Response):
            return key
        call: Call[Any, Any] = Call(request, body, query, user, form, raw, key)
        try:
            if self.endpoint.rate_limits:
                await run_in_threadpool(self._limit, services, request, user)
            result = self.endpoint.handler(call)
            if inspect.isawaitable(result):
                result = await result
        except BaseException as exc:  # noqa: BLE001 - stored or re-raised by fail()
            return await run_in_threadpool(services.fail, key, self.endpoint, exc)
        if not key.from_client:
            return result
        return await run_in_threadpool(services.finish, key, self.endpoint, result)


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise errors.Unauthorized(
            "Send the access token as 'Authorization: Bearer <token>'."
            if header
            else "Authentication required: send 'Authorization: Bearer <token>'."
        )
    return token.strip()


def route(
    method: str,
    path: str,
    handler: Handler,
    *,
    plugin_id: str | None = None,
    **declaration: Any,
) -> Route:
    """Declare an endpoint and return its Starlette route (``route.endpoint_spec`` holds it)."""
    endpoint = Endpoint(method.upper(), path, handler, **declaration)
    wrapper = _Wrapper(endpoint, plugin_id)

    async def serve(request: Request) -> Response:
        return await wrapper(request)

    serve.__doc__ = handler.__doc__
    starlette_route = Route(path, serve, methods=[endpoint.method], name=endpoint.name)
    starlette_route.endpoint_spec = endpoint  # type: ignore[attr-defined]
    return starlette_route


def get(path: str, handler: Handler, **declaration: Any) -> Route:
    """Declare a GET endpoint."""
    return route("GET", path, handler, **declaration)


def post(path: str, handler: Handler, **declaration: Any) -> Route:
    """Declare a POST endpoint."""
    return route("POST", path, handler, **declaration)


def put(path: str, handler: Handler, **declaration: Any) -> Route:
    """Declare a PUT endpoint."""
    return route("PUT", path, handler, **declaration)


def delete(path: str, handler: Handler, **declaration: Any) -> Route:
    """Declare a DELETE endpoint."""
    return route("DELETE", path, handler, **declaration)
