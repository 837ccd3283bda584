"""Recovery of held jobs nobody is working on: one core schedule for every plugin's kinds.

Each run, for each kind of held job:

- an open job older than its lifetime, run by nobody, is finished with what it did
  (``EXPIRED``) and its hold settled;
- a ``processing`` job whose lease ran out lost its worker (killed, crashed): it is put
  back to ``pending`` and queued again, up to ``max_requeues`` times; after that it is
  finished with what it did (``STALLED``), capturing the items done and releasing the rest;
- a ``pending`` job whose queued message is gone (its marker is missing: Redis restarted
  empty, or the in-process queue died with its process) for ``lost_after`` is queued
  again; one untouched for ``stall_after`` is queued again whatever the markers say.

Every step is a conditional update, so several web nodes enqueueing the recovery, or a
duplicate message it sends, leave one outcome. The run is the schedule
``core.recover_held_jobs`` (every ``RECOVERY_EVERY``).
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any

import attrs
import sqlalchemy as sa

from lumiku.heldjobs import claims
from lumiku.heldjobs.events import ProgressEvents
from lumiku.heldjobs.kind import Describe, JobKind, JobServices
from lumiku.heldjobs.kit import HeldJobs
from lumiku.heldjobs.limits import EXPIRED_MESSAGE, JobLimits
from lumiku.heldjobs.settle import conclude
from lumiku.heldjobs.work import JobWork
from lumiku.jobs.schedule import Schedule

logger = logging.getLogger("lumiku.heldjobs")

RECOVERY_EVERY = timedelta(seconds=15)
STALLED_MESSAGE = (
    "The job's worker stopped too many times; what it made is kept, and the credits held "
    "for the rest were given back."
)


@attrs.frozen
class Recovered:
    """What one recovery run did to one kind of job."""

    expired: int = 0
    requeued: int = 0
    stalled: int = 0
    lost: int = 0

    def __add__(self, other: Recovered) -> Recovered:
        return Recovered(
            self.expired + other.expired,
            self.requeued + other.requeued,
            self.stalled + other.stalled,
            self.lost + other.lost,
        )

    @property
    def any(self) -> bool:
        """Return whether the run changed anything."""
        return bool(self.expired or self.requeued or self.stalled or self.lost)


def recover(kind: JobKind, services: JobServices) -> Recovered:
    """Run the recovery of one kind of job; see the module docstring."""
    return _expire(kind, services) + _take_over(kind, services) + _requeue_lost(kind, services)


def _expire(kind: JobKind, services: JobServices) -> Recovered:
    now = services.clock()
    with services.engine.connect() as connection:
        old = claims.too_old(
            connection, kind.table, created_before=now - kind.limits.job_lifetime, now=now
        )
    expired = 0
    for job_id in old:
        if _finish(kind, services, job_id, "EXPIRED", EXPIRED_MESSAGE):
            expired += 1
    return Recovered(expired=expired)


def _take_over(kind: JobKind, services: JobServices) -> Recovered:
    now = services.clock()
    with services.engine.connect() as connection:
        lapsed = claims.lapsed(connection, kind.table, now=now)
    requeued = stalled = 0
    for job_id, requeues in lapsed:
        if requeues >= kind.limits.max_requeues:
            if _finish(kind, services, job_id, "STALLED", STALLED_MESSAGE):
                stalled += 1
            continue
        with services.engine.begin() as connection:
            moved = claims.requeue(connection, kind.table, job_id, now=now, count=True)
        if moved and _enqueue(kind, services, job_id):
            requeued += 1
    return Recovered(requeued=requeued, stalled=stalled)


def _requeue_lost(kind: JobKind, services: JobServices) -> Recovered:
    now = services.clock()
    with services.engine.connect() as connection:
        quiet = claims.pending_since(connection, kind.table, now - kind.limits.lost_after)
        stale = set(claims.pending_since(connection, kind.table, now - kind.limits.stall_after))
    if not quiet:
        return Recovered()
    try:
        gone = services.markers.missing(kind.actor_name, quiet)
    except Exception as exc:  # noqa: BLE001 - without markers, only the stale ones requeue
        logger.warning("⚠️ %s: queued markers unreadable: %s", kind.actor_name, exc)
        gone = set()
    lost = 0
    for job_id in quiet:
        if job_id not in gone and job_id not in stale:
            continue
        with services.engine.begin() as connection:
            moved = claims.requeue(connection, kind.table, job_id, now=now, count=False)
        if moved and _enqueue(kind, services, job_id):
            lost += 1
    return Recovered(lost=lost)


def _finish(kind: JobKind, services: JobServices, job_id: str, code: str, message: str) -> bool:
    with services.engine.begin() as connection:
        finished = claims.finish(
            connection, kind.table, job_id, now=services.clock(), code=code, message=message
        )
    if finished is None:
        return False
    conclude(kind, services, finished)
    return True


def _enqueue(kind: JobKind, services: JobServices, job_id: str) -> bool:
    try:
        services.markers.add(kind.actor_name, job_id)
        services.queue.enqueue(kind.actor_name, job_id=job_id)
    except Exception as exc:  # noqa: BLE001 - the next run tries again
        logger.warning("⚠️ %s: job %s could not be queued: %s", kind.actor_name, job_id, exc)
        return False
    return True


class HeldJobKinds:
    """Every kind of held job declared in this process, for the recovery to go through."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kinds: dict[str, tuple[JobKind, JobServices]] = {}

    def declare(
        self,
        *,
        plugin: str,
        name: str,
        table: sa.Table,
        work: JobWork[Any],
        action: str,
        reference_type: str,
        limits: JobLimits | None,
        events: ProgressEvents | None,
        services: JobServices,
        describe: Describe | None = None,
    ) -> HeldJobs:
        """Return the held jobs ``<plugin>.<name>``, registered for the recovery."""
        kind = JobKind(
            plugin=plugin,
            name=name,
            table=table,
            work=work,
            action=action,
            reference_type=reference_type,
            limits=limits or JobLimits(),
            events=events,
            describe=describe,
        )
        self.add(kind, services)
        return HeldJobs(kind, services)

    def add(self, kind: JobKind, services: JobServices) -> None:
        """Register a kind (again with the same actor name: replaced, e.g. by a rebuild)."""
        with self._lock:
            self._kinds[kind.actor_name] = (kind, services)

    def kinds(self) -> list[tuple[JobKind, JobServices]]:
        """Return the registered kinds, sorted by actor name."""
        with self._lock:
            return [self._kinds[name] for name in sorted(self._kinds)]

    def recover(self) -> Recovered:
        """Run the recovery of every kind; a kind whose run fails is logged and skipped."""
        total = Recovered()
        for kind, services in self.kinds():
            try:
                done = recover(kind, services)
            except Exception:
                logger.exception("❌ recovery of %s failed", kind.actor_name)
                continue
            if done.any:
                logger.info("recovery of %s: %s", kind.actor_name, done)
            total += done
        return total

    def schedule(self) -> Schedule:
        """Return the core schedule that runs :meth:`recover` (``core.recover_held_jobs``)."""
        return Schedule("recover_held_jobs", RECOVERY_EVERY, self.recover)
