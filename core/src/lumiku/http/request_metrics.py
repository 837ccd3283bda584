"""ASGI middleware that records request latency by route template (not raw path)."""

from __future__ import annotations

import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lumiku.metrics import Metrics


def _template(scope: Scope) -> str:
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    if path is None:
        return "unmatched"
    root = scope.get("root_path", "")
    app_root = scope.get("app_root_path", "")
    return f"{root.removeprefix(app_root)}{path}" if root else str(path)


class RequestMetrics:
    """Observe ``lumiku_http_request_duration_seconds`` for every HTTP request."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = scope.get("lumiku.ratelimit_headers")
                if headers:
                    message.setdefault("headers", [])
                    message["headers"] = [
                        *message["headers"],
                        *((k.lower().encode(), v.encode()) for k, v in headers.items()),
                    ]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self.metrics.http_latency.labels(
                method=scope["method"], route=_template(scope), status=f"{status // 100}xx"
            ).observe(time.perf_counter() - started)
