"""A real ``lumiku serve`` in a process of its own, on a free port, for the resource tests.

``live_server(**env)`` migrates the test's database, starts the server with the test's
environment plus ``env`` and waits until ``/health`` answers; the server is stopped (by its
process id) after the test. ``rss(pid)`` reads a process's resident memory from ``/proc``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import attrs
import httpx
import pytest

from lumiku.testing.app import runtime_of
from lumiku.testing.server import free_port


@attrs.frozen
class LiveServer:
    """A running ``lumiku serve``: its base URL, port, process and log file."""

    url: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        """Return the server's process id."""
        return self.process.pid

    def log_text(self) -> str:
        """Return what the server logged so far."""
        return self.log.read_text(errors="replace")


def rss(pid: int) -> int:
    """Return the resident memory of process ``pid`` in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def peak_rss(pid: int) -> int:
    """Return the peak resident memory (VmHWM) of process ``pid`` in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmHWM for process {pid}")


def reset_peak_rss(pid: int) -> None:
    """Reset the peak resident memory of ``pid`` to its current value (Linux 4.0+)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def _lumiku_command() -> list[str]:
    script = Path(sys.executable).parent / "lumiku"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "lumiku.cli.main"]


@pytest.fixture
def live_server(
    lumiku_env: dict[str, str], make_app: Callable[..., object], tmp_path: Path
) -> Iterator[Callable[..., LiveServer]]:
    """Return ``start(*, workers=1, **env)``: a migrated ``lumiku serve`` on a free port."""
    started: list[subprocess.Popen[bytes]] = []

    def start(*, workers: int = 1, **env: str) -> LiveServer:
        app = make_app(**env)  # migrates the database for the server's plugins
        runtime_of(app).engine.dispose()  # type: ignore[arg-type]
        port = free_port()
        log = tmp_path / f"server-{port}.log"
        environ = {**os.environ, **lumiku_env, **env, "PORT": str(port), "HOST": "127.0.0.1"}
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [*_lumiku_command(), "serve", "--port", str(port), "--workers", str(workers)],
                env=environ,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        started.append(process)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"lumiku serve exited:\n{log.read_text(errors='replace')}")
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code < 600:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"lumiku serve did not answer:\n{log.read_text()}")
            time.sleep(0.1)
        return LiveServer(url, port, process, log)

    yield start
    for process in started:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)
