"""Periodic job of auth: forget revocations of tokens that have expired anyway."""

from __future__ import annotations

import logging
from datetime import timedelta

from lumiku.auth.service import AuthService
from lumiku.jobs.schedule import Schedule

logger = logging.getLogger("lumiku.auth")

CLEANUP_EVERY = timedelta(days=1)


def auth_schedules(auth: AuthService) -> list[Schedule]:
    """Return the revocation cleanup (``core.cleanup_revocations``)."""

    def cleanup_revocations() -> None:
        removed = auth.delete_expired_revocations()
        if removed:
            logger.info("forgot %d revocations of expired tokens", removed)

    return [Schedule("cleanup_revocations", CLEANUP_EVERY, cleanup_revocations)]
