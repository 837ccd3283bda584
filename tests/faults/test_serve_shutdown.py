"""``lumiku serve`` stopped by a real SIGTERM: it stops accepting at once, finishes the
requests in flight, then exits; a request still running at the deadline is cut and the
process exits anyway.

A request is held in flight by the probe plugin's ``/slow``, which answers once the test
creates its ``release`` file: nothing here depends on timing.
"""

from __future__ import annotations

import signal
import threading
from concurrent.futures import Future
from typing import Any

import httpx
import pytest

from lumiku.testing import sign_up
from lumiku.testing.pytest_plugin import test_backend

from .conftest import PROBE, SocketClient, System, until

pytestmark = [
    pytest.mark.slow,
    # The database plays no part: the SQLite suite runs them, the PostgreSQL one need not.
    pytest.mark.skipif(test_backend() != "sqlite", reason="no database in play: SQLite suite"),
]


def in_flight(url: str, path: str) -> Future[httpx.Response | Exception]:
    """Send ``GET path`` from a thread; the future holds its response (or error)."""
    future: Future[httpx.Response | Exception] = Future()

    def send() -> None:
        try:
            future.set_result(httpx.get(url + path, timeout=120))
        except httpx.HTTPError as exc:
            future.set_result(exc)

    threading.Thread(target=send, daemon=True).start()
    return future


# uvicorn re-raises the signal it caught once it has shut down, so a clean stop ends "killed
# by SIGTERM", which systemd and supervisors count as a clean exit, like status 0.
CLEAN_EXITS = (0, -signal.SIGTERM)


def refused(url: str) -> bool:
    """Return whether a new connection to ``url`` gets no answer."""
    try:
        httpx.get(f"{url}/health/liveness", timeout=2)
    except httpx.HTTPError:
        return True
    return False


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_stops_accepting_and_finishes_the_request_in_flight(
    system: System, workers: int
) -> None:
    # A deadline far away: what ends the node is its requests finishing, not the deadline.
    url, node = system.serve(workers=workers, SERVER_SHUTDOWN_TIMEOUT="600")
    with httpx.Client(base_url=url, timeout=30) as http:
        token = sign_up(http, "listener").token
    socket = SocketClient(url, token)
    slow = in_flight(url, f"{PROBE}/slow")
    until(lambda: (system.folder / "slow-started-1").exists(), 30, "the slow request started")

    node.signal(signal.SIGTERM)
    until(lambda: refused(url), 15, "new connections refused after SIGTERM")
    assert node.process.poll() is None, "the node exited with a request in flight"
    assert not slow.done()

    (system.folder / "release").touch()
    answer = slow.result(timeout=60)
    assert isinstance(answer, httpx.Response), answer
    assert answer.status_code == 200, answer.text
    # The realtime connection does not hold the node up: it is closed, and the node exits.
    assert node.wait(timeout=60) in CLEAN_EXITS, node.log_text()[-3000:]
    until(lambda: not socket.connected, 10, "the socket closed by the stopping node")
    socket.close()
    log = node.log_text()
    assert "Traceback" not in log, log[-3000:]


def test_a_request_still_running_at_the_deadline_is_cut_and_the_node_exits(
    system: System,
) -> None:
    url, node = system.serve(SERVER_SHUTDOWN_TIMEOUT="2")
    slow = in_flight(url, f"{PROBE}/slow")  # never released: it would wait two minutes
    until(lambda: (system.folder / "slow-started-1").exists(), 30, "the slow request started")

    node.signal(signal.SIGTERM)
    assert node.wait(timeout=60) in CLEAN_EXITS, node.log_text()[-3000:]
    answer: Any = slow.result(timeout=30)
    # The client learns that its request did not complete and may send it again.
    assert isinstance(answer, httpx.Response), answer
    assert answer.status_code == 503, answer.text
    assert answer.json()["error"]["code"] == "SERVER_STOPPING"
    assert answer.headers["retry-after"] == "1"
    log = node.log_text()
    assert "GET /api/apps/lkt-probe/slow was cut: the server is stopping" in log, log[-3000:]
    assert "Traceback" not in log, log[-3000:]
