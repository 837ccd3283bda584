"""The client's address behind trusted proxies: one rule for the throttle, limits and logs.

``X-Forwarded-For`` is read only when the direct peer is a trusted proxy
(``LUMIKU_TRUSTED_PROXIES``; loopback by default). The header is walked from the right
(the hop nearest to us) and the first address that is not a trusted proxy is the client:
everything to its left was written by the client itself and may be forged. When every hop
is trusted, the left-most one is the client. ``X-Forwarded-Proto`` is taken from a trusted
peer as well.

:class:`ClientAddressMiddleware` writes the result into the ASGI scope (``scope["client"]``,
in place), so ``request.client``, the access log and Socket.IO all see the same address.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable, Sequence

from starlette.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

LOOPBACK: tuple[Network, ...] = (
    ipaddress.ip_network("127.0.0.0/8"),
    ipaddress.ip_network("::1/128"),
)
"""The default trusted proxies: a proxy on the same machine."""

_NONE = {"none", "-"}


def parse_trusted_proxies(value: str | None) -> tuple[Network, ...]:
    """Read a comma-separated list of addresses or CIDR blocks.

    ``None`` or blank is loopback (:data:`LOOPBACK`); ``none`` trusts no proxy at all.
    Raises ``ValueError`` naming every entry that is not an address or a block.
    """
    if value is None or not value.strip():
        return LOOPBACK
    if value.strip().lower() in _NONE:
        return ()
    networks: list[Network] = []
    bad: list[str] = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            bad.append(repr(item))
    if bad:
        names = bad[0] if len(bad) == 1 else f"{', '.join(bad[:-1])} and {bad[-1]}"
        are = (
            "is not an IP address or a CIDR block"
            if len(bad) == 1
            else "are not IP addresses or CIDR blocks"
        )
        raise ValueError(f"{names} {are} such as 10.0.0.0/8")
    return tuple(networks)


@functools.lru_cache(maxsize=4096)  # parsed again for every request of a keep-alive client
def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "203.0.113.5:443"
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_trusted(host: str, trusted: Sequence[Network]) -> bool:
    """Return whether ``host`` is an address inside one of the ``trusted`` blocks."""
    address = _address(host)
    return address is not None and any(address in network for network in trusted)


def client_address(peer: str, forwarded_for: Iterable[str], trusted: Sequence[Network]) -> str:
    """Return the client's address given the direct ``peer`` and its ``X-Forwarded-For`` values.

    ``forwarded_for`` holds every ``X-Forwarded-For`` header in order (each may list several
    hops). An entry that is not an address ends the walk: the last good hop is the client.
    """
    if not trusted or not is_trusted(peer, trusted):
        return peer
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",") if hop.strip()]
    client = peer
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            break
        client = str(address)
        if not any(address in network for network in trusted):
            break
    return client


class ClientAddressMiddleware:
    """Replace ``scope["client"]`` with the client behind trusted proxies (HTTP, WebSocket).

    Idempotent: applied twice (around the HTTP app and around Socket.IO) it gives the same
    address, because the result is either untrusted (read as it is) or the left-most hop.
    """

    def __init__(self, app: ASGIApp, trusted: Sequence[Network] = LOOPBACK) -> None:
        """Serve ``app`` with proxies in ``trusted`` honoured."""
        self.app = app
        self.trusted = tuple(trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Rewrite the scope's client (and scheme) when the peer is a trusted proxy."""
        if scope["type"] in ("http", "websocket") and self.trusted:
            _rewrite(scope, self.trusted)
        await self.app(scope, receive, send)


def _rewrite(scope: Scope, trusted: Sequence[Network]) -> None:
    client = scope.get("client")
    if not client or not is_trusted(str(client[0]), trusted):
        return
    forwarded: list[str] = []
    proto: str | None = None
    for name, value in scope.get("headers", ()):
        if name == b"x-forwarded-for":
            forwarded.append(value.decode("latin-1"))
        elif name == b"x-forwarded-proto":
            proto = value.decode("latin-1").split(",")[-1].strip().lower()
    if forwarded:
        host = client_address(str(client[0]), forwarded, trusted)
        if host != client[0]:
            scope["client"] = (host, 0)
    if proto in ("http", "https"):
        websocket = scope["type"] == "websocket"
        scope["scheme"] = {"http": "ws", "https": "wss"}[proto] if websocket else proto
