"""Plugins the fault tests install into their ``lumiku serve`` and ``lumiku worker`` processes.

Each writes what it did under the folder named by ``LKT_FAULTS_DIR``, so the test (another
process) can see it:

- ``lkt_probe``: ``POST /spend`` (1 credit, no rate limit), ``GET /slow`` (answers once the
  test creates ``release``; it touches ``slow-started-<n>`` when it begins), ``GET /ping``
  (no database, no Redis).
- ``lkt_waiter``: needs Redis (hard); its ``startup`` appends the process id to
  ``startups.log``; ``GET /hello``.
- ``lkt_slow_provider``: the image provider ``slow``, the local one taking
  ``LKT_RENDER_SECONDS`` (default 0.3) per image and appending ``<pid> <seed>`` to
  ``renders.log``.
"""

from __future__ import annotations

import itertools
import os
import time
import uuid
from pathlib import Path
from typing import Any

import attrs

from lumiku import (
    Call,
    GeneratedImage,
    ImageProvider,
    ImageRequest,
    PluginContext,
    get,
    hard,
    post,
)
from lumiku.images import LocalImageProvider
from lumiku.testing import define_plugin

SLOW_REQUEST_LIMIT = 120.0
"""Seconds ``/slow`` waits for ``release`` at most (a test that failed must not hang)."""


def folder() -> Path:
    """Return the folder the test named in ``LKT_FAULTS_DIR``."""
    return Path(os.environ["LKT_FAULTS_DIR"])


def append(name: str, line: str) -> None:
    """Append ``line`` to the file ``name`` of the test's folder."""
    with (folder() / name).open("a", encoding="utf-8") as file:
        file.write(line + "\n")


@attrs.frozen
class Spent:
    """The balance after a spend."""

    balance: int


@attrs.frozen
class Released:
    """What ``/slow`` answers: the request's number in this process."""

    number: int


@attrs.frozen
class Pong:
    """What ``/ping`` and ``/hello`` answer."""

    plugin: str
    pid: int


_numbers = itertools.count(1)


def probe_routes(ctx: PluginContext) -> list[Any]:
    """Return ``/spend``, ``/slow`` and ``/ping``."""

    def spend(call: Call[None, None]) -> Spent:
        key = f"lkt_probe:{call.user_id}:{uuid.uuid4().hex}"
        entry = ctx.ledger.spend(call.user_id, 1, "fault test spend", key, plugin=ctx.id)
        return Spent(entry.balance_after)

    def slow(_call: Call[None, None]) -> Released:
        number = next(_numbers)
        (folder() / f"slow-started-{number}").touch()
        deadline = time.monotonic() + SLOW_REQUEST_LIMIT
        while not (folder() / "release").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        return Released(number)

    def ping(_call: Call[None, None]) -> Pong:
        return Pong(ctx.id, os.getpid())

    return [
        post("/spend", spend, response=Spent, auth="user"),
        get("/slow", slow, response=Released),
        get("/ping", ping, response=Pong),
    ]


def waiter_routes(ctx: PluginContext) -> list[Any]:
    """Return ``/hello``."""

    def hello(_call: Call[None, None]) -> Pong:
        return Pong(ctx.id, os.getpid())

    return [get("/hello", hello, response=Pong)]


def waiter_startup(ctx: PluginContext) -> None:
    """Record that this process started the plugin."""
    append("startups.log", f"{os.getpid()} {ctx.id}")


class SlowProvider(ImageProvider):
    """The local provider, slowed down, recording each render."""

    name = "slow"

    def __init__(self) -> None:
        self._inner = LocalImageProvider()
        self._seconds = float(os.environ.get("LKT_RENDER_SECONDS", "0.3"))

    def generate(self, request: ImageRequest) -> GeneratedImage:
        """Render as the local provider does, ``LKT_RENDER_SECONDS`` later."""
        time.sleep(self._seconds)
        append("renders.log", f"{os.getpid()} {request.seed}")
        return self._inner.generate(request)


probe = define_plugin("lkt_probe", register_routes=probe_routes)
waiter = define_plugin(
    "lkt_waiter", requires=[hard("redis")], register_routes=waiter_routes, startup=waiter_startup
)
slow_provider = define_plugin(
    "lkt_slow_provider", register_image_providers=lambda: {"slow": SlowProvider()}
)
