"""One delivery of a held job's message: claim, work through the items, finish, settle.

1. Claim the job under a lease, renewed by a heartbeat while this worker lives (the
   claim returns the row and, in its transaction, the hold is read). When it cannot be
   claimed, the job is read: one already finished is only settled again (capture or
   release its hold if still open: both are no-ops once done), so a redelivered message
   changes nothing.
2. A job older than ``JobLimits.job_lifetime`` gets no new attempt (the claim refuses
   it): it is finished with what it did (``EXPIRED``).
3. If another delivery holds a live claim, raise ``dramatiq.Retry`` with a delay
   outlasting that lease: this message may be a redelivery after its worker died, and the
   retry either finds the job finished or takes the lapsed claim over.
4. If the hold was given back meanwhile (it expired), fail the job without working.
5. For each item not finished yet: ``produce`` it, then in one transaction count it on the
   job (only while the claim holds), insert its item row and let the plugin ``record`` the
   result. Publish progress. An item that fails for good is recorded as failed and the job
   goes on; a retryable failure before the last attempt gives the claim back and raises,
   so Dramatiq retries with backoff (finished items are skipped then).
6. Finish: ``completed``, ``partial`` or ``failed`` from the counters, and in the same
   transaction capture ``unit_cost`` x items completed from the hold (release it when none
   completed); publish the end.

Only items already counted are charged, so a charge is never taken for work that did not
land, and whoever reads the job finished reads its credits settled. Anything that changes
the job meanwhile (a delete failing it) makes the conditional finish, and so the charge,
a no-op. If that transaction fails, the claim is given back and the retry finishes the
job; a hold still open on a finished job (a crash in older code, a refused capture) is
settled by the next delivery or the recovery (step 1).

A delivery keeps one database connection (``DeliveryConnection``) for its transactions;
``produce`` runs outside any of them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import dramatiq
from dramatiq.middleware import CurrentMessage
from dramatiq.middleware.time_limit import TimeLimitExceeded

from lumiku.heldjobs import claims
from lumiku.heldjobs.columns import FINISHED_JOB_STATUSES
from lumiku.heldjobs.delivery import DeliveryConnection
from lumiku.heldjobs.heartbeat import Heartbeat
from lumiku.heldjobs.items import finished_keys, job_items, read_items
from lumiku.heldjobs.kind import JobKind, JobServices
from lumiku.heldjobs.limits import EXPIRED_MESSAGE
from lumiku.heldjobs.settle import announce, conclude, settle, settle_row
from lumiku.heldjobs.work import Problem, problem_of
from lumiku.wording import plural

CLAIM_RETRY_MARGIN = timedelta(seconds=5)
"""How long after another delivery's lease runs out a redelivery that found it busy retries."""


class ClaimBusy(dramatiq.Retry):
    """Another delivery holds a live claim on the job: retry once its lease has run out."""

    def __init__(self, job_id: str, delay: timedelta) -> None:
        super().__init__(
            f"job {job_id} is claimed by another delivery; retrying in "
            f"{int(delay.total_seconds())} s",
            delay=max(1, int(delay.total_seconds() * 1000)),
        )
        self.job_id = job_id


class _ClaimLost(Exception):
    """This delivery's claim was taken over or the job failed meanwhile: stop quietly."""


def current_retries() -> int | None:
    """Return how many times Dramatiq already retried the running message (None outside)."""
    message = CurrentMessage.get_current_message()
    if message is None:
        return None
    return int(message.options.get("retries", 0))


class Runner:
    """Run deliveries of one kind of held job; see the module docstring."""

    def __init__(self, kind: JobKind, services: JobServices) -> None:
        self._kind = kind
        self._services = services

    def run(self, job_id: str, *, retries: int | None) -> None:
        """Run one delivery; ``retries`` is Dramatiq's retry count (None: the last attempt)."""
        with DeliveryConnection(self._services.engine) as delivery:
            self._run(delivery, job_id, retries)

    def _run(self, delivery: DeliveryConnection, job_id: str, retries: int | None) -> None:
        kind, services = self._kind, self._services
        now = services.clock()
        claim_id = uuid.uuid4().hex
        with delivery.begin() as connection:
            # The claim returns the row it claimed (no read first); the hold is read in
            # its transaction, on the same connection.
            row = claims.claim(
                connection,
                kind.table,
                job_id,
                claim_id,
                now=now,
                lease=kind.limits.lease,
                created_after=now - kind.limits.job_lifetime,
            )
            hold_open = row is None or _hold_open(services, row, connection)
        if row is None:
            self._unclaimable(delivery, job_id, now)
            return
        if kind.events is not None and row["attempts"] == 1:
            kind.events.started(services.publisher, row["user_id"], job_id, row["items_total"])
        last = retries is None or retries >= kind.limits.max_retries
        try:
            with Heartbeat(
                lambda: self._renew(job_id, claim_id), kind.limits.heartbeat, name=job_id
            ) as heartbeat:
                counts = self._work(delivery, row, claim_id, last, heartbeat, hold_open)
        except _ClaimLost:
            services.logger.info("%s: job %s was taken over meanwhile", kind.actor_name, job_id)
            return
        if counts is not None:
            self._finish(delivery, job_id, claim_id, counts)

    # -- steps ----------------------------------------------------------------------------

    def _unclaimable(self, delivery: DeliveryConnection, job_id: str, now: Any) -> None:
        """Settle a finished job, expire an old one, or retry later if another runs it."""
        kind, services = self._kind, self._services
        with delivery.read() as connection:
            row = claims.read_job(connection, kind.table, job_id)
        if row is None:
            services.logger.warning("%s: job %s no longer exists", kind.actor_name, job_id)
            return
        if row["status"] in FINISHED_JOB_STATUSES:
            settle_row(kind, services, row)
            services.markers.discard(kind.actor_name, job_id)
            return
        if now - row["created_at"] > kind.limits.job_lifetime:
            if self._finish_unclaimed(job_id, "EXPIRED", EXPIRED_MESSAGE):
                return
            with delivery.read() as connection:  # finished or claimed meanwhile
                row = claims.read_job(connection, kind.table, job_id)
        self._busy(job_id, row)

    def _renew(self, job_id: str, claim_id: str) -> bool:
        services, kind = self._services, self._kind
        with services.engine.begin() as connection:
            return claims.renew(
                connection,
                kind.table,
                job_id,
                claim_id,
                now=services.clock(),
                lease=kind.limits.lease,
            )

    def _busy(self, job_id: str, row: Any) -> None:
        """Settle a job finished meanwhile; retry later if another delivery runs it."""
        if row is None:
            return
        if row["status"] in FINISHED_JOB_STATUSES:
            settle_row(self._kind, self._services, row)
            return
        delay = self._kind.limits.min_backoff
        lease_end = row["lease_expires_at"]
        if row["status"] == "processing" and lease_end is not None:
            delay = max(delay, lease_end - self._services.clock() + CLAIM_RETRY_MARGIN)
        raise ClaimBusy(job_id, delay)

    def _finish_unclaimed(self, job_id: str, code: str, message: str) -> bool:
        services = self._services
        with services.engine.begin() as connection:
            finished = claims.finish(
                connection,
                self._kind.table,
                job_id,
                now=services.clock(),
                code=code,
                message=message,
            )
        if finished is None:
            return False
        conclude(self._kind, services, finished)
        return True

    def _work(
        self,
        delivery: DeliveryConnection,
        row: Any,
        claim_id: str,
        last: bool,
        heartbeat: Heartbeat,
        hold_open: bool,
    ) -> claims.Counts | None:
        """Work through the items not finished yet; return the job's counters after.

        Return ``None`` when the job was given up instead.
        """
        kind = self._kind
        keys = list(kind.work.items(row))
        if len(keys) != row["items_total"]:
            raise RuntimeError(
                f"{kind.actor_name}: job {row['id']} lists {plural(len(keys), 'item')}, "
                f"but {row['items_total']} were held for"
            )
        if not hold_open:
            self._give_up(
                row,
                claim_id,
                "HOLD_EXPIRED",
                "The credits reserved for this job were given back before it ran; submit it again.",
            )
            return None
        counts = claims.Counts(
            int(row["items_completed"]), int(row["items_failed"]), int(row["items_total"])
        )
        done: set[str] = set()
        if counts.completed or counts.failed:
            # Item rows land only with the job's counters: none counted, none to skip.
            with delivery.read() as connection:
                done = finished_keys(connection, kind.table_name, row["id"])
        for position, item in enumerate(keys):
            if item in done:
                continue
            if heartbeat.lost:
                raise _ClaimLost
            counts = self._item(delivery, row, claim_id, position, item, last)
        return counts

    def _item(
        self,
        delivery: DeliveryConnection,
        row: Any,
        claim_id: str,
        position: int,
        item: str,
        last: bool,
    ) -> claims.Counts:
        """Produce, count and record one item; return the job's counters after it."""
        kind, services = self._kind, self._services
        started = services.clock()
        try:
            result = kind.work.produce(row, item)
        except BaseException as exc:  # noqa: BLE001 - every outcome is recorded; see _failed
            return self._failed(delivery, row, claim_id, position, item, started, exc, last)
        try:
            with delivery.begin() as connection:
                counts = self._count(connection, row, claim_id, position, item, started, None)
                if counts is None:
                    raise _ClaimLost
                after_commit = kind.work.record(connection, row, item, result)
        except _ClaimLost:
            kind.work.discard(result)
            raise
        except BaseException as exc:  # noqa: BLE001 - every outcome is recorded; see _failed
            kind.work.discard(result)
            return self._failed(delivery, row, claim_id, position, item, started, exc, last)
        self._progress(row, counts)
        if after_commit is not None:
            self._after_commit(row, item, after_commit)
        return counts

    def _after_commit(self, row: Any, item: str, action: Callable[[], object]) -> None:
        """Run what ``record`` asked for once its transaction committed (never raises)."""
        try:
            action()
        except Exception:
            self._services.logger.exception(
                "❌ %s: job %s item %s: the step after its commit failed",
                self._kind.actor_name,
                row["id"],
                item,
            )

    def _count(
        self,
        connection: Any,
        row: Any,
        claim_id: str,
        position: int,
        item: str,
        started: Any,
        problem: Problem | None,
    ) -> claims.Counts | None:
        """Count the item and insert its row; return the job's counters, None if lost."""
        kind, services = self._kind, self._services
        now = services.clock()
        values = {
            "job_table": kind.table_name,
            "job_id": row["id"],
            "item": item,
            "position": position,
            "status": "completed" if problem is None else "failed",
            "error_code": None if problem is None else problem.code,
            "error_message": None if problem is None else problem.message[:500],
            "started_at": started,
            "finished_at": now,
        }
        return claims.count_item(
            connection,
            kind.table,
            row["id"],
            claim_id,
            now=now,
            lease=kind.limits.lease,
            completed=problem is None,
            insert=(job_items, values),
        )

    def _failed(
        self,
        delivery: DeliveryConnection,
        row: Any,
        claim_id: str,
        position: int,
        item: str,
        started: Any,
        exc: BaseException,
        last: bool,
    ) -> claims.Counts:
        """Record an item failed for good (return the counters), or give back and raise."""
        kind, services = self._kind, self._services
        seconds = int(kind.limits.time_limit.total_seconds())
        problem = problem_of(exc, time_limit_seconds=seconds)
        final = last or not problem.retryable
        services.logger.warning(
            "%s: job %s item %s failed (%s%s): %s",
            kind.actor_name,
            row["id"],
            item,
            problem.code,
            "" if final else ", will retry",
            problem.message,
        )
        interrupted = not isinstance(exc, Exception | TimeLimitExceeded)
        if not final or interrupted:
            # A retry (or a worker shutting down) runs the item again later.
            with delivery.begin() as connection:
                claims.give_back(
                    connection,
                    kind.table,
                    row["id"],
                    claim_id,
                    now=services.clock(),
                    code=problem.code,
                    message=problem.message,
                )
            raise exc
        with delivery.begin() as connection:
            counts = self._count(connection, row, claim_id, position, item, started, problem)
            if counts is None:
                raise _ClaimLost
        self._progress(row, counts)
        return counts

    def _progress(self, row: Any, counts: claims.Counts) -> None:
        """Publish the counters the counting update returned (no re-read of the job)."""
        events = self._kind.events
        if events is None:
            return
        events.progress(
            self._services.publisher,
            row["user_id"],
            row["id"],
            counts.completed,
            counts.failed,
            counts.total,
        )

    def _give_up(self, row: Any, claim_id: str, code: str, message: str) -> None:
        services = self._services
        with services.engine.begin() as connection:
            finished = claims.finish(
                connection,
                self._kind.table,
                row["id"],
                now=services.clock(),
                claim_id=claim_id,
                code=code,
                message=message,
                charge=False,
            )
        if finished is not None:
            conclude(self._kind, services, finished)

    def _finish(
        self, delivery: DeliveryConnection, job_id: str, claim_id: str, counts: claims.Counts
    ) -> None:
        """Finish the job under the claim; ``counts`` are its counters (only we count)."""
        services, kind = self._services, self._kind
        try:
            with delivery.begin() as connection:
                failures = (
                    [
                        item
                        for item in read_items(connection, kind.table_name, job_id)
                        if item.status == "failed"
                    ]
                    if counts.failed
                    else []
                )
                last_failure = failures[-1] if failures else None
                finished = claims.finish(
                    connection,
                    kind.table,
                    job_id,
                    now=services.clock(),
                    claim_id=claim_id,
                    code=last_failure.error_code if last_failure else None,
                    message=last_failure.error_message if last_failure else None,
                )
                if finished is not None:
                    # The final status and the charge commit together: whoever reads the
                    # job finished reads its credits settled.
                    settle(
                        kind,
                        services,
                        finished.hold_id,
                        finished.credits_charged,
                        finished.row,
                        job_id=finished.job_id,
                        connection=connection,
                    )
        except BaseException:
            # Neither the status nor the charge is written: give the claim back, so the
            # retry finishes the job at once instead of waiting for the lease to lapse.
            with delivery.begin() as connection:
                claims.give_back(
                    connection,
                    kind.table,
                    job_id,
                    claim_id,
                    now=services.clock(),
                    code="FINISH_FAILED",
                    message="The job could not be finished; it is retried.",
                )
            raise
        if finished is not None:
            # Settled in the finishing transaction above (a hold it could not settle is
            # not open any more either): only the final event is left.
            announce(self._kind, services, finished)


def _hold_open(services: JobServices, row: Any, connection: Any) -> bool:
    """Return whether the claimed job's hold can still be charged (True without a hold)."""
    if not row["hold_id"]:
        return True
    return services.ledger.get_hold(row["hold_id"], connection=connection).is_open
