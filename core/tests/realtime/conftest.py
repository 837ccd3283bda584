"""A real uvicorn server on a free port serving Socket.IO wrapped around a Starlette app."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import socketio
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from lumiku.errors import Unauthorized
from lumiku.realtime import AuthenticatedNamespace, close_realtime, wrap_app

TOKENS = {"good-token": "user-1", "other-token": "user-2"}


class FakeAuthenticator:
    """Accept the tokens of ``TOKENS``; raise ``Unauthorized`` for anything else."""

    def __init__(self) -> None:
        self.broken = False

    def authenticate(self, token: str) -> str:
        """Return the user id of a known token."""
        if self.broken:
            raise ConnectionError("database is down")
        try:
            return TOKENS[token]
        except KeyError:
            raise Unauthorized("the token is invalid or expired") from None


class DemoNamespace(AuthenticatedNamespace):
    """A plugin namespace with one client-to-server event."""

    async def on_whoami(self, sid: str, data: Any = None) -> str:
        """Answer with the user id of the socket."""
        return await self.user_id(sid)


async def ping(request: Request) -> PlainTextResponse:
    """Answer a plain HTTP request, served on the same port as Socket.IO."""
    return PlainTextResponse("pong")


Serve = Callable[[socketio.AsyncServer], Awaitable[str]]


@pytest.fixture
def authenticator() -> FakeAuthenticator:
    """Return the fake authenticator."""
    return FakeAuthenticator()


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Serve a Socket.IO server with uvicorn on a free port; return its base URL."""
    servers: list[tuple[socketio.AsyncServer, uvicorn.Server, asyncio.Task[None]]] = []

    async def start(sio: socketio.AsyncServer) -> str:
        app = wrap_app(sio, Starlette(routes=[Route("/ping", ping)]))
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", ws="wsproto", lifespan="on")
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve(sockets=[sock]))
        servers.append((sio, server, task))
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        return f"http://127.0.0.1:{port}"

    yield start
    for sio, server, task in servers:
        await close_realtime(sio)
        server.should_exit = True
        await task


@pytest.fixture
async def clients() -> AsyncIterator[list[socketio.AsyncClient]]:
    """Collect clients created by a test and disconnect them at the end."""
    created: list[socketio.AsyncClient] = []
    yield created
    for client in created:
        await client.disconnect()
