"""The socket ``lumiku serve`` listens on, bound before anything else starts, and the
"✅ Server started successfully" line, logged once the server answers on it.

Binding first turns a taken port into a one-line error before the app is built (no
startup line claims success and then fails). The startup line is logged by a thread that
asks the server's ``/health`` until an HTTP answer comes and, with ``--workers N``, until
every worker finished its startup (``lumiku.http.ready``), so it is true when it appears.
A worker that does not come up within ``patience`` seconds is said as such ("1 of 2
workers ready"), and the success line still comes once they all are.
"""

from __future__ import annotations

import errno
import http.client
import logging
import socket
import threading
import time
from pathlib import Path

from lumiku.http.ready import ready_workers

logger = logging.getLogger("lumiku")

STARTED = "✅ Server started successfully"
_BACKLOG = 2048  # uvicorn's default
_REASONS = {
    errno.EADDRINUSE: (
        "the address is already in use (another process listens there: stop it, or choose "
        "another port with --port or PORT)"
    ),
    errno.EACCES: "permission denied (ports below 1024 need privileges: choose a higher port)",
    errno.EADDRNOTAVAIL: "this machine has no such address (check --host or HOST)",
}


class ListenError(Exception):
    """The server cannot listen on the address it was given; the message says why."""


def url_of(host: str, port: int) -> str:
    """Return ``http://host:port`` (IPv6 addresses in brackets)."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def bind(host: str, port: int) -> socket.socket:
    """Return a socket bound to ``host:port`` and listening (port 0: one the OS picks).

    Raises ``ListenError`` with a one-line reason (address in use, permission denied,
    unknown host, no such address).
    """
    where = f"{host}:{port}" if ":" not in host else f"[{host}]:{port}"
    try:
        family, _, _, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.create_server(address[:2], family=family, backlog=_BACKLOG)
    except socket.gaierror:
        raise ListenError(
            f"cannot listen on {where}: unknown host (check --host or HOST)"
        ) from None
    except OSError as exc:
        reason = _REASONS.get(exc.errno or 0, exc.strerror or str(exc))
        raise ListenError(f"cannot listen on {where}: {reason}") from None
    sock.set_inheritable(True)  # uvicorn's worker processes serve the same socket
    return sock


def _probe_host(host: str) -> str:
    """Return the address to reach a server bound to ``host`` from this machine."""
    return {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)  # noqa: S104 - names, not binds


def answers(host: str, port: int, timeout: float = 2.0) -> int | None:
    """Return the status of ``GET /health`` on ``host:port``, or ``None`` if no HTTP answer."""
    connection = http.client.HTTPConnection(_probe_host(host), port, timeout=timeout)
    try:
        connection.request("GET", "/health")
        return connection.getresponse().status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        connection.close()


class StartupAnnouncer:
    """Log ``✅ Server started successfully`` once the server on ``host:port`` answers HTTP
    and each of its ``workers`` marked itself ready in ``ready_dir`` (when ``workers > 1``).

    ``start()`` runs the probe in a daemon thread (every ``interval`` seconds); ``stop()``
    ends it (the server stopped before it ever answered: nothing is logged). Answering but
    with workers missing after ``patience`` seconds logs one ⚠️ line saying how many are
    ready, and the success line follows if the rest come up.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        workers: int = 1,
        ready_dir: Path | None = None,
        interval: float = 0.2,
        patience: float = 30.0,
    ) -> None:
        self.host = host
        self.port = port
        self.workers = workers
        self.ready_dir = ready_dir
        self.interval = interval
        self.patience = patience
        self.announced = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lumiku-startup", daemon=True)

    def start(self) -> None:
        """Start probing."""
        self._thread.start()

    def stop(self) -> None:
        """Stop probing and wait for the thread."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _ready(self) -> int:
        if self.workers <= 1 or self.ready_dir is None:
            return self.workers
        return ready_workers(self.ready_dir)

    def _run(self) -> None:
        first_answer: float | None = None
        warned = False
        while not self._stop.is_set():
            started = time.monotonic()
            status = answers(self.host, self.port)
            ready = self._ready() if status is not None else 0
            url = url_of(self.host, self.port)
            if status is not None and ready < self.workers and not self._stop.is_set():
                first_answer = first_answer or started
                if not warned and started - first_answer >= self.patience:
                    logger.warning(
                        "⚠️ Server answering on %s, but only %d of %d workers ready: see the "
                        "lines above",
                        url,
                        ready,
                        self.workers,
                    )
                    warned = True
            elif status is not None and not self._stop.is_set():
                if status < 500:
                    workers = f" ({self.workers} of {self.workers} workers ready)"
                    logger.info("%s on %s%s", STARTED, url, workers if self.workers > 1 else "")
                else:
                    logger.warning(
                        "⚠️ Server answering on %s, but /health says %d: see the lines above",
                        url,
                        status,
                    )
                self.announced.set()
                return
            self._stop.wait(max(0.0, self.interval - (time.monotonic() - started)))
