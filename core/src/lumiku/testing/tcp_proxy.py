"""A TCP proxy a test controls, to make a server (PostgreSQL) unreachable for a while.

    with TcpProxy("127.0.0.1", 5432) as proxy:
        url = database_url.replace("127.0.0.1:5432", proxy.address)
        ...                 # the app talks to the database through the proxy
        proxy.cut()         # every connection reset, new ones refused: a crashed server
        proxy.stall()       # or: bytes stop flowing, connections hang: a partitioned network
        proxy.restore()     # the server is reachable again

It listens on a free port of 127.0.0.1 and forwards each connection with two threads.
"""

from __future__ import annotations

import contextlib
import enum
import select
import socket
import struct
import threading
import time
from types import TracebackType

__all__ = ["ProxyMode", "TcpProxy"]

_POLL = 0.05  # seconds a pump or the listener waits before looking at the mode again


class ProxyMode(enum.Enum):
    """What the proxy does with connections."""

    FORWARD = "forward"
    CUT = "cut"
    """Reset every open connection and every new one at once."""
    STALL = "stall"
    """Accept new connections and keep open ones, but pass no byte either way."""


def _reset(sock: socket.socket) -> None:
    """Close ``sock`` with a TCP reset (not a polite FIN), as a crashed peer would."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class TcpProxy:
    """Forward ``127.0.0.1:<port>`` to ``(host, port)`` until closed; switch modes at will."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.mode = ProxyMode.FORWARD
        self.accepted = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(_POLL)
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept, name=f"proxy-{self.port}", daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        """Return ``127.0.0.1:<port>``, to put in a URL instead of the target's."""
        return f"127.0.0.1:{self.port}"

    def cut(self) -> None:
        """Reset every open connection; refuse (reset) new ones until ``restore``."""
        with self._lock:
            self.mode = ProxyMode.CUT
            pairs, self._pairs = self._pairs, []
        for client, server in pairs:
            _reset(client)
            _reset(server)

    def stall(self) -> None:
        """Stop passing bytes; connections open and accepted meanwhile hang until ``restore``."""
        with self._lock:
            self.mode = ProxyMode.STALL

    def restore(self) -> None:
        """Forward again (connections that were stalled carry on)."""
        with self._lock:
            self.mode = ProxyMode.FORWARD

    def close(self) -> None:
        """Stop listening and reset every connection."""
        self._closed.set()
        self.cut()
        self._thread.join(timeout=10)
        self._listener.close()

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            if self.mode is ProxyMode.CUT:
                _reset(client)
                continue
            threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _connect(self, client: socket.socket) -> None:
        # A stalled network: the connection is accepted, but nothing gets through yet.
        while self.mode is ProxyMode.STALL and not self._closed.is_set():
            time.sleep(_POLL)
        try:
            server = socket.create_connection(self.target, timeout=5)
        except OSError:
            _reset(client)
            return
        with self._lock:
            if self.mode is ProxyMode.CUT:
                _reset(client)
                _reset(server)
                return
            self._pairs.append((client, server))
        pair = (client, server)
        for source, sink in (pair, (server, client)):
            threading.Thread(target=self._pump, args=(pair, source, sink), daemon=True).start()

    def _pump(
        self,
        pair: tuple[socket.socket, socket.socket],
        source: socket.socket,
        sink: socket.socket,
    ) -> None:
        try:
            self._forward(source, sink)
        finally:
            # One side hung up (or was reset): the connection is over both ways.
            with self._lock:
                if pair in self._pairs:
                    self._pairs.remove(pair)
            for sock in pair:
                sock.close()

    def _forward(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                if self.mode is ProxyMode.STALL:
                    time.sleep(_POLL)
                    continue
                readable, _, _ = select.select([source], [], [], _POLL)
                if not readable:
                    if source.fileno() < 0:
                        return
                    continue
                data = source.recv(65536)
                if not data:
                    return
                sink.sendall(data)
        except (OSError, ValueError):  # reset by cut(), or closed by the other pump
            return
