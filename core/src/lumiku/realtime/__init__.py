"""Realtime events over Socket.IO: the server, the plugin namespace base, the publishers.

Nothing here runs at import: the composition root builds the server with the plugins'
namespaces, wraps the HTTP application with it, and hands a publisher to plugins.
"""

from lumiku.realtime.connections import ConnectionGauge
from lumiku.realtime.namespace import AuthenticatedNamespace, Authenticator, user_room
from lumiku.realtime.publisher import (
    NullPublisher,
    Publisher,
    RedisPublisher,
    ServerPublisher,
    SwitchablePublisher,
)
from lumiku.realtime.server import DEFAULT_CHANNEL, build_realtime, close_realtime, wrap_app

__all__ = [
    "DEFAULT_CHANNEL",
    "AuthenticatedNamespace",
    "Authenticator",
    "ConnectionGauge",
    "NullPublisher",
    "Publisher",
    "RedisPublisher",
    "ServerPublisher",
    "SwitchablePublisher",
    "build_realtime",
    "close_realtime",
    "user_room",
    "wrap_app",
]
