"""Real ``lumiku serve`` and ``lumiku worker`` processes for system tests, stopped by id.

The ``lumiku_processes`` fixture starts them; each has a log file and runs in a session of
its own, so a test can signal one (``SIGTERM``) or kill it with its children (``kill()``:
``SIGKILL`` to its process group, as when its machine dies)::

    def test_a_node_answers(lumiku_processes, lumiku_env, make_app):
        make_app()  # migrates the test's database
        port = free_port()
        node = lumiku_processes.start("node", "serve", "--port", str(port), env=lumiku_env)
        url = f"http://127.0.0.1:{port}"
        wait_ready(url, node)

Plugins written for a test are installed for those processes with ``install_plugins``
(an entry point on a folder put on their ``PYTHONPATH``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import attrs
import httpx

__all__ = [
    "LumikuProcess",
    "LumikuProcesses",
    "install_plugins",
    "lumiku_command",
    "process_env",
    "wait_ready",
]


def lumiku_command() -> list[str]:
    """Return the command line of the ``lumiku`` CLI of this environment."""
    script = Path(sys.executable).parent / "lumiku"
    return [str(script)] if script.exists() else [sys.executable, "-m", "lumiku.cli.main"]


def process_env(*layers: Mapping[str, str], pythonpath: str | None = None) -> dict[str, str]:
    """Return this process's environment with ``layers`` on top (later ones win) and
    ``pythonpath`` before the inherited ``PYTHONPATH``."""
    env = dict(os.environ)
    for layer in layers:
        env.update(layer)
    if pythonpath:
        inherited = os.environ.get("PYTHONPATH")
        env["PYTHONPATH"] = pythonpath + (os.pathsep + inherited if inherited else "")
    return env


@attrs.frozen
class LumikuProcess:
    """A started ``lumiku`` process (the leader of its own session) and its log."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        """Return the process id."""
        return self.process.pid

    def log_text(self) -> str:
        """Return what the process logged so far."""
        return self.log.read_text(errors="replace")

    def signal(self, signum: int) -> None:
        """Send ``signum`` to this process only (not its children)."""
        self.process.send_signal(signum)

    def kill(self) -> None:
        """Kill the process and every process of its group at once (``SIGKILL``)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def wait(self, timeout: float) -> int:
        """Wait up to ``timeout`` seconds for the process to exit; return its status.

        Raises ``subprocess.TimeoutExpired`` when it is still running.
        """
        return self.process.wait(timeout=timeout)


class LumikuProcesses:
    """Start ``lumiku`` commands with logs under ``folder``; ``stop_all`` ends them by id."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.started: list[LumikuProcess] = []

    def start(self, name: str, *arguments: str, env: Mapping[str, str]) -> LumikuProcess:
        """Run ``lumiku <arguments>`` with exactly ``env`` (see ``process_env``)."""
        log = self.folder / f"{name}.log"
        with log.open("ab") as sink:
            process = subprocess.Popen(  # noqa: S603 - our own CLI with the test's arguments
                [*lumiku_command(), *arguments],
                env=dict(env),
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.started.append(LumikuProcess(name, process, log))
        return self.started[-1]

    def stop_all(self, timeout: float = 30.0) -> None:
        """Send ``SIGTERM`` to every process still running, then kill those that linger."""
        running = [item for item in self.started if item.process.poll() is None]
        for item in running:
            item.process.terminate()
        for item in running:
            try:
                item.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                item.kill()
        for item in self.started:  # children a killed leader left behind
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(item.process.pid, signal.SIGKILL)


def wait_ready(url: str, node: LumikuProcess, timeout: float = 90.0) -> None:
    """Wait until ``node`` answers ``<url>/health/readiness`` with 200.

    Raises ``AssertionError`` (with the end of its log) when it exits or is not ready
    within ``timeout`` seconds.
    """
    wait_process_ready(url, node.process, node.log_text, node.name, timeout)


def wait_process_ready(
    url: str,
    process: subprocess.Popen[Any],
    log_text: Callable[[], str],
    name: str | None = None,
    timeout: float = 90.0,
) -> None:
    """Wait until the server ``process`` answers ``<url>/health/readiness`` with 200.

    Raises ``AssertionError`` (with the end of ``log_text()``) when it exits or is not ready
    within ``timeout`` seconds.
    """
    name = name or url
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise AssertionError(f"{name} exited:\n{log_text()[-4000:]}")
        try:
            if httpx.get(f"{url}/health/readiness", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{name} did not get ready:\n{log_text()[-4000:]}")
        time.sleep(0.2)


def install_plugins(site: Path, distribution: str, entry_points: Mapping[str, str]) -> str:
    """Write a distribution's metadata declaring ``entry_points`` (plugin id -> ``module:spec``)
    under ``lumiku.plugins`` into ``site``; return ``site`` as a string, for ``PYTHONPATH``.

    The modules named must be importable by the processes: put them in ``site`` or on
    their ``PYTHONPATH`` too.
    """
    site.mkdir(parents=True, exist_ok=True)
    info = site / f"{distribution.replace('-', '_')}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {distribution}\nVersion: 0.1\n")
    lines = "".join(f"{plugin_id} = {target}\n" for plugin_id, target in entry_points.items())
    (info / "entry_points.txt").write_text(f"[lumiku.plugins]\n{lines}")
    return str(site)
