"""``lumiku worker --metrics-port``: the machine's metrics for a machine without a web node.

On a machine that runs ``lumiku serve``, its ``/metrics`` already reports the worker
processes (multiprocess mode, ``lumiku.metrics``). A machine running only workers serves
the same directory here, on a small HTTP server in the supervising process: ``GET`` any
path answers the exposition text, behind ``LUMIKU_METRICS_TOKEN`` when it is set.
"""

from __future__ import annotations

import hmac
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

StartResponse = Callable[..., Any]


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Log nothing per scrape."""


def machine_metrics_app(directory: Path, token: str = "") -> Callable[..., Iterable[bytes]]:
    """Return a WSGI app answering the metrics of every process writing to ``directory``."""

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        given = str(environ.get("HTTP_AUTHORIZATION", ""))
        if token and not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            start_response("401 Unauthorized", [("Content-Type", "text/plain")])
            return [b"send Authorization: Bearer <LUMIKU_METRICS_TOKEN>\n"]
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(directory))  # type: ignore[no-untyped-call]
        body = generate_latest(registry)
        start_response("200 OK", [("Content-Type", "text/plain; version=0.0.4")])
        return [body]

    return app


def serve_machine_metrics(directory: Path, host: str, port: int, token: str = "") -> WSGIServer:
    """Serve :func:`machine_metrics_app` on ``host:port`` from a daemon thread; return the
    server (``server.server_port`` is the port, ``server.shutdown()`` stops it)."""
    server = make_server(
        host, port, machine_metrics_app(directory, token), handler_class=_QuietHandler
    )
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server
