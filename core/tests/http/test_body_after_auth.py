"""No route reads a body before its headers pass authentication and the declared size."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.testclient import TestClient

PASSWORD = "Body-after-auth-pw-7f3kQ9xLm"


def call(
    app: Starlette, method: str, path: str, headers: dict[str, str], body: bytes = b"x" * 100
) -> tuple[int, int]:
    """Call ``app`` directly; return the status and how many times the body was asked for."""
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
    reads = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal reads
        reads += 1
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent[0]["status"], reads


def test_anonymous_and_forged_uploads_are_refused_unread(
    make_app: Callable[..., Starlette],
) -> None:
    app = make_app()
    upload = "/api/apps/avatar-creator/projects/p1/avatars/upload"
    multipart = {"content-type": "multipart/form-data; boundary=b", "content-length": "100"}
    with TestClient(app):
        for headers in (
            multipart,
            {**multipart, "authorization": "Bearer forged.token.value"},
            {**multipart, "authorization": "Basic dXNlcjpwYXNz"},
            {**multipart, "content-length": str(10 * 1024 * 1024)},
        ):
            status, reads = call(app, "POST", upload, headers)
            assert (status, reads) == (401, 0), headers
        # JSON routes that need a user: the same.
        status, reads = call(
            app, "POST", "/api/apps/avatar-creator/projects", {"content-type": "application/json"}
        )
        assert (status, reads) == (401, 0)


def test_a_declared_length_over_the_limit_is_413_unread(make_app: Callable[..., Starlette]) -> None:
    app = make_app()
    with TestClient(app):
        for path in ("/api/auth/login", "/api/apps/avatar-creator/projects"):
            headers = {"content-type": "application/json", "content-length": str(2 * 1024 * 1024)}
            assert call(app, "POST", path, headers) == (413, 0)
        multipart = {
            "content-type": "multipart/form-data; boundary=b",
            "content-length": str(50 * 1024 * 1024),
        }
        upload = "/api/apps/avatar-creator/projects/p1/avatars/upload"
        assert call(app, "POST", upload, multipart) == (413, 0)


def test_a_body_without_or_with_a_false_length_is_cut_at_the_limit(
    make_app: Callable[..., Starlette],
) -> None:
    app = make_app()
    sent = 0

    def chunks() -> Any:  # no Content-Length: sent chunked
        nonlocal sent
        for _ in range(64):
            sent += 64 * 1024
            yield b" " * (64 * 1024)

    with TestClient(app) as client:
        response = client.post(
            "/api/auth/login", content=chunks(), headers={"content-type": "application/json"}
        )
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
        # A Content-Length that says less than what comes: the stream is still counted.
        status, _ = call(
            app,
            "POST",
            "/api/auth/login",
            {"content-type": "application/json", "content-length": "10"},
            body=b" " * (2 * 1024 * 1024),
        )
        assert status == 413
