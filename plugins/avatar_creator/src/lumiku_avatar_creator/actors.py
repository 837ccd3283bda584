"""The generation job (actor ``avatar_creator.generate``): idempotent, settles its hold once.

One attempt:

1. a generation already ``completed`` or ``failed`` is only settled again (capture or
   release its hold if still open: both are no-ops once done), so a re-delivered message
   changes nothing;
2. claim it (``pending -> processing`` with a lease); if another delivery holds the
   claim, do nothing;
3. if its hold was released or expired meanwhile, fail without calling the provider;
4. call the image provider, store the image and its thumbnail;
5. create the avatar (its id derived from the generation, ``generation_id`` unique) and
   attach it to the generation in one transaction, only if the claim still holds;
   otherwise delete the files;
6. capture the hold, then mark the generation ``completed``: a client that sees
   ``completed`` sees the final charge.

An error the provider calls permanent (``ProviderRejected``, a bad request), or any error
on the last attempt (Dramatiq's retry count from ``CurrentMessage``), fails the
generation, records the error and releases the hold. Other errors put the generation
back to ``pending`` and are raised, so Dramatiq retries with backoff. The avatar is
created before the hold is captured, so there is never a charge without an avatar: a
crash between 5 and 6 leaves a ``processing`` generation with its avatar, whose claim
lapses; the re-delivered message skips the provider and settles (capture is idempotent).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
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
from lumiku_avatar_creator.generations import GENERATE_ACTOR
from lumiku_avatar_creator.identity import derived_id
from lumiku_avatar_creator.models import Record
from lumiku_avatar_creator.prompts import image_request
from lumiku_avatar_creator.settlement import Settlement
from lumiku_avatar_creator.timing import JobTiming
from lumiku_avatar_creator.traits import TRAIT_COLUMNS
from lumiku_avatar_creator.transitions import (
    TERMINAL_STATUSES,
    attach_avatar,
    claim,
    complete,
    fail,
    find_generation,
    release_claim,
)

QUEUE = "avatar_creator"
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


def current_attempt() -> int | None:
    """Return how many times Dramatiq already retried the running message (None outside)."""
    message = CurrentMessage.get_current_message()
    if message is None:
        return None
    return int(message.options.get("retries", 0))


class GenerationJob:
    """Run generations on the configured image provider; see the module docstring."""

    def __init__(
        self, ctx: PluginContext, settlement: Settlement, files: FileCleanup, timing: JobTiming
    ) -> None:
        self._ctx = ctx
        self._engine = ctx.engine
        self._logger = ctx.logger
        self._settlement = settlement
        self._files = files
        self._timing = timing

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
        """Run one attempt; ``attempt`` is the retry count (None: treat as the last)."""
        row = self._read(generation_id)
        if row is None:
            self._logger.warning("generation %s no longer exists; nothing to do", generation_id)
            return
        if row["status"] in TERMINAL_STATUSES:
            self._settle(row)
            return
        claim_id = uuid.uuid4().hex
        if not claim(self._engine, generation_id, claim_id, self._timing.lease):
            self._logger.info("generation %s is being run by another delivery", generation_id)
            return
        row = self._read(generation_id)
        if row is None:
            return
        if row["avatar_id"] is None and not self._make_avatar(row, claim_id, attempt):
            return
        self._finish(row, claim_id)

    def _read(self, generation_id: str) -> Record | None:
        with self._engine.connect() as connection:
            return find_generation(connection, generation_id)

    def _make_avatar(self, row: Record, claim_id: str, attempt: int | None) -> bool:
        """Generate, store and attach the avatar; False when this attempt ends here."""
        last = attempt is None or attempt >= self._timing.max_retries
        try:
            stored = self._produce(row, claim_id)
        except BaseException as exc:  # noqa: BLE001 - every outcome is recorded; see _after_error
            self._after_error(row, claim_id, exc, last=last)
            return False
        if stored is None:
            return False
        try:
            attached = attach_avatar(self._engine, row["id"], claim_id, self._avatar(row, stored))
        except BaseException as exc:  # noqa: BLE001 - every outcome is recorded; see _after_error
            self._files.delete(stored.keys)
            self._after_error(row, claim_id, exc, last=last)
            return False
        if not attached:
            self._files.delete(stored.keys)
            self._logger.info("generation %s was taken over or failed meanwhile", row["id"])
        return attached

    def _finish(self, row: Record, claim_id: str) -> None:
        """Capture the hold of a generation whose avatar exists, then mark it completed.

        If either step fails, the claim is given back (the avatar stays attached) and the
        error raised: the retry skips the provider and settles.
        """
        try:
            if row["hold_id"]:
                self._settlement.capture(row["hold_id"], int(row["cost"]))
            if not complete(self._engine, row["id"], claim_id):
                self._logger.info("generation %s was failed before it completed", row["id"])
        except BaseException:
            release_claim(
                self._engine,
                row["id"],
                claim_id,
                "SETTLEMENT_PENDING",
                "The avatar is ready; charging for it will be retried.",
            )
            raise

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
