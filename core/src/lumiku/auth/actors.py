"""Core actor of auth: forget revocations of tokens that have expired anyway."""

from __future__ import annotations

import logging
from typing import Any

import dramatiq

from lumiku.auth.service import AuthService
from lumiku.jobs.broker import declare_actor

logger = logging.getLogger("lumiku.auth")

CLEANUP_ACTOR = "core.cleanup_revocations"


def declare_auth_actors(
    broker: dramatiq.Broker, auth: AuthService
) -> list[dramatiq.Actor[Any, Any]]:
    """Declare the revocation cleanup on ``broker`` (queue ``core``)."""

    def cleanup_revocations() -> None:
        removed = auth.delete_expired_revocations()
        if removed:
            logger.info("forgot %d revocations of expired tokens", removed)

    return [declare_actor(broker, cleanup_revocations, name=CLEANUP_ACTOR, queue="core")]
