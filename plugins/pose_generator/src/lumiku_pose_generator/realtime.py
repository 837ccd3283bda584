"""The Socket.IO namespace ``/pose-generator`` and the progress events sent to it.

Clients connect with their access token in ``auth.token``; each socket joins its user's
room, and the held jobs kit sends ``generation:started``, ``generation:progress``
``{generationId, completed, failed, total, percentage}``, ``generation:completed`` and
``generation:failed`` to the owner's room only (through the core's publisher: directly in
the web process, through Redis from workers).
"""

from __future__ import annotations

from lumiku import AuthenticatedNamespace, ProgressEvents

NAMESPACE = "/pose-generator"
EVENTS = ProgressEvents(NAMESPACE, "generation", "generationId")


class PoseGeneratorNamespace(AuthenticatedNamespace):
    """The ``/pose-generator`` namespace: signed-in users receive their generations' events."""

    def is_served(self) -> bool:
        """Return whether a Socket.IO server serves this namespace with a sign-in check."""
        server = getattr(self, "server", None)
        if server is None or self._authenticator is None:
            return False
        return server.namespace_handlers.get(self.namespace) is self
