"""Sockets of a revoked token are closed, on every node: logout, password change, a deleted
account; with a real python-socketio client against real uvicorn servers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
import socketio
import sqlalchemy as sa

from lumiku import AuthenticatedNamespace
from lumiku.db.tables import users
from lumiku.testing import PASSWORD, define_plugin, runtime_of, serve_in_thread

NS = "/lkt-live"
NEW_PASSWORD = "copper meadow lantern ninety"


class LiveNamespace(AuthenticatedNamespace):
    """A plugin namespace."""


def live_plugin() -> Any:
    return define_plugin("lkt_live", register_realtime=lambda ctx: [LiveNamespace(NS)])


class Socket:
    """A connected client with the events it received and whether it was disconnected."""

    def __init__(self) -> None:
        self.client = socketio.AsyncClient(reconnection=False)
        self.events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self.closed = asyncio.Event()

        async def on_any(event: str, data: Any) -> None:
            await self.events.put((event, data))

        async def on_disconnect(*_: Any) -> None:
            self.closed.set()

        self.client.on("*", on_any, namespace=NS)
        self.client.on("disconnect", on_disconnect, namespace=NS)

    async def connect(self, url: str, token: str) -> Socket:
        await self.client.connect(
            url, namespaces=[NS], auth={"token": token}, transports=["websocket"], wait_timeout=5
        )
        return self

    async def next_event(self) -> tuple[str, Any]:
        return await asyncio.wait_for(self.events.get(), timeout=5)

    async def wait_closed(self) -> None:
        await asyncio.wait_for(self.closed.wait(), timeout=5)


@pytest.fixture
async def sockets() -> AsyncIterator[Callable[[], Socket]]:
    made: list[Socket] = []

    def make() -> Socket:
        made.append(Socket())
        return made[-1]

    yield make
    for socket in made:
        with contextlib.suppress(Exception):
            await socket.client.disconnect()


@contextlib.contextmanager
def served(app: Any) -> Iterator[str]:
    with serve_in_thread(app.state.realtime.wrap(app)) as url:
        yield url


async def request(method: str, url: str, **kwargs: Any) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.request(method, url, **kwargs)


async def sign_up(url: str, email: str) -> tuple[str, str]:
    body = {"email": email, "password": PASSWORD}
    answer = await request("POST", f"{url}/api/auth/register", json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()["user"]["id"], answer.json()["token"]


async def sign_in(url: str, email: str, password: str = PASSWORD) -> str:
    body = {"email": email, "password": password}
    answer = await request("POST", f"{url}/api/auth/login", json=body)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def assert_no_event(socket: Socket) -> None:
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(socket.events.get(), timeout=0.5)


async def test_logout_and_password_change_close_only_the_revoked_sockets(
    make_app: Callable[..., Any], sockets: Callable[[], Socket]
) -> None:
    app = make_app([live_plugin()])
    publisher = runtime_of(app).publisher
    with served(app) as url:
        user_id, first_token = await sign_up(url, "ana@example.com")
        second_token = await sign_in(url, "ana@example.com")
        first = await sockets().connect(url, first_token)
        second = await sockets().connect(url, second_token)
        publisher.publish(user_id, "progress", {"n": 1}, namespace=NS)
        assert await first.next_event() == ("progress", {"n": 1})
        assert await second.next_event() == ("progress", {"n": 1})

        logout = await request("POST", f"{url}/api/auth/logout", headers=bearer(first_token))
        assert logout.status_code == 204
        await first.wait_closed()
        publisher.publish(user_id, "progress", {"n": 2}, namespace=NS)
        assert await second.next_event() == ("progress", {"n": 2})
        await assert_no_event(first)
        assert not second.closed.is_set()

        changed = await request(
            "PUT",
            f"{url}/api/auth/profile",
            headers=bearer(second_token),
            json={"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD},
        )
        assert changed.status_code == 200, changed.text
        await second.wait_closed()
        third = await sockets().connect(url, changed.json()["token"])
        publisher.publish(user_id, "progress", {"n": 3}, namespace=NS)
        assert await third.next_event() == ("progress", {"n": 3})
        await assert_no_event(second)


async def test_a_deleted_account_loses_its_sockets(
    make_app: Callable[..., Any], sockets: Callable[[], Socket]
) -> None:
    app = make_app([live_plugin()], LUMIKU_WELCOME_CREDITS="0")
    runtime = runtime_of(app)
    with served(app) as url:
        user_id, token = await sign_up(url, "gone@example.com")
        _, other_token = await sign_up(url, "stays@example.com")
        gone = await sockets().connect(url, token)
        stays = await sockets().connect(url, other_token)
        with runtime.engine.begin() as connection:
            connection.execute(sa.delete(users).where(users.c.id == user_id))
        runtime.revocations.tokens_changed(user_id)  # what an account deletion calls
        await gone.wait_closed()
        assert not stays.closed.is_set()


async def test_the_sweep_closes_sockets_nobody_told_about(
    make_app: Callable[..., Any], sockets: Callable[[], Socket]
) -> None:
    from lumiku.realtime.revocations import recheck

    app = make_app([live_plugin()], LUMIKU_WELCOME_CREDITS="0")
    runtime = runtime_of(app)
    with served(app) as url:
        user_id, token = await sign_up(url, "swept@example.com")
        swept = await sockets().connect(url, token)
        with runtime.engine.begin() as connection:
            connection.execute(sa.delete(users).where(users.c.id == user_id))
        loop = runtime.publisher.target._loop  # type: ignore[union-attr]
        sio = app.state.realtime.sio
        closed = await asyncio.wrap_future(
            asyncio.run_coroutine_threadsafe(recheck(sio, None), loop)
        )
        assert closed == 1
        await swept.wait_closed()


@pytest.mark.redis
async def test_a_logout_on_one_node_closes_the_socket_on_another(
    make_app: Callable[..., Any],
    private_redis: Callable[..., Any],
    sockets: Callable[[], Socket],
) -> None:
    server = private_redis()
    env = {"REDIS_ENABLED": "true", "REDIS_URL": server.url}
    node_a, node_b = make_app([live_plugin()], **env), make_app([live_plugin()], **env)
    with served(node_a) as url_a, served(node_b) as url_b:
        user_id, token = await sign_up(url_a, "two@example.com")
        on_a = await sockets().connect(url_a, token)
        other_token = await sign_in(url_b, "two@example.com")
        on_b = await sockets().connect(url_b, other_token)
        await asyncio.sleep(0.3)  # both managers subscribed to the channel
        logout = await request("POST", f"{url_b}/api/auth/logout", headers=bearer(token))
        assert logout.status_code == 204
        await on_a.wait_closed()  # closed by node A, told by node B through Redis
        runtime_of(node_b).publisher.publish(user_id, "progress", {"n": 1}, namespace=NS)
        assert await on_b.next_event() == ("progress", {"n": 1})
        await assert_no_event(on_a)
        assert not on_b.closed.is_set()


def test_the_internal_namespace_cannot_be_claimed() -> None:
    from lumiku.realtime import build_realtime
    from lumiku.realtime.revocations import INTERNAL_NAMESPACE

    with pytest.raises(ValueError, match="reserved"):
        build_realtime(
            redis_url=None,
            cors_origins=[],
            authenticator=None,  # type: ignore[arg-type]
            namespaces=[LiveNamespace(INTERNAL_NAMESPACE)],
        )


async def test_a_client_cannot_join_the_internal_namespace(
    make_app: Callable[..., Any],
) -> None:
    from lumiku.realtime.revocations import INTERNAL_NAMESPACE

    app = make_app([live_plugin()])
    with served(app) as url:
        _, token = await sign_up(url, "nosy@example.com")
        client = socketio.AsyncClient(reconnection=False)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await client.connect(
                url,
                namespaces=[INTERNAL_NAMESPACE],
                auth={"token": token},
                transports=["websocket"],
                wait_timeout=3,
            )
        await client.disconnect()
