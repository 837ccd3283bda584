"""The generation job (actor ``avatar_creator.generate``): idempotent, settles its hold once.

One attempt:

1. a generation already ``completed`` or ``failed`` is only settled again (capture or
   release its hold if still open: both are no-ops once done), so a re-delivered message
   changes nothing;
2. claim it (``pending -> processing`` with a lease). If another delivery holds a live
   claim, raise ``dramatiq.Retry`` with a delay that outlasts that claim: the message may
   be a redelivery after its worker died (the Redis broker requeues unacked messages long
   before the lease lapses), and acking it would leave the job to nobody. The retry finds
   the generation finished (and settles it), or takes the lapsed claim over. When the
   retries run out, the recovery actor (``recovery.py``) requeues or expires it;
3. a generation older than ``JobTiming.job_lifetime`` gets no new attempt: it is failed
   (``EXPIRED``) and its hold released, so that no attempt outlives the hold;
4. if its hold was released or expired meanwhile, fail without calling the provider;
5. call the image provider, store the image and its thumbnail;
6. insert the avatar (its id derived from the generation, ``generation_id`` unique) and
   mark the generation ``completed`` in one transaction, only if the claim still holds;
   otherwise delete the files (a project delete failed it meanwhile and released the hold);
7. capture the hold.

Completing before capturing means a charge is never taken for a generation that does not
end ``completed`` with its avatar: whatever fails or deletes the generation after 6 (a
project or avatar delete) sees a completed generation and leaves its hold alone, and
whatever failed it before 6 made 6 lose. A crash or a ledger error between 6 and 7 leaves
a completed generation with an open hold; the retry or redelivery settles it (step 1). If
that never happens, the hold expires and the avatar is free: the user is never charged
for nothing, at worst not charged.

An error the provider calls permanent (``ProviderRejected``, a bad request), or any error
on the last attempt (Dramatiq's retry count from ``CurrentMessage``, or the generation's
own attempt count, which also counts requeued messages), fails the generation, records
the error and releases the hold. Other errors put the generation back to ``pending`` and
are raised, so Dramatiq retries with backoff.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import dramatiq
from dramatiq.middleware import CurrentMessage
from dramatiq.middleware.time_limit import TimeLimitExceeded

from lumiku import (
    GeneratedImage,
    LumikuError,
    PluginContext,
    ProviderError,
    ServiceUnavailable,
    declare_actor,
)
from lumiku_avatar_creator.files import FileCleanup, StoredImage
from lumiku_avatar_creator.generations import GENERATE_ACTOR, QUEUE
from lumiku_avatar_creator.identity import derived_id
from lumiku_avatar_creator.models import Record
from lumiku_avatar_creator.pagination import as_utc
from lumiku_avatar_creator.prompts import image_request
from lumiku_avatar_creator.recovery import EXPIRED, Expiry
from lumiku_avatar_creator.settlement import Settlement
from lumiku_avatar_creator.timing import JobTiming
from lumiku_avatar_creator.traits import TRAIT_COLUMNS
from lumiku_avatar_creator.transitions import (
    OPEN_STATUSES,
    TERMINAL_STATUSES,
    claim,
    complete,
    complete_with_avatar,
    fail,
    find_generation,
    release_claim,
)

__all__ = ["QUEUE", "ClaimBusy", "GenerationJob", "current_attempt"]

CLAIM_RETRY_MARGIN = timedelta(seconds=5)
"""How long after another delivery's claim lapses a redelivery that found it busy retries."""
_SUFFIXES = {"image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp"}


@attrs.frozen
class _Problem:
    """An error of one attempt as the generation records it."""

    code: str
    message: str
    retryable: bool


def _problem(exc: BaseException, timing: JobTiming) -> _Problem:
    if isinstance(exc, ProviderError):
        return _Problem(exc.code, exc.message, exc.retryable)
    if isinstance(exc, LumikuError):
        return _Problem(exc.code, exc.message, isinstance(exc, ServiceUnavailable))
    if isinstance(exc, TimeLimitExceeded):
        seconds = int(timing.time_limit.total_seconds())
        return _Problem("TIME_LIMIT", f"The attempt ran longer than {seconds} seconds.", True)
    return _Problem(
        "INTERNAL_ERROR", f"The generation failed unexpectedly ({type(exc).__name__}).", True
    )


class ClaimBusy(dramatiq.Retry):
    """Another delivery holds a live claim on the generation: retry after it lapses."""

    def __init__(self, generation_id: str, delay: timedelta) -> None:
        super().__init__(
            f"generation {generation_id} is claimed by another delivery; retrying in "
            f"{int(delay.total_seconds())} s",
            delay=max(1, int(delay.total_seconds() * 1000)),
        )
        self.generation_id = generation_id


def current_attempt() -> int | None:
    """Return how many times Dramatiq already retried the running message (None outside)."""
    message = CurrentMessage.get_current_message()
    if message is None:
        return None
    return int(message.options.get("retries", 0))


class GenerationJob:
    """Run generations on the configured image provider; see the module docstring."""

    def __init__(
        self,
        ctx: PluginContext,
        settlement: Settlement,
        files: FileCleanup,
        timing: JobTiming,
        expiry: Expiry,
    ) -> None:
        self._ctx = ctx
        self._engine = ctx.engine
        self._logger = ctx.logger
        self._settlement = settlement
        self._files = files
        self._timing = timing
        self._expiry = expiry

    def declare(self, broker: dramatiq.Broker) -> dramatiq.Actor[..., None]:
        """Declare the actor on ``broker`` with the plugin's retry and time limits."""

        def generate(generation_id: str) -> None:
            """Run one attempt of the generation ``generation_id``."""
            self.run(generation_id, attempt=current_attempt())

        timing = self._timing
        return declare_actor(
            broker,
            generate,
            name=GENERATE_ACTOR,
            queue=QUEUE,
            max_retries=timing.max_retries,
            time_limit=timing.time_limit,
            min_backoff=int(timing.min_backoff.total_seconds() * 1000),
            max_backoff=int(timing.max_backoff.total_seconds() * 1000),
            max_age=int(timing.job_lifetime.total_seconds() * 1000),
        )

    def run(self, generation_id: str, *, attempt: int | None) -> None:
        """Run one attempt; ``attempt`` is the retry count (None: treat as the last).

        Raise ``ClaimBusy`` (a ``dramatiq.Retry``) when another delivery holds a live claim.
        """
        row = self._read(generation_id)
        if row is None:
            self._logger.warning("generation %s no longer exists; nothing to do", generation_id)
            return
        if row["status"] in TERMINAL_STATUSES:
            self._settle(row)
            return
        claim_id = uuid.uuid4().hex
        if not claim(self._engine, generation_id, claim_id, self._timing.lease):
            self._claim_lost(generation_id)
            return
        row = self._read(generation_id)
        if row is None:
            return
        if row["avatar_id"] is not None:
            # Attached by an older version that crashed before completing: complete it.
            if not complete(self._engine, row["id"], claim_id):
                return
        elif self._too_old(row):
            self._expire(row, claim_id)
            return
        elif not self._make_avatar(row, claim_id, self._is_last(row, attempt)):
            return
        self._charge(row)

    def _claim_lost(self, generation_id: str) -> None:
        """Settle a generation finished meanwhile; retry later if another delivery runs it."""
        row = self._read(generation_id)
        if row is None:
            return
        if row["status"] in TERMINAL_STATUSES:
            self._settle(row)
            return
        if row["status"] not in OPEN_STATUSES:
            return
        delay = self._timing.min_backoff
        if row["status"] == "processing" and row["claimed_until"] is not None:
            remaining = as_utc(row["claimed_until"]) - datetime.now(UTC)
            delay = max(delay, remaining + CLAIM_RETRY_MARGIN)
        self._logger.info(
            "generation %s is being run by another delivery; retrying in %d s",
            generation_id,
            int(delay.total_seconds()),
        )
        raise ClaimBusy(generation_id, delay)

    def _is_last(self, row: Record, attempt: int | None) -> bool:
        """Return whether this attempt is the last (by message retries or by claims made)."""
        if attempt is None or attempt >= self._timing.max_retries:
            return True
        return int(row["attempts"]) > self._timing.max_retries

    def _too_old(self, row: Record) -> bool:
        return datetime.now(UTC) - as_utc(row["created_at"]) > self._timing.job_lifetime

    def _expire(self, row: Record, claim_id: str) -> None:
        outcome = fail(
            self._engine,
            row["id"],
            EXPIRED,
            "The generation did not finish in time.",
            claim_id=claim_id,
        )
        if outcome.changed:
            self._expiry.give_back(row["id"], outcome.hold_id, EXPIRED)

    def _read(self, generation_id: str) -> Record | None:
        with self._engine.connect() as connection:
            return find_generation(connection, generation_id)

    def _make_avatar(self, row: Record, claim_id: str, last: bool) -> bool:
        """Generate and store the avatar, complete the generation; False when this ends here."""
        try:
            stored = self._produce(row, claim_id)
        except BaseException as exc:  # noqa: BLE001 - every outcome is recorded; see _after_error
            self._after_error(row, claim_id, exc, last=last)
            return False
        if stored is None:
            return False
        avatar = self._avatar(row, stored)
        try:
            completed = complete_with_avatar(self._engine, row["id"], claim_id, avatar)
        except BaseException as exc:  # noqa: BLE001 - every outcome is recorded; see _after_error
            self._files.delete(stored.keys)
            self._after_error(row, claim_id, exc, last=last)
            return False
        if not completed:
            self._files.delete(stored.keys)
            self._logger.info("generation %s was taken over or failed meanwhile", row["id"])
        return completed

    def _charge(self, row: Record) -> None:
        """Capture the hold of a generation just completed.

        An error is raised, so Dramatiq retries: the retry finds the generation completed
        and settles it (``_settle``). A hold already given back is logged (the avatar is free).
        """
        if row["hold_id"]:
            self._settlement.capture(row["hold_id"], int(row["cost"]))

    def _produce(self, row: Record, claim_id: str) -> StoredImage | None:
        """Call the provider and store the result; None when the hold is gone."""
        if row["hold_id"]:
            hold = self._ctx.ledger.get_hold(row["hold_id"])
            if hold.status in ("released", "expired"):
                self._fail(
                    row,
                    claim_id,
                    _Problem(
                        "HOLD_EXPIRED",
                        "The credits reserved for this generation were given back before it "
                        "ran; submit it again.",
                        False,
                    ),
                )
                return None
        provider = self._ctx.image_provider(self._ctx.settings.provider)
        image = provider.generate(image_request(row))
        return self._store(image)

    def _store(self, image: GeneratedImage) -> StoredImage:
        suffix = _SUFFIXES.get(image.content_type, ".png")
        return self._files.store(image.data, suffix=suffix, width=image.width, height=image.height)

    def _avatar(self, row: Record, stored: StoredImage) -> dict[str, Any]:
        now = datetime.now(UTC)
        return {
            **{name: row[name] for name in TRAIT_COLUMNS},
            "id": derived_id("avatar", row["id"]),
            "user_id": row["user_id"],
            "project_id": row["project_id"],
            "name": row["name"],
            "source": "preset" if row["kind"] == "preset" else "generated",
            "image_key": stored.image_key,
            "thumbnail_key": stored.thumbnail_key,
            "width": stored.width,
            "height": stored.height,
            "prompt": row["prompt"],
            "seed": row["seed"],
            "preset_id": row["preset_id"],
            "generation_id": row["id"],
            "usage_count": 0,
            "last_used_at": None,
            "created_at": now,
            "updated_at": now,
        }

    def _after_error(self, row: Record, claim_id: str, exc: BaseException, *, last: bool) -> None:
        """Fail the generation for good, or give the claim back and raise for a retry."""
        problem = _problem(exc, self._timing)
        self._logger.warning(
            "generation %s attempt failed (%s%s): %s",
            row["id"],
            problem.code,
            ", final" if last or not problem.retryable else ", will retry",
            problem.message,
        )
        if last or not problem.retryable:
            self._fail(row, claim_id, problem)
            if isinstance(exc, Exception | TimeLimitExceeded):
                return  # recorded as failed: the message is done
            raise exc
        release_claim(self._engine, row["id"], claim_id, problem.code, problem.message)
        raise exc

    def _fail(self, row: Record, claim_id: str, problem: _Problem) -> None:
        outcome = fail(self._engine, row["id"], problem.code, problem.message, claim_id=claim_id)
        if outcome.changed and outcome.hold_id:
            self._settlement.release(
                outcome.hold_id, reason=f"generation failed: {problem.code}", raise_errors=True
            )

    def _settle(self, row: Record) -> None:
        """Resolve the hold of a finished generation if it is still open (a no-op otherwise)."""
        hold_id = row["hold_id"]
        if not hold_id or not self._ctx.ledger.get_hold(hold_id).is_open:
            return
        if row["status"] == "completed":
            self._settlement.capture(hold_id, int(row["cost"]))
        else:
            self._settlement.release(hold_id, reason="generation failed", raise_errors=True)
