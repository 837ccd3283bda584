"""Startup checks and health: the queue, the storage and the namespace, each proven to work.

The three lines operators grep for are logged only after what they name was checked: the
queue (the generation actor is declared on the broker, and Redis answers when jobs go
through it), the storage (a probe file written, read back and deleted) and the websocket
namespace (served by the Socket.IO server with its sign-in check). A check that fails logs
a ``❌`` line instead; a broken storage fails the plugin's startup.

Health reports the queue's counts from the generations table (waiting = pending, active =
processing, failed in the last hour) and how jobs run: ``ok`` on Redis workers,
``degraded`` in process (Redis off) or when failures pile up.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import sqlalchemy as sa

from lumiku import CheckResult, HealthCheck
from lumiku_pose_generator.services import Services
from lumiku_pose_generator.tables import generations

logger = logging.getLogger("lumiku")
FAILURES_DEGRADE = 10
"""More generations failed in the last hour than this makes the queue ``degraded``."""
_PROBE = b"\x89PNG\r\n\x1a\nprobe"


class StartupCheckFailed(RuntimeError):
    """A startup check of the plugin failed."""


def check_queue(services: Services) -> str:
    """Return how jobs run (``redis`` or ``in-process``); raise when the queue cannot work."""
    ctx = services.ctx
    broker = ctx.jobs.broker
    if services.jobs.actor_name not in broker.actors:
        raise StartupCheckFailed(f"actor {services.jobs.actor_name} is not declared")
    client = getattr(broker, "client", None)
    if client is not None:
        client.ping()
        return "redis"
    return "in-process"


def check_storage(services: Services) -> None:
    """Write, read back and delete a probe file in the plugin's folder."""
    storage = services.ctx.storage
    key = storage.put(_PROBE, suffix=".png")
    try:
        if storage.read(key) != _PROBE:
            raise StartupCheckFailed("the storage probe read back different bytes")
    finally:
        storage.delete(key)


def start(services: Services) -> None:
    """Run the startup checks and log each line once its check passed."""
    try:
        mode = check_queue(services)
    except Exception as exc:  # noqa: BLE001 - logged; the web process still serves
        logger.error("❌ Pose Generator queue not initialized: %s", exc)
    else:
        logger.info("✅ Pose Generator queue initialized (%s)", mode)
    try:
        check_storage(services)
    except Exception as exc:
        logger.error("❌ Pose Generator storage not initialized: %s", exc)
        raise
    logger.info("✅ Pose Generator storage initialized")
    if services.namespace.is_served():
        logger.info("✅ WebSocket server initialized for Pose Generator")
    else:
        logger.error("❌ WebSocket namespace /pose-generator is not served")


def queue_counts(services: Services) -> dict[str, int]:
    """Return the generations waiting, active, and failed in the last hour."""
    g = generations.c
    since = services.ctx.clock() - timedelta(hours=1)
    with services.ctx.engine.connect() as connection:
        rows = connection.execute(
            sa.select(g.status, sa.func.count())
            .where(sa.or_(g.status.in_(("pending", "processing")), g.finished_at >= since))
            .group_by(g.status)
        ).all()
    counts = {status: int(number) for status, number in rows}
    return {
        "waiting": counts.get("pending", 0),
        "active": counts.get("processing", 0),
        "failed": counts.get("failed", 0),
    }


def health_checks(services: Services) -> dict[str, HealthCheck]:
    """Return the plugin's checks: queue (counts and mode), provider, storage, websocket."""
    ctx = services.ctx

    def queue() -> CheckResult:
        counts = queue_counts(services)
        mode = "redis" if ctx.capabilities.redis else "in-process (Redis is off)"
        detail = (
            f"{mode}; waiting {counts['waiting']}, active {counts['active']}, "
            f"failed {counts['failed']} in the last hour"
        )
        healthy = ctx.capabilities.redis and counts["failed"] <= FAILURES_DEGRADE
        return CheckResult("ok" if healthy else "degraded", detail)

    def provider() -> CheckResult:
        name = ctx.settings.provider
        found = ctx.image_providers.get(name)
        if found is None:
            return CheckResult("down", f"image provider {name!r} is not registered")
        health = found.health()
        healthy = health.get("ok", True) if isinstance(health, dict) else bool(health)
        return CheckResult("ok" if healthy else "degraded", name)

    def storage() -> CheckResult:
        check_storage(services)
        return CheckResult("ok")

    def websocket() -> CheckResult:
        if services.namespace.is_served():
            return CheckResult("ok", "/pose-generator")
        return CheckResult("degraded", "the /pose-generator namespace is not served")

    return {"queue": queue, "provider": provider, "storage": storage, "websocket": websocket}
