"""``EndpointServices``: what the endpoint wrapper needs (converters, auth, limits, idempotency).

Built once per app by the composition root (``lumiku.bootstrap``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

import attrs
import cattrs
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from lumiku import errors
from lumiku.http.errors import error_response, status_for
from lumiku.idempotency import IdempotencyStore, request_fingerprint
from lumiku.metrics import Metrics
from lumiku.ratelimit import RateLimiter
from lumiku.roles import require_role

if TYPE_CHECKING:
    from lumiku.http.endpoint import Call, Endpoint, RateLimit
    from lumiku.roles import Role


class Authenticator(Protocol):
    """Turn a bearer token into a principal or raise ``Unauthorized``."""

    def authenticate(self, token: str) -> Any:
        """Return the principal of ``token``."""


class _NoAuth:
    def authenticate(self, token: str) -> Any:
        raise errors.Unauthorized("Authentication is not configured on this server.")


@attrs.define
class EndpointServices:
    """Converters, auth, rate limits, idempotency and metrics for declared endpoints."""

    json: cattrs.Converter
    query: cattrs.Converter
    metrics: Metrics
    limiter: RateLimiter
    authenticator: Authenticator = attrs.field(factory=_NoAuth)
    idempotency: IdempotencyStore | None = None

    def authenticate(self, token: str | None, role: Role) -> Any:
        """Authenticate ``token`` and check ``role``."""
        if token is None:
            raise errors.Unauthorized("Authentication required.")
        user = self.authenticator.authenticate(token)
        require_role(user, role)
        return user

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

    def _begin(self, call: Call[Any, Any], endpoint: Endpoint) -> tuple[str, Response | None]:
        key = call.request.headers.get("idempotency-key")
        if key is None or self.idempotency is None:
            return "", None
        fingerprint = request_fingerprint(endpoint.method, call.request.url.path, call.raw_body)
        stored = self.idempotency.begin(call.user_id, key, endpoint.path, fingerprint)
        if stored is None:
            return key, None
        return key, Response(
            stored.body,
            status_code=stored.status_code,
            media_type="application/json",
            headers={"Idempotent-Replayed": "true"},
        )

    def _finish(self, call: Call[Any, Any], key: str, endpoint: Endpoint, result: Any) -> Any:
        assert self.idempotency is not None
        if isinstance(result, Response):
            body = bytes(result.body) if isinstance(result, JSONResponse) else b""
            self.idempotency.finish(call.user_id, key, result.status_code, body)
            return result
        response = JSONResponse(self.json.unstructure(result), status_code=endpoint.status)
        self.idempotency.finish(call.user_id, key, response.status_code, bytes(response.body))
        return response

    def _record_failure(
        self, call: Call[Any, Any], key: str, endpoint: Endpoint, exc: BaseException
    ) -> Response:
        """Store a 4xx domain error as the key's answer; free the key for anything else.

        Rate limits and conflicts are not answers to the request (a retry may succeed), and
        a 5xx or an unexpected exception must let the retry run again: those re-raise.
        """
        assert self.idempotency is not None
        final = (
            isinstance(exc, errors.LumikuError)
            and status_for(exc) < 500
            and not isinstance(exc, errors.RateLimited | errors.Conflict)
        )
        if not final:
            self.idempotency.abandon(call.user_id, key)
            raise exc
        assert isinstance(exc, errors.LumikuError)
        response: Response = self._finish(call, key, endpoint, error_response(exc))
        return response

    def idempotent_sync(
        self, call: Call[Any, Any], endpoint: Endpoint, run: Callable[[], Any]
    ) -> Any:
        """Run ``run`` once per ``Idempotency-Key``; replays get the first response."""
        key, replay = self._begin(call, endpoint)
        if replay is not None:
            return replay
        if not key:
            return run()
        try:
            result = run()
        except BaseException as exc:  # noqa: BLE001 - stored or re-raised by _record_failure
            return self._record_failure(call, key, endpoint, exc)
        return self._finish(call, key, endpoint, result)

    async def idempotent_async(
        self, call: Call[Any, Any], endpoint: Endpoint, run: Callable[[], Awaitable[Any]]
    ) -> Any:
        """Async twin of ``idempotent_sync``."""
        key, replay = await run_in_threadpool(self._begin, call, endpoint)
        if replay is not None:
            return replay
        if not key:
            return await run()
        try:
            result = await run()
        except BaseException as exc:  # noqa: BLE001 - stored or re-raised by _record_failure
            return await run_in_threadpool(self._record_failure, call, key, endpoint, exc)
        return await run_in_threadpool(self._finish, call, key, endpoint, result)
