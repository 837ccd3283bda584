"""A real Socket.IO client for tests: connect as a user, collect what the server sends."""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["listening"]


@contextmanager
def listening(
    url: str, token: str, namespace: str, *, timeout: float = 15.0
) -> Iterator[queue.Queue[tuple[str, Any]]]:
    """Connect a Socket.IO client to ``namespace`` at ``url`` (websocket transport) with
    ``token`` in ``auth.token``, as any client does; yield a queue of ``(event, data)`` in
    the order received; disconnect on exit.

    The client runs on an event loop of its own thread, so a test (and a server it serves
    in a thread) keeps its own. Raises ``socketio.exceptions.ConnectionError`` when the
    server refuses the connection, ``TimeoutError`` when it does not answer in ``timeout``
    seconds.
    """
    import socketio

    received: queue.Queue[tuple[str, Any]] = queue.Queue()
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    client = socketio.AsyncClient(reconnection=False)

    async def on_any(event: str, data: Any) -> None:
        received.put((event, data))

    client.on("*", on_any, namespace=namespace)
    try:
        connect = client.connect(
            url,
            namespaces=[namespace],
            auth={"token": token},
            transports=["websocket"],
            wait_timeout=max(1, int(timeout) - 5),
        )
        asyncio.run_coroutine_threadsafe(connect, loop).result(timeout=timeout)
        try:
            yield received
        finally:
            asyncio.run_coroutine_threadsafe(client.disconnect(), loop).result(timeout=timeout)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.close()
