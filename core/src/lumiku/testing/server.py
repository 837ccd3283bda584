"""Serve an ASGI app with a real uvicorn server on a free loopback port, for tests."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from starlette.types import ASGIApp


def free_port() -> int:
    """Return a TCP port that is free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serve_in_thread(
    app: ASGIApp,
    *,
    port: int | None = None,
    startup_timeout: float = 20.0,
    loop: str = "asyncio",
) -> Iterator[str]:
    """Run ``app`` (lifespan included) in a background thread; yield its base URL.

    ``port`` is a free port chosen beforehand (``free_port()``), for an app that must know
    its own address before it is built (a callback URL); by default one is picked.
    ``loop`` is uvicorn's event loop: asyncio's by default, because uvloop refuses to close
    a loop that a connection is still registered with (a test's Socket.IO client that
    disconnects after the server stopped, a Redis that restarted under the app) and the
    server thread then dies with EBUSY; ``"auto"`` (uvloop) as ``lumiku serve`` runs, which
    the tests of real ``lumiku serve`` processes cover.
    """
    port = port or free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        access_log=False,
        loop=loop,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
