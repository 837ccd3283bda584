"""Headers and slow clients on a real ``lumiku serve``: 431 over 16 KiB of headers, header
and body read timeouts (slowloris), the concurrency limit; ``/health`` keeps answering."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable

import httpx

from .conftest import LiveServer

LIMIT = 16 * 1024


def connect(server: LiveServer) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=30)


def read_answer(sock: socket.socket) -> bytes:
    """Read until the server closes (or resets) the connection."""
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except (ConnectionResetError, TimeoutError):
        pass
    return received


def status_and_body(answer: bytes) -> tuple[int, dict[str, object]]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), json.loads(body)


def health_latency(server: LiveServer) -> float:
    started = time.perf_counter()
    response = httpx.get(f"{server.url}/health", timeout=10)
    assert response.status_code in (200, 503), response.text
    return time.perf_counter() - started


def test_headers_over_the_limit_are_431_in_the_error_shape(
    live_server: Callable[..., LiveServer],
) -> None:
    server = live_server()
    shapes = {
        "one long header": [(b"X-Long", b"a" * (LIMIT + 1))],
        "many small headers": [(b"X-H%d" % n, b"v" * 100) for n in range(200)],
        "a long cookie": [(b"Cookie", b"session=" + b"c" * LIMIT)],
    }
    for name, headers in shapes.items():
        sock = connect(server)
        lines = b"".join(k + b": " + v + b"\r\n" for k, v in headers)
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\n" + lines + b"\r\n")
        status, body = status_and_body(read_answer(sock))
        assert status == 431, name
        assert body["error"]["code"] == "HEADERS_TOO_LARGE"  # type: ignore[index]
        sock.close()
    # A long URL counts too.
    sock = connect(server)
    sock.sendall(b"GET /health?" + b"q" * (LIMIT + 1) + b" HTTP/1.1\r\nHost: t\r\n\r\n")
    assert status_and_body(read_answer(sock))[0] == 431
    # Just under the limit is served.
    response = httpx.get(f"{server.url}/health", headers={"X-Fill": "a" * (LIMIT - 1024)})
    assert response.status_code in (200, 503)


def test_a_100_mb_header_is_cut_early_and_health_keeps_answering(
    live_server: Callable[..., LiveServer],
) -> None:
    server = live_server()
    sock = connect(server)
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\nX-Huge: ")
    chunk = b"h" * 65536
    sent = 0
    started = time.perf_counter()
    try:
        while sent < 100 * 1024 * 1024:
            sock.sendall(chunk)
            sent += len(chunk)
    except (BrokenPipeError, ConnectionResetError):
        pass
    elapsed = time.perf_counter() - started
    answer = read_answer(sock)
    sock.close()
    # The server stopped reading long before 100 MB (the kernel buffers a few MB at most).
    assert sent < 20 * 1024 * 1024, sent
    assert elapsed < 10
    assert answer == b"" or answer.startswith(b"HTTP/1.1 431")
    latency = health_latency(server)
    print(
        f"\n100 MB header: cut after {sent / 1024 / 1024:.1f} MB in {elapsed:.2f} s; "
        f"/health then {latency:.3f} s"
    )
    assert latency < 1.0


def test_slow_headers_are_closed_by_the_header_timeout(
    live_server: Callable[..., LiveServer],
) -> None:
    server = live_server(SERVER_HEADER_TIMEOUT="2")
    slow: list[socket.socket] = []
    for _ in range(220):
        sock = connect(server)
        sock.sendall(b"GET /health HTTP/1.1\r\n")
        slow.append(sock)
    stop = threading.Event()

    def trickle() -> None:  # a byte every second per connection, as slowloris does
        while not stop.wait(1.0):
            for sock in slow:
                with contextlib.suppress(OSError):
                    sock.send(b"X")

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    try:
        latencies = [health_latency(server) for _ in range(5)]
        print(f"\n220 slowloris connections: /health slowest {max(latencies):.3f} s")
        assert max(latencies) < 1.0, latencies
        time.sleep(3.5)
        closed = 0
        for sock in slow:
            sock.settimeout(5)
            answer = read_answer(sock)
            if answer == b"" or answer.startswith(b"HTTP/1.1 408"):
                closed += 1
        assert closed == len(slow)
    finally:
        stop.set()
        thread.join()
        for sock in slow:
            sock.close()
    assert health_latency(server) < 1.0


def test_an_idle_connection_is_closed_by_the_header_timeout(
    live_server: Callable[..., LiveServer],
) -> None:
    server = live_server(SERVER_HEADER_TIMEOUT="1")
    sock = connect(server)
    started = time.perf_counter()
    answer = read_answer(sock)
    assert time.perf_counter() - started < 5
    assert answer.startswith(b"HTTP/1.1 408")


def test_a_trickling_body_is_closed_by_the_body_timeout(
    live_server: Callable[..., LiveServer],
) -> None:
    server = live_server(SERVER_BODY_TIMEOUT="2")
    sock = connect(server)
    sock.sendall(
        b"POST /api/auth/login HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000\r\n\r\n{"
    )
    started = time.perf_counter()
    sock.settimeout(1.5)
    closed_after = None
    for _ in range(20):  # a byte every 1.5 s, far below the minimum rate
        try:
            if sock.recv(65536) == b"":
                closed_after = time.perf_counter() - started
                break
        except TimeoutError:
            pass
        except ConnectionResetError:
            closed_after = time.perf_counter() - started
            break
        try:
            sock.send(b" ")
        except OSError:
            closed_after = time.perf_counter() - started
            break
    sock.close()
    assert closed_after is not None
    assert closed_after < 8, closed_after
    # A steady body within the rate is read completely (and answered).
    response = httpx.post(
        f"{server.url}/api/auth/login",
        json={"email": "nobody@example.test", "password": "x" * 12},
        timeout=10,
    )
    assert response.status_code in (401, 422, 429)


def test_past_the_concurrency_limit_requests_get_503_with_retry_after(
    live_server: Callable[..., LiveServer],
) -> None:
    server = live_server(SERVER_MAX_CONCURRENCY="4")
    held = [connect(server) for _ in range(4)]
    try:
        time.sleep(0.2)
        response = httpx.get(f"{server.url}/health", timeout=10)
        assert response.status_code == 503
        assert response.headers["retry-after"] == "1"
        assert response.json()["error"]["code"] == "SERVER_BUSY"
    finally:
        for sock in held:
            sock.close()
    time.sleep(0.3)
    assert httpx.get(f"{server.url}/health", timeout=10).status_code in (200, 503)


def test_worker_processes_get_the_limits_too(live_server: Callable[..., LiveServer]) -> None:
    server = live_server(workers=2, SERVER_MAX_HEADER_BYTES="4096")
    for _ in range(4):  # whichever worker accepts the connection
        sock = connect(server)
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\nX-Long: " + b"a" * 5000 + b"\r\n\r\n")
        status, body = status_and_body(read_answer(sock))
        sock.close()
        assert status == 431
        assert body["error"]["details"] == {"limit": 4096}  # type: ignore[index]


def test_a_pipelined_request_over_the_limit_is_refused_after_the_answer_before_it(
    live_server: Callable[..., LiveServer],
) -> None:
    server = live_server()
    sock = connect(server)
    first = b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n"
    second = b"GET /health HTTP/1.1\r\nHost: t\r\nX-Long: " + b"a" * (LIMIT + 1) + b"\r\n\r\n"
    sock.sendall(first + second)
    answer = read_answer(sock)
    sock.close()
    assert answer.startswith((b"HTTP/1.1 200", b"HTTP/1.1 503"))
    assert answer.count(b"HTTP/1.1 ") == 2
    assert b"HTTP/1.1 431" in answer
    assert answer.rstrip().endswith(b"}")
