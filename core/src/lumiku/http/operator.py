"""Who may read the operator pages (``/health/detailed``, ``/metrics``, ``/api/plugins``,
a plugin health report's checks), and what those pages may say about a plugin.

An operator is a request whose ``Authorization: Bearer <token>`` is either the metrics token
(``LUMIKU_METRICS_TOKEN``; what Prometheus sends) or the access token of an ``admin``.
Everything else gets a 401 (no or bad token) or a 403 (a user who is not an admin) in the
common error shape.
"""

from __future__ import annotations

import hmac
import re
from typing import Any, Protocol

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from lumiku import errors
from lumiku.plugins.state import PluginRecord, ReasonCode
from lumiku.roles import require_role

NEEDS_OPERATOR = (
    "This page is for operators: send 'Authorization: Bearer <token>' with an admin's "
    "access token or the metrics token (LUMIKU_METRICS_TOKEN)."
)

# Reasons that may end in an exception's text ("<Type>: <message>"): the message stays in
# the log. A rule the core enforces (an unusable hook result) has no type and is shown.
_RAISED_CODES = {ReasonCode.IMPORT_ERROR, ReasonCode.HOOK_ERROR, ReasonCode.STARTUP_ERROR}
_RAISED = re.compile(r"^(?P<head>plugin '[^']*', hook '[^']*': )?(?P<type>[A-Z][\w.]*): ")
_LOG_HAS_IT = "the server log has the message"


class TokenAuthenticator(Protocol):
    """Turn an access token into a principal with a ``role``, or raise ``Unauthorized``."""

    def authenticate(self, token: str) -> Any:
        """Return the principal of ``token``."""


class OperatorAccess:
    """Check that a request comes from an operator (an admin or the metrics token)."""

    def __init__(self, authenticator: TokenAuthenticator, metrics_token: str = "") -> None:
        """Accept admins of ``authenticator``, and ``metrics_token`` when it is not empty."""
        self._authenticator = authenticator
        self._metrics_token = metrics_token.encode()

    def is_operator(self, request: Request) -> bool:
        """Return whether ``request`` is an operator's (sync: may query the database)."""
        try:
            self.check(request)
        except (errors.Unauthorized, errors.Forbidden):
            return False
        return True

    def check(self, request: Request) -> None:
        """Raise ``Unauthorized`` or ``Forbidden`` unless ``request`` is an operator's.

        Synchronous (an admin token is checked against the database): call it from a
        worker thread, or use :meth:`require`.
        """
        token = _bearer(request)
        if token is None:
            raise errors.Unauthorized(NEEDS_OPERATOR)
        if self._metrics_token and hmac.compare_digest(token.encode(), self._metrics_token):
            return
        require_role(self._authenticator.authenticate(token), "admin")

    async def require(self, request: Request) -> None:
        """Run :meth:`check` off the event loop."""
        await run_in_threadpool(self.check, request)

    async def allows(self, request: Request) -> bool:
        """Run :meth:`is_operator` off the event loop (no header: no thread, ``False``)."""
        if _bearer(request) is None:
            return False
        return await run_in_threadpool(self.is_operator, request)


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def shown_reason(record: PluginRecord) -> str:
    """Return ``record``'s reason as an HTTP response may carry it (no exception text).

    ``plugin 'x', hook 'startup': RuntimeError: <text>`` is shown as
    ``plugin 'x', hook 'startup': raised RuntimeError; the server log has the message``.
    """
    if record.reason_code not in _RAISED_CODES:
        return record.reason
    match = _RAISED.match(record.reason)
    if match is None:
        if record.reason_code is ReasonCode.IMPORT_ERROR:
            return f"the import failed; {_LOG_HAS_IT}"
        return record.reason
    importing = record.reason_code is ReasonCode.IMPORT_ERROR
    head = match.group("head") or ("the import: " if importing else "")
    return f"{head}raised {match.group('type')}; {_LOG_HAS_IT}"
