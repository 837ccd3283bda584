"""``EndpointServices``: what the endpoint wrapper needs (converters, auth, limits, idempotency).

Built once per app by the composition root (``lumiku.bootstrap``).
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import attrs
import cattrs
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from lumiku import errors
from lumiku.http.body_budget import BodyBudget
from lumiku.http.errors import error_response, status_for
from lumiku.http.text import header_text
from lumiku.idempotency import IdempotencyStore, RequestKey, request_fingerprint
from lumiku.logs import note_user
from lumiku.metrics import Metrics
from lumiku.ratelimit import RateLimiter
from lumiku.roles import require_role

if TYPE_CHECKING:
    from lumiku.http.endpoint import Endpoint, RateLimit
    from lumiku.roles import Role

T = TypeVar("T")


class Authenticator(Protocol):
    """Turn a bearer token into a principal or raise ``Unauthorized``."""

    def authenticate(self, token: str) -> Any:
        """Return the principal of ``token``."""


class LoopAuthenticator(Protocol):
    """Turn a bearer token into a principal from the event loop (``lumiku.auth.gate``)."""

    async def authenticate(self, token: str) -> Any:
        """Return the principal of ``token`` or raise ``Unauthorized``."""


class _NoAuth:
    def authenticate(self, token: str) -> Any:
        raise errors.Unauthorized("Authentication is not configured on this server.")


@attrs.define
class EndpointServices:
    """Converters, auth, rate limits, idempotency, metrics and the body budget for declared
    endpoints."""

    json: cattrs.Converter
    query: cattrs.Converter
    metrics: Metrics
    limiter: RateLimiter
    authenticator: Authenticator = attrs.field(factory=_NoAuth)
    idempotency: IdempotencyStore | None = None
    bodies: BodyBudget = attrs.field(factory=BodyBudget)
    gate: LoopAuthenticator | None = None
    handlers: ThreadPoolExecutor | None = None
    """Where sync handlers run (``SERVER_THREADS`` threads); ``None``: anyio's threadpool."""

    async def run_handler(self, function: Callable[..., T], *args: Any) -> T:
        """Run ``function(*args)`` in a worker thread (with this context's variables).

        ``handlers`` is a plain executor: one hop to it costs about a third of one through
        anyio's threadpool (``docs/decisions.md``, "Hot path").
        """
        if self.handlers is None:
            return await run_in_threadpool(function, *args)
        context = contextvars.copy_context()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.handlers, context.run, function, *args)

    def authenticate(self, token: str | None, role: Role) -> Any:
        """Authenticate ``token`` and check ``role``."""
        if token is None:
            raise errors.Unauthorized("Authentication required.")
        user = self.authenticator.authenticate(token)
        note_user(getattr(user, "id", None))  # the request's later log lines name the user
        require_role(user, role)
        return user

    async def authenticate_on_loop(self, token: str | None, role: Role) -> Any:
        """Authenticate ``token`` and check ``role`` without a thread hop when a ``gate``
        is set (else in a worker thread)."""
        if token is None:
            raise errors.Unauthorized("Authentication required.")
        if self.gate is None:
            return await run_in_threadpool(self.authenticate, token, role)
        user = await self.gate.authenticate(token)
        note_user(getattr(user, "id", None))
        require_role(user, role)
        return user

    def reserves(self, request: Request, user: Any, endpoint: Endpoint) -> bool:
        """Return whether ``begin`` would reserve an Idempotency-Key (a database write)."""
        return (
            endpoint.idempotent
            and user is not None
            and self.idempotency is not None
            and "idempotency-key" in request.headers
        )

    def check_rate_limit(
        self, limit: RateLimit, request: Request, user: Any, endpoint: Endpoint
    ) -> None:
        """Count one hit; raise ``RateLimited`` with the ``X-RateLimit-*`` details when over."""
        if limit.per == "user" and user is not None:
            subject = f"user:{user.id}"
        else:
            subject = f"ip:{request.client.host if request.client else 'unknown'}"
        scope = limit.scope or f"{endpoint.method} {endpoint.path}"
        status = self.limiter.hit(limit.limit, scope, subject)
        headers = request.scope.setdefault("lumiku.ratelimit_headers", {})
        if not headers or status.remaining < int(headers.get("X-RateLimit-Remaining", 1 << 30)):
            headers.update(status.headers())
        if not status.allowed:
            raise errors.RateLimited(
                f"Too many requests: the limit is {limit.limit}; retry in {status.retry_after}s.",
                retry_after=status.retry_after,
                details={"limit": status.limit, "remaining": 0, "reset": status.reset_at},
            )

    def begin(
        self, request: Request, user: Any, endpoint: Endpoint, raw_body: bytes
    ) -> RequestKey | Response:
        """Return the request's key and attempt, or the stored response of a replay.

        Routes not declared ``idempotent``, anonymous calls and requests without an
        ``Idempotency-Key`` get a fresh server token: nothing is reserved.
        """
        user_id = str(user.id) if user is not None else ""
        header = header_text(request, "idempotency-key")
        if not endpoint.idempotent or user is None or header is None or self.idempotency is None:
            return RequestKey.fresh(user_id)
        fingerprint = request_fingerprint(endpoint.method, request.url.path, raw_body)
        begun = self.idempotency.begin(user_id, header, endpoint.path, fingerprint)
        if isinstance(begun, RequestKey):
            return begun
        return Response(
            begun.body,
            status_code=begun.status_code,
            media_type="application/json",
            headers={**begun.headers, "Idempotent-Replayed": "true"},
        )

    def finish(self, key: RequestKey, endpoint: Endpoint, result: Any) -> Any:
        """Record the answer of a reserved key (a no-op for unreserved requests)."""
        if not key.from_client or self.idempotency is None:
            return result
        if isinstance(result, Response):
            body = bytes(result.body) if isinstance(result, JSONResponse) else b""
            self.idempotency.finish(key, result.status_code, body, result.headers)
            return result
        response = JSONResponse(self.json.unstructure(result), status_code=endpoint.status)
        self.idempotency.finish(key, response.status_code, bytes(response.body))
        return response

    def fail(self, key: RequestKey, endpoint: Endpoint, exc: BaseException) -> Response:
        """Store a 4xx domain error as the key's answer; free the key for anything else.

        Rate limits and conflicts are not answers to the request (a retry may succeed), and
        a 5xx or an unexpected exception must let the retry run again: those free the
        reservation (moving the attempt on when no charge is left standing) and re-raise.
        """
        if not key.from_client or self.idempotency is None:
            raise exc
        final = (
            isinstance(exc, errors.LumikuError)
            and status_for(exc) < 500
            and not isinstance(exc, errors.RateLimited | errors.Conflict)
        )
        if not final:
            self.idempotency.release(key)
            raise exc
        assert isinstance(exc, errors.LumikuError)
        response: Response = self.finish(key, endpoint, error_response(exc))
        return response
