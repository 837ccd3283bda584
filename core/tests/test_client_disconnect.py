"""A client that hangs up mid-request is logged at info as a disconnect and counted as 499,
never as a 500 with a traceback."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from lumiku.testing.app import runtime_of


def call_and_hang_up(
    app: Starlette, method: str, path: str, headers: dict[str, str], first: bytes
) -> list[dict[str, Any]]:
    """Send the headers and ``first`` bytes of a body, then disconnect; return what was sent."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }
    messages = [
        {"type": "http.request", "body": first, "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


def test_a_client_that_hangs_up_is_a_499_disconnect(
    make_app: Callable[..., Starlette], caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app()
    with TestClient(app) as client:
        response = client.post(
            "/api/auth/register",
            json={"email": "gone@example.test", "password": "Disconnect-pw-7f3kQ9xLm"},
        )
        token = response.json()["token"]
        project = client.post(
            "/api/apps/avatar-creator/projects",
            json={"name": "p"},
            headers={"Authorization": f"Bearer {token}"},
        ).json()["id"]
        cases = [
            ("POST", "/api/auth/login", {"content-type": "application/json"}, b'{"email": '),
            (
                "POST",
                f"/api/apps/avatar-creator/projects/{project}/avatars/upload",
                {
                    "content-type": "multipart/form-data; boundary=b",
                    "authorization": f"Bearer {token}",
                },
                b'--b\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n\r\n',
            ),
        ]
        with caplog.at_level(logging.INFO):
            for method, path, headers, first in cases:
                sent = call_and_hang_up(app, method, path, headers, first)
                assert sent[0]["status"] == 499, (path, sent)
        metrics = runtime_of(app).metrics.render().decode()
    disconnects = [r for r in caplog.records if "client disconnected" in r.getMessage()]
    assert len(disconnects) == 2
    assert all(r.levelno == logging.INFO and r.exc_info is None for r in disconnects)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert 'status="5xx"' not in metrics
    assert 'status="4xx"' in metrics  # 499: counted with the client errors
    assert "lumiku_route_errors_total{" not in metrics
