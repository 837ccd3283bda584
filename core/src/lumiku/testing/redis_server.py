"""A ``redis-server`` of a test's own on a free port: to stop, restart empty or password.

The shared test Redis (``redis_server``) is enough for keys under a unique prefix. A test
that stops Redis, restarts it empty, or needs a password starts one of its own::

    def test_jobs_survive_a_redis_restart(private_redis, make_client):
        redis = private_redis()
        client = make_client([spec], REDIS_ENABLED="true", REDIS_URL=redis.url)
        ...
        redis.stop()
        redis.start()  # back, and empty
        redis.pause()  # hung: SIGSTOP
        redis.resume()
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from pathlib import Path

import redis

from lumiku.testing.server import free_port

__all__ = ["RedisProcess"]


class RedisProcess:
    """A ``redis-server`` started on a free port of 127.0.0.1; stop it with :meth:`stop`."""

    def __init__(self, workdir: Path, password: str | None = None) -> None:
        self.port = free_port()
        self.password = password
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Return ``redis://[:password@]127.0.0.1:<port>/0``."""
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start the server (again, empty) on its port and wait until it answers."""
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (it is not on PATH)")
        command = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        command += ["--appendonly", "no", "--dir", str(self.workdir)]
        if self.password:
            command += ["--requirepass", self.password]
        self.process = subprocess.Popen(  # noqa: S603 - a fixed binary with our own arguments
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.2)
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    if client.ping():
                        return
                except redis.RedisError:
                    if time.monotonic() > deadline or self.process.poll() is not None:
                        raise
                time.sleep(0.02)
        finally:
            client.close()

    def pause(self) -> None:
        """Freeze the server (``SIGSTOP``): connections open, nothing answers (a hung Redis)."""
        if self.process is not None:
            self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """Let a paused server answer again (``SIGCONT``), its data intact."""
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        """Stop the server this object started (by its process id), paused or not."""
        if self.process is None:
            return
        self.resume()  # a stopped process would not act on SIGTERM
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None
