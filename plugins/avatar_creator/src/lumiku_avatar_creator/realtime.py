"""The Socket.IO namespace ``/avatar-creator`` and the generation events sent to it.

Clients connect with their access token in ``auth.token``; the held jobs kit sends
``generation:started`` ``{generationId, total}``, ``generation:progress``,
``generation:completed`` ``{generationId, status, completed, failed, total,
creditsCharged}`` or ``generation:failed`` (with ``error: {code, message}``) to the owner's
room only. Best effort: ``GET /generations/{id}`` stays the truth.
"""

from __future__ import annotations

from lumiku import AuthenticatedNamespace, ProgressEvents

NAMESPACE = "/avatar-creator"
EVENTS = ProgressEvents(NAMESPACE, "generation", "generationId")


def namespaces() -> list[AuthenticatedNamespace]:
    """Return the plugin's namespace (signed-in users receive their generations' events)."""
    return [AuthenticatedNamespace(NAMESPACE)]
