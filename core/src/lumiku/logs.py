"""Log lines: one per event, with the plugin, the request id and the user id when known.

Every ``lumiku`` command, web process and worker process logs through one handler on the
root logger, to stderr, in the format of ``LUMIKU_LOG_FORMAT``:

- ``text`` (the default): ``<time> <LEVEL> <logger>: <message>``, followed by
  ``[plugin=... request_id=... user_id=...]`` with what is known (a traceback, if any, on
  the lines after it);
- ``json``: one JSON object per line, always one line (a traceback is the ``exc`` field):
  ``{"time", "level", "logger", "message"}`` plus ``plugin``, ``request_id``, ``user_id``,
  ``job_id`` when known.

What is known comes from context variables: a request's id and user (set by
:class:`RequestLogMiddleware` and by authentication), the plugin whose route, hook or job
runs (:func:`plugin_scope`, the mount of its routes, the job's queue), and a job's id
(:func:`job_scope`; a job carries the id of the request that queued it).
uvicorn's own lines (the access log included) and those of libraries go through the same
handler; Alembic's INFO lines ("Context impl SQLiteImpl.") are not shown.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
import uuid
from collections.abc import Iterator, MutableMapping
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import attrs
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTEXT_FIELDS = ("plugin", "request_id", "user_id", "job_id")
REQUEST_ID_HEADER = "X-Request-Id"
_GOOD_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
# Libraries whose INFO lines are chatter for an operator.
_QUIET = ("alembic",)


@attrs.define
class LogContext:
    """What is known about the request or job being handled (mutable: authentication adds
    the user once it is known, and every log line of the request sees it)."""

    request_id: str | None = None
    user_id: str | None = None
    plugin: str | None = None
    job_id: str | None = None
    scope: MutableMapping[str, Any] | None = attrs.field(default=None, repr=False)

    def plugin_id(self) -> str | None:
        """Return the plugin: set explicitly, or the one whose mount the request entered."""
        if self.plugin is not None:
            return self.plugin
        found = self.scope.get("lumiku.plugin") if self.scope is not None else None
        return str(found) if found else None


_current: ContextVar[LogContext | None] = ContextVar("lumiku_log_context", default=None)
_plugin: ContextVar[str | None] = ContextVar("lumiku_log_plugin", default=None)


def current_context() -> LogContext | None:
    """Return the context of the request or job being handled, if any."""
    return _current.get()


def note_user(user_id: object) -> None:
    """Record the signed-in user of the current request (its later log lines name them)."""
    context = _current.get()
    if context is not None and user_id is not None:
        context.user_id = str(user_id)


@contextlib.contextmanager
def plugin_scope(plugin_id: str) -> Iterator[None]:
    """Name ``plugin_id`` in the log lines written inside the block (a hook's call)."""
    token = _plugin.set(plugin_id)
    try:
        yield
    finally:
        _plugin.reset(token)


def start_job(
    job_id: str, plugin: str, request_id: str | None = None, user_id: str | None = None
) -> None:
    """Begin the log context of a job on this thread (``end_job`` ends it)."""
    _current.set(LogContext(request_id=request_id, user_id=user_id, plugin=plugin, job_id=job_id))


def end_job() -> None:
    """End the log context of the job that ran on this thread."""
    _current.set(None)


def request_id_from(scope: Scope, trusted_peer: bool) -> str:
    """Return the id of a request: the ``X-Request-Id`` a trusted proxy sent (letters,
    digits, ``._:-``, at most 64), or a new one (32 hex digits)."""
    if trusted_peer:
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                given = value.decode("latin-1").strip()
                if _GOOD_REQUEST_ID.match(given):
                    return str(given)
    return uuid.uuid4().hex


class RequestLogMiddleware:
    """Give each HTTP request a log context and answer its id in ``X-Request-Id``.

    ``trusted`` says whether the direct peer may name the id (a proxy of
    ``LUMIKU_TRUSTED_PROXIES`` that sets ``X-Request-Id``, as nginx's ``$request_id``); a
    client's own header is replaced, so it cannot make its lines look like another's.
    """

    def __init__(self, app: ASGIApp, trusted: Any = None) -> None:
        self.app = app
        self.trusted = trusted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        from lumiku.client_address import is_trusted

        client = scope.get("client")
        peer_trusted = bool(client and self.trusted and is_trusted(str(client[0]), self.trusted))
        request_id = request_id_from(scope, peer_trusted)
        # Set on this task's context: the access log, written when the response starts,
        # sees it too; handlers run in threads get a copy holding the same object.
        _current.set(LogContext(request_id=request_id, scope=scope))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_id)


class ContextFilter(logging.Filter):
    """Add ``plugin``, ``request_id``, ``user_id`` and ``job_id`` to every record (``None``
    when unknown; a value given with ``extra=`` wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Annotate ``record``; never drop it."""
        context = _current.get()
        values = {
            "plugin": _plugin.get() or (context.plugin_id() if context else None),
            "request_id": context.request_id if context else None,
            "user_id": context.user_id if context else None,
            "job_id": context.job_id if context else None,
        }
        for name, value in values.items():
            if getattr(record, name, None) is None:
                setattr(record, name, value)
        return True


class TextFormatter(logging.Formatter):
    """``<time> <LEVEL> <logger>: <message> [plugin=... request_id=... user_id=...]``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - stdlib name
        """Return the line with the known context appended."""
        line = super().formatMessage(record)
        known = [
            f"{name}={value}"
            for name in CONTEXT_FIELDS
            if (value := getattr(record, name, None)) is not None
        ]
        return f"{line} [{' '.join(known)}]" if known else line


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        """Return the record as ``{"time", "level", "logger", "message", ...context}``."""
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                data[name] = value
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            data["exc"] = record.exc_text
        if record.stack_info:
            data["stack"] = self.formatStack(record.stack_info)
        return json.dumps(data, ensure_ascii=False, default=str)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Write to the ``sys.stderr`` of the moment (tests replace it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> Any:
        """Return the current ``sys.stderr``."""
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure_logging(
    level: str = "INFO", fmt: str = "text", *, access_log: bool = False, force: bool = False
) -> None:
    """Send every log line to stderr in the format ``fmt`` (``text`` or ``json``: the
    settings' ``LOG_LEVEL`` and ``LUMIKU_LOG_FORMAT``), at ``level`` and above. Calling it
    again replaces the handler.

    As ``logging.basicConfig``, it leaves a root logger that something else gave handlers
    alone (a test runner capturing logs) unless ``force``. uvicorn's access log (one line
    per request) is written only with ``access_log`` (``LUMIKU_ACCESS_LOG=true``); the
    metrics count requests without it.
    """
    root = logging.getLogger()
    # A disabled logger costs one attribute check per request.
    logging.getLogger("uvicorn.access").disabled = not access_log
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    if not force and any(not getattr(h, "lumiku", False) for h in root.handlers):
        return
    for old in [h for h in root.handlers if getattr(h, "lumiku", False)]:
        root.removeHandler(old)
    handler = _StderrHandler()
    handler.lumiku = True  # type: ignore[attr-defined]
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
    # uvicorn's loggers write through this handler too (lumiku serve passes log_config=None).
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
