"""``lumiku serve`` in a real subprocess: the port is bound before anything claims success,
a taken port is one ``❌`` line and exit 1, and ``✅ Server started successfully`` is logged
only once the server answers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from lumiku.cli.listening import ListenError, bind
from lumiku.testing import OPERATOR_HEADERS

pytestmark = pytest.mark.slow


def _serve(env: dict[str, str], *argv: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "lumiku.cli.main", "serve", *argv],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _environment(lumiku_env: dict[str, str]) -> dict[str, str]:
    # No plugin: the test is about the server, and it boots faster.
    return {
        **lumiku_env,
        "LUMIKU_PLUGINS": "",
        "LUMIKU_ENV": "test",
        "LUMIKU_METRICS_TOKEN": OPERATOR_HEADERS["Authorization"].removeprefix("Bearer "),
    }


def test_a_taken_port_is_one_line_and_exit_1_with_no_success_line(
    lumiku_env: dict[str, str], database_url: str
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        process = _serve(_environment(lumiku_env), "--host", "127.0.0.1", "--port", str(port))
        out, _ = process.communicate(timeout=60)
    assert process.returncode == 1, out
    assert "✅" not in out
    failures = [line for line in out.splitlines() if line.startswith("❌")]
    assert failures == [
        f"❌ cannot listen on 127.0.0.1:{port}: the address is already in use (another "
        "process listens there: stop it, or choose another port with --port or PORT)"
    ]
    assert "Traceback" not in out


@pytest.mark.parametrize("workers", ["1", "2"])
def test_the_success_line_comes_once_the_server_answers(
    lumiku_env: dict[str, str], migrated_database_url: str, tmp_path: Path, workers: str
) -> None:
    # Migrated: a server whose core tables are missing says /health is down (no ✅ line).
    env = {**_environment(lumiku_env), "DATABASE_URL": migrated_database_url}
    process = _serve(env, "--host", "127.0.0.1", "--port", "0", "--workers", workers)
    lines: list[str] = []
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 60
        started = None
        for line in process.stdout:
            lines.append(line)
            if "✅ Server started successfully on " in line:
                started = line
                break
            assert time.monotonic() < deadline, "".join(lines)
        assert started is not None, "".join(lines)
        url = started.split(" on ", 1)[1].split()[0]
        assert url.startswith("http://127.0.0.1:")
        # When the line is there, the server answers on the address it names, and every
        # worker finished its startup (each logs its own "Application started").
        assert httpx.get(url + "/health", timeout=5).status_code == 200
        before = "".join(lines[:-1])
        assert before.count("✅ Application started (0 plugins serving)") == int(workers)
        if workers == "2":
            assert started.rstrip().endswith(f"on {url} (2 of 2 workers ready)")
        else:
            assert started.rstrip().endswith(f"on {url}")
        # The detailed health page names no port: PORT is not the one served after --port.
        detailed = httpx.get(url + "/health/detailed", headers=OPERATOR_HEADERS, timeout=5)
        assert detailed.status_code == 200
        assert "port" not in detailed.json()["settings"]
    finally:
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=60)
    assert process.returncode == 0, "".join(lines) + out


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("host.invalid", "unknown host (check --host or HOST)"),
        ("192.0.2.1", "this machine has no such address (check --host or HOST)"),
    ],
)
def test_the_other_bind_failures_are_named(host: str, reason: str) -> None:
    with pytest.raises(ListenError) as raised:
        bind(host, 0)
    assert str(raised.value) == f"cannot listen on {host}:0: {reason}"


def test_a_bound_socket_listens_at_once() -> None:
    with bind("127.0.0.1", 0) as sock, socket.create_connection(sock.getsockname(), timeout=2):
        pass  # accepted by the kernel into the backlog: the port is ours from now on


def test_the_success_line_waits_for_every_worker_and_says_how_many_are_ready(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import http.server
    import logging
    import threading

    from lumiku.cli.listening import StartupAnnouncer

    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    caplog.set_level(logging.INFO, logger="lumiku")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    (tmp_path / str(os.getpid())).touch()  # one worker (a live process) is ready
    announcer = StartupAnnouncer(
        "127.0.0.1", port, workers=2, ready_dir=tmp_path, interval=0.02, patience=0.1
    )
    announcer.start()
    try:
        deadline = time.monotonic() + 10
        while "only 1 of 2 workers ready" not in caplog.text:
            assert time.monotonic() < deadline, caplog.text
            time.sleep(0.02)
        assert "✅ Server started successfully" not in caplog.text
        (tmp_path / str(os.getppid())).touch()  # the second one
        assert announcer.announced.wait(10)
    finally:
        announcer.stop()
        server.shutdown()
        server.server_close()
    assert f"✅ Server started successfully on http://127.0.0.1:{port} (2 of 2 workers ready)" in (
        caplog.text
    )
