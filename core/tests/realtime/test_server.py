"""The Socket.IO server: sign-in on connect, user rooms, and events from publishers."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import threading
import uuid
from typing import Any

import httpx
import pytest
import redis
import socketio

from lumiku.realtime import (
    AuthenticatedNamespace,
    ConnectionGauge,
    NullPublisher,
    Publisher,
    RedisPublisher,
    ServerPublisher,
    build_realtime,
)

from .conftest import DemoNamespace, FakeAuthenticator, Serve

NS = "/demo"


async def connect(
    url: str,
    clients: list[socketio.AsyncClient],
    *,
    auth: dict[str, Any] | None,
    namespace: str = NS,
) -> tuple[socketio.AsyncClient, asyncio.Queue[tuple[str, Any]]]:
    """Connect a client over WebSocket; return it with a queue of the events it receives.

    A refusal raises ``socketio.exceptions.ConnectionError`` with the server's reason.
    """
    client = socketio.AsyncClient(reconnection=False)
    received: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    refusals: list[Any] = []

    async def on_any(event: str, data: Any) -> None:
        await received.put((event, data))

    client.on("*", on_any, namespace=namespace)
    client.on("connect_error", refusals.append, namespace=namespace)
    clients.append(client)
    try:
        await client.connect(
            url, namespaces=[namespace], auth=auth, transports=["websocket"], wait_timeout=5
        )
    except socketio.exceptions.ConnectionError as exc:
        raise socketio.exceptions.ConnectionError(f"{exc}: {refusals}") from exc
    return client, received


async def next_event(received: asyncio.Queue[tuple[str, Any]]) -> tuple[str, Any]:
    """Return the next event a client received, failing after a few seconds."""
    return await asyncio.wait_for(received.get(), timeout=5)


async def test_a_signed_in_user_receives_its_events_and_nobody_elses(
    serve: Serve, authenticator: FakeAuthenticator, clients: list[socketio.AsyncClient]
) -> None:
    gauge = ConnectionGauge()
    sio = build_realtime(
        redis_url=None,
        cors_origins=[],
        authenticator=authenticator,
        namespaces=[DemoNamespace(NS)],
        connections=gauge,
    )
    url = await serve(sio)
    first, first_events = await connect(url, clients, auth={"token": "good-token"})
    _, second_events = await connect(url, clients, auth={"token": "other-token"})
    publisher = ServerPublisher(sio, asyncio.get_running_loop())

    # Workers publish from their own threads.
    await asyncio.to_thread(
        publisher.publish, "user-1", "generation:progress", {"done": 1}, namespace=NS
    )
    await asyncio.to_thread(publisher.publish, "user-2", "marker", {}, namespace=NS)

    assert await next_event(first_events) == ("generation:progress", {"done": 1})
    assert await next_event(second_events) == ("marker", {})
    assert first_events.empty()
    assert await first.call("whoami", namespace=NS, timeout=5) == "user-1"
    assert gauge.value(NS) == 2
    await first.disconnect()
    for _ in range(100):
        if gauge.value(NS) == 1:
            break
        await asyncio.sleep(0.02)
    assert gauge.snapshot() == {NS: 1}


@pytest.mark.parametrize(
    ("auth", "reason"),
    [
        ({"token": "stolen-token"}, "Sign-in refused: the token is invalid or expired"),
        ({"token": ""}, "send the access token as auth.token"),
        ({}, "send the access token as auth.token"),
        (None, "send the access token as auth.token"),
    ],
)
async def test_a_bad_or_missing_token_is_refused(
    serve: Serve,
    authenticator: FakeAuthenticator,
    clients: list[socketio.AsyncClient],
    auth: dict[str, Any] | None,
    reason: str,
) -> None:
    gauge = ConnectionGauge()
    sio = build_realtime(
        redis_url=None,
        cors_origins=[],
        authenticator=authenticator,
        namespaces=[DemoNamespace(NS)],
        connections=gauge,
    )
    url = await serve(sio)

    with pytest.raises(socketio.exceptions.ConnectionError, match=reason):
        await connect(url, clients, auth=auth)

    assert gauge.value() == 0


async def test_a_failing_authenticator_refuses_without_leaking_the_error(
    serve: Serve,
    authenticator: FakeAuthenticator,
    clients: list[socketio.AsyncClient],
    caplog: pytest.LogCaptureFixture,
) -> None:
    authenticator.broken = True
    sio = build_realtime(
        redis_url=None, cors_origins=[], authenticator=authenticator, namespaces=[DemoNamespace(NS)]
    )
    url = await serve(sio)

    with (
        caplog.at_level(logging.ERROR, logger="lumiku.realtime"),
        pytest.raises(socketio.exceptions.ConnectionError, match="unavailable right now") as caught,
    ):
        await connect(url, clients, auth={"token": "good-token"})

    assert "database" not in str(caught.value)
    assert "database is down" in caplog.text


async def test_the_root_namespace_is_refused(
    serve: Serve, authenticator: FakeAuthenticator, clients: list[socketio.AsyncClient]
) -> None:
    sio = build_realtime(
        redis_url=None, cors_origins=[], authenticator=authenticator, namespaces=[DemoNamespace(NS)]
    )
    url = await serve(sio)

    with pytest.raises(socketio.exceptions.ConnectionError, match="plugin namespace"):
        await connect(url, clients, auth={"token": "good-token"}, namespace="/")


async def test_http_is_served_on_the_same_port(
    serve: Serve, authenticator: FakeAuthenticator
) -> None:
    sio = build_realtime(
        redis_url=None, cors_origins=[], authenticator=authenticator, namespaces=[]
    )
    url = await serve(sio)

    async with httpx.AsyncClient(base_url=url) as http:
        response = await http.get("/ping")

    assert (response.status_code, response.text) == (200, "pong")


def test_a_namespace_that_skips_sign_in_is_refused(authenticator: FakeAuthenticator) -> None:
    with pytest.raises(TypeError, match="must subclass AuthenticatedNamespace"):
        build_realtime(
            redis_url=None,
            cors_origins=[],
            authenticator=authenticator,
            namespaces=[socketio.AsyncNamespace("/open")],
        )


def test_a_namespace_registered_twice_is_refused(authenticator: FakeAuthenticator) -> None:
    with pytest.raises(ValueError, match="registered twice"):
        build_realtime(
            redis_url=None,
            cors_origins=[],
            authenticator=authenticator,
            namespaces=[DemoNamespace(NS), DemoNamespace(NS)],
        )


def test_overriding_on_connect_is_refused_at_class_definition() -> None:
    with pytest.raises(TypeError, match="override on_authenticated or on_left"):

        class Careless(AuthenticatedNamespace):
            async def on_connect(self, sid: str, environ: Any, auth: Any = None) -> None:
                """Accept everyone."""


def test_publishing_after_the_server_loop_closed_is_logged_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    loop = asyncio.new_event_loop()
    loop.close()
    sio = socketio.AsyncServer(async_mode="asgi")

    with caplog.at_level(logging.WARNING, logger="lumiku.realtime"):
        ServerPublisher(sio, loop).publish("user-1", "x", {}, namespace=NS)

    assert "dropped" in caplog.text


async def test_the_null_publisher_drops_events(
    serve: Serve,
    authenticator: FakeAuthenticator,
    clients: list[socketio.AsyncClient],
    caplog: pytest.LogCaptureFixture,
) -> None:
    sio = build_realtime(
        redis_url=None, cors_origins=[], authenticator=authenticator, namespaces=[DemoNamespace(NS)]
    )
    url = await serve(sio)
    _, events = await connect(url, clients, auth={"token": "good-token"})
    null: Publisher = NullPublisher()
    live = ServerPublisher(sio, asyncio.get_running_loop())

    # A worker without realtime publishes progress (from its thread, as workers do)...
    with caplog.at_level(logging.DEBUG, logger="lumiku"):
        await asyncio.to_thread(
            null.publish, "user-1", "generation:progress", {"done": 1}, namespace=NS
        )
    # ...then a live publisher sends a marker to the same socket. Events arrive in order,
    # so had the first one gone anywhere, it would come before the marker.
    await asyncio.to_thread(live.publish, "user-1", "marker", {}, namespace=NS)

    assert await next_event(events) == ("marker", {})
    assert events.empty()
    # Dropping is the normal state of a process without realtime: no warning, no error.
    assert [r for r in caplog.records if r.name.startswith("lumiku")] == []


async def wait_for_subscriber(redis_url: str, channel: str) -> None:
    """Wait until the server's Redis manager listens on ``channel``."""
    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        for _ in range(250):
            [(_, subscribers)] = await client.pubsub_numsub(channel)
            if subscribers:
                return
            await asyncio.sleep(0.02)
        pytest.fail(f"nobody subscribed to {channel}")
    finally:
        await client.aclose()


@pytest.mark.redis
async def test_a_worker_publishes_through_redis_to_the_users_socket(
    serve: Serve,
    authenticator: FakeAuthenticator,
    clients: list[socketio.AsyncClient],
    redis_server: str,
) -> None:
    channel = f"lumiku-test-{uuid.uuid4().hex[:12]}"
    sio = build_realtime(
        redis_url=redis_server,
        cors_origins=["http://localhost:3000"],
        authenticator=authenticator,
        namespaces=[DemoNamespace(NS)],
        channel=channel,
    )
    url = await serve(sio)
    _, first_events = await connect(url, clients, auth={"token": "good-token"})
    _, second_events = await connect(url, clients, auth={"token": "other-token"})
    await wait_for_subscriber(redis_server, channel)

    # From a worker thread of this process...
    publisher = RedisPublisher(redis_server, channel)
    thread = threading.Thread(
        target=publisher.publish, args=("user-1", "from-thread", {"n": 1}), kwargs={"namespace": NS}
    )
    thread.start()
    await asyncio.to_thread(thread.join)
    publisher.close()
    assert await next_event(first_events) == ("from-thread", {"n": 1})

    # ...and from a worker process.
    script = (
        "import sys; from lumiku.realtime import RedisPublisher; "
        "p = RedisPublisher(sys.argv[1], sys.argv[2]); "
        "p.publish('user-1', 'from-process', {'n': 2}, namespace=sys.argv[3]); "
        "p.publish('user-2', 'marker', {}, namespace=sys.argv[3])"
    )
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-c", script, redis_server, channel, NS], check=True
    )
    assert done.returncode == 0
    assert await next_event(first_events) == ("from-process", {"n": 2})
    assert await next_event(second_events) == ("marker", {})
    assert second_events.empty()
