"""``HeldJobs``: queued work in a plugin's table, paid by a credit hold.

Submit (from a route)::

    submitted = jobs.submit(call, values={"project_id": ..., "prompt": ...}, items=3)
    # 402 when short; 503 (hold released, job failed) when the queue refuses it

1. the job's id is derived from the request's key and attempt (a retry that repeats the
   ``Idempotency-Key`` after a crash finds the job the first try made and returns it);
2. hold ``items`` x the action's cost (a retry of the same attempt replays the hold);
3. insert the row (the plugin's ``values`` plus the job columns, ``pending``) -- if that
   fails, the hold is released and the error goes on;
4. mark and queue the message -- if that fails, the job is failed (``QUEUE_UNAVAILABLE``),
   its hold released, and ``ServiceUnavailable`` (503) raised.

The hold comes first so that a crash between 2 and 3 leaves only a hold, which the sweeper
releases after ``JobLimits.hold_ttl``. The worker side is ``runner.py``; the recovery of
jobs whose worker or message was lost is ``recovery.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import dramatiq
import sqlalchemy as sa

from lumiku.errors import ServiceUnavailable
from lumiku.heldjobs import claims
from lumiku.heldjobs.items import JobItem, delete_items, read_items
from lumiku.heldjobs.kind import JobKind, JobServices
from lumiku.heldjobs.runner import Runner, current_retries
from lumiku.heldjobs.settle import announce, settle
from lumiku.heldjobs.work import Job
from lumiku.idempotency import RequestKey
from lumiku.jobs.broker import declare_actor
from lumiku.jobs.policy import milliseconds
from lumiku.ledger.records import Hold, Reference


class QueueUnavailable(ServiceUnavailable):
    """The job could not be queued; it was failed and its credits given back."""

    code = "QUEUE_UNAVAILABLE"
    retry_after = 5
    """Seconds a client should wait before submitting again (sent as ``Retry-After``)."""


@attrs.frozen
class Submitted:
    """A submitted job: its row, the credits held for it, and the credits available after.

    ``replayed`` is true when a retry found the job its first try made.
    """

    job: Mapping[str, Any]
    credits_held: int
    credits_available: int
    hold: Hold | None = None
    replayed: bool = False


class HeldJobs:
    """Submit, run, read and recover one kind of held job (``ctx.held_jobs(...)``)."""

    def __init__(self, kind: JobKind, services: JobServices) -> None:
        self.kind = kind
        self._services = services
        self._runner = Runner(kind, services)

    @property
    def actor_name(self) -> str:
        """Return the actor's name, ``<plugin>.<name>``."""
        return self.kind.actor_name

    # -- web side -------------------------------------------------------------------------

    def submit(
        self,
        source: Any,
        *,
        values: Mapping[str, Any],
        items: int,
        unit_cost: int | None = None,
        purpose: str | None = None,
    ) -> Submitted:
        """Hold the cost of ``items``, insert the job and queue it; see the module docstring.

        ``source`` is the route's ``Call`` (or its ``RequestKey``); ``values`` the plugin's
        own columns (``id``, ``user_id`` and the job columns are filled in); ``unit_cost``
        defaults to the cost of the kind's action; ``purpose`` says what the user is doing
        ("generate an avatar") for the 402. Raise ``InsufficientCredits`` (402),
        ``QueueUnavailable`` (503), or what the insert raised (after releasing the hold).
        """
        if items < 1:
            raise ValueError(f"a job needs at least one item, got {items}")
        services, kind = self._services, self.kind
        key: RequestKey = source if isinstance(source, RequestKey) else source.request_key
        unit = services.charges.cost(kind.action) if unit_cost is None else unit_cost
        cost = unit * items
        if key.from_client:
            existing = self.get(key.stable_id(kind.actor_name))
            if existing is not None:
                return self._replay(key.user_id, existing)
        hold = None
        if cost > 0:
            hold = services.charges.hold(
                key,
                kind.action,
                amount=cost,
                reference=lambda: Reference(kind.reference_type, key.stable_id(kind.actor_name)),
                expires_in=kind.limits.hold_ttl,
                purpose=purpose,
            )
        # The job is what its hold's reference names, so the credit history points at it
        # (without a client key every stable_id() is a new random one).
        job_id = hold.reference.id if hold is not None else key.stable_id(kind.actor_name)
        try:
            row = self._row(values, key.user_id, job_id, hold, unit, items)
            with services.engine.begin() as connection:
                connection.execute(sa.insert(kind.table).values(row))
        except BaseException:
            if hold is not None:
                services.charges.release(key, hold.id)
            raise
        # Read before queueing: once queued, the job may finish (and settle) at once.
        available = services.charges.available(key.user_id)
        self._queue(key, job_id, hold)
        return Submitted(row, cost, available, hold)

    def _row(
        self,
        values: Mapping[str, Any],
        user_id: str,
        job_id: str,
        hold: Hold | None,
        unit: int,
        items: int,
    ) -> dict[str, Any]:
        now = self._services.clock()
        return {
            **values,
            "id": job_id,
            "user_id": user_id,
            "status": "pending",
            "hold_id": hold.id if hold else None,
            "unit_cost": unit,
            "credits_charged": 0,
            "items_total": items,
            "items_completed": 0,
            "items_failed": 0,
            "attempts": 0,
            "requeues": 0,
            "claim_id": None,
            "lease_expires_at": None,
            "error_code": None,
            "error_message": None,
            "created_at": now,
            "updated_at": now,
            "started_at": None,
            "finished_at": None,
        }

    def _queue(self, key: RequestKey, job_id: str, hold: Hold | None) -> None:
        services, kind = self._services, self.kind
        try:
            services.markers.add(kind.actor_name, job_id)
            services.queue.enqueue(kind.actor_name, job_id=job_id)
        except Exception as exc:
            services.logger.error(
                "❌ %s: job %s could not be queued: %s", kind.actor_name, job_id, exc
            )
            self.fail(
                [job_id],
                code="QUEUE_UNAVAILABLE",
                message="The job queue could not take the job; no credits were used.",
            )
            if hold is not None and not services.ledger.get_hold(hold.id).is_open:
                key.open_charges = max(0, key.open_charges - 1)
            raise QueueUnavailable(
                f"Job {job_id!r} could not be queued, so it was marked failed and its credits "
                "were released; try again in a moment.",
                details={"jobId": job_id, "retryAfter": QueueUnavailable.retry_after},
            ) from exc

    def _replay(self, user_id: str, row: Mapping[str, Any]) -> Submitted:
        held = 0 if row["status"] == "failed" else int(row["unit_cost"]) * int(row["items_total"])
        available = self._services.charges.available(user_id)
        return Submitted(row, held, available, replayed=True)

    def get(self, job_id: str, user_id: str | None = None) -> Job | None:
        """Return a job row (only the user's when ``user_id`` is given), or ``None``."""
        table = self.kind.table
        query = sa.select(table).where(table.c.id == job_id)
        if user_id is not None:
            query = query.where(table.c.user_id == user_id)
        with self._services.engine.connect() as connection:
            return connection.execute(query).mappings().first()

    def items(self, job_id: str) -> list[JobItem]:
        """Return the finished items of a job, in order, with their outcome and timing."""
        with self._services.engine.connect() as connection:
            return read_items(connection, self.kind.table_name, job_id)

    # -- cancelling -----------------------------------------------------------------------

    def fail_open(
        self,
        connection: sa.Connection,
        condition: sa.ColumnElement[bool],
        *,
        code: str,
        message: str,
    ) -> list[claims.Failed]:
        """In the caller's transaction, fail the open jobs matching ``condition``.

        Call it first when deleting what the jobs work on; after the commit pass the result
        to :meth:`settle_failed` to release (or partly capture) their holds.
        """
        return claims.fail_open(
            connection,
            self.kind.table,
            condition,
            now=self._services.clock(),
            code=code,
            message=message,
        )

    def settle_failed(self, failed: list[claims.Failed]) -> None:
        """Settle the holds of jobs failed by :meth:`fail_open` (never raises).

        What they did before is captured, the rest released; it works after the rows are
        deleted, from what :meth:`fail_open` returned.
        """
        for job in failed:
            try:
                settle(self.kind, self._services, job.hold_id, job.credits_charged)
            except Exception:
                self._services.logger.exception(
                    "❌ %s: hold %s of job %s was not settled; the sweeper releases it",
                    self.kind.actor_name,
                    job.hold_id,
                    job.job_id,
                )
            self._services.markers.discard(self.kind.actor_name, job.job_id)

    def fail(self, job_ids: list[str], *, code: str, message: str) -> bool:
        """Fail the open jobs ``job_ids`` now (keeping finished items), settle, announce."""
        with self._services.engine.begin() as connection:
            failed = self.fail_open(
                connection, self.kind.table.c.id.in_(job_ids), code=code, message=message
            )
        self.settle_failed(failed)
        for job in failed:
            row = self.get(job.job_id)
            if row is not None:
                announce(self.kind, self._services, claims.finished_from(row))
        return bool(failed)

    def delete_items(self, connection: sa.Connection, job_ids: list[str]) -> None:
        """Delete the item rows of jobs the plugin deletes (in its transaction)."""
        delete_items(connection, self.kind.table_name, job_ids)

    # -- worker side ----------------------------------------------------------------------

    def run(self, job_id: str, *, retries: int | None = None) -> None:
        """Run one delivery of job ``job_id`` (what the actor does)."""
        self._runner.run(job_id, retries=retries)

    def declare(self, broker: dramatiq.Broker) -> dramatiq.Actor[..., None]:
        """Declare the job's actor on ``broker`` (from the plugin's ``register_actors``)."""
        limits = self.kind.limits

        def run(job_id: str) -> None:
            self.run(job_id, retries=current_retries())

        run.__name__ = self.kind.name
        run.__doc__ = f"Run one delivery of a {self.kind.name} job."
        return declare_actor(
            broker,
            run,
            name=self.kind.actor_name,
            queue=self.kind.plugin,
            max_retries=limits.max_retries,
            time_limit=limits.time_limit,
            min_backoff=milliseconds(limits.min_backoff),
            max_backoff=milliseconds(limits.max_backoff),
            max_age=milliseconds(limits.job_lifetime),
        )
