"""A request cut by a stopping server (its task cancelled at the shutdown deadline)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from lumiku.http.shutdown import CutAtShutdown

SCOPE = {"type": "http", "method": "GET", "path": "/slow", "headers": []}


async def run_cut(app: Any) -> list[dict[str, Any]]:
    """Run ``app`` wrapped, cancel it once it waits, and return what it sent."""
    sent: list[dict[str, Any]] = []
    waiting = asyncio.Event()

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def wrapped_app(scope: Any, receive: Any, send: Any) -> None:
        await app(scope, receive, send, waiting)

    task = asyncio.create_task(CutAtShutdown(wrapped_app)(SCOPE, receive, send))
    await waiting.wait()
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        sent.append({"type": "cancelled"})
    return sent


async def test_a_request_cut_before_answering_gets_503_in_the_error_shape() -> None:
    async def slow(_scope: Any, _receive: Any, _send: Any, waiting: asyncio.Event) -> None:
        waiting.set()
        await asyncio.sleep(3600)

    sent = await run_cut(slow)
    start, body = sent
    assert start["status"] == 503
    headers = dict(start["headers"])
    assert headers[b"retry-after"] == b"1"
    assert headers[b"connection"] == b"close"
    assert json.loads(body["body"])["error"]["code"] == "SERVER_STOPPING"


async def test_a_request_cut_while_answering_is_left_to_the_server() -> None:
    async def streaming(_scope: Any, _receive: Any, send: Any, waiting: asyncio.Event) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        waiting.set()
        await asyncio.sleep(3600)

    sent = await run_cut(streaming)
    assert [message["type"] for message in sent] == ["http.response.start", "cancelled"]


@pytest.mark.parametrize("kind", ["websocket", "lifespan"])
async def test_other_scopes_pass_through(kind: str) -> None:
    seen: list[str] = []

    async def app(scope: Any, _receive: Any, _send: Any) -> None:
        seen.append(scope["type"])

    await CutAtShutdown(app)({"type": kind}, None, None)  # type: ignore[arg-type]
    assert seen == [kind]
