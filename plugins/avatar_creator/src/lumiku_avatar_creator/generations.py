"""Submitting generations (from a prompt or a preset) and reading their status.

Money order at submit:

1. place a credit hold for the cost (402 when short), keyed on the request and naming the
   new generation's id;
2. insert the generation row (``pending``, with the hold id) -- if that fails, the hold is
   released;
3. enqueue the job -- if that fails, the generation is marked ``failed`` and the hold is
   released, and the client gets a 503.

The hold comes first so that a crash between 1 and 2 leaves only a hold without a
generation, which the core's sweeper releases when it expires (``JobTiming.hold_ttl``,
after no attempt of the job could run any more). The worker captures the hold when the
avatar exists and releases it when the generation fails for good (``actors.py``).

Retries. A retry with the same ``Idempotency-Key`` derives the same generation id and
hold key: it returns the generation if there is one, and otherwise reuses the hold the
first attempt placed if it is still open (a crash between 1 and 2). A hold that is no
longer open (the first attempt released it when 2 or 3 failed, or it expired) cannot pay
for a new job, so the retry places a new hold under the next round's key
(``...:retry-1``, and so on).

A project deleted meanwhile makes 2 fail on its foreign key (``Projects.delete`` locks the
project row first, so the insert waits for the delete and then fails): the hold is
released and the answer is 404.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

import attrs
import sqlalchemy as sa

from lumiku import PluginContext, Reference
from lumiku_avatar_creator.errors import (
    GenerationNotFound,
    ProjectNotFound,
    ProviderNotConfigured,
    QueueUnavailable,
)
from lumiku_avatar_creator.identity import derived_id, new_id, request_token
from lumiku_avatar_creator.models import (
    Record,
    avatar_generations,
    avatar_presets,
    avatar_projects,
    avatars,
)
from lumiku_avatar_creator.pagination import PageQuery, as_utc, newest_first, split_page
from lumiku_avatar_creator.projects import find_project
from lumiku_avatar_creator.settlement import Settlement
from lumiku_avatar_creator.timing import JobTiming
from lumiku_avatar_creator.transitions import OPEN_STATUSES, fail, find_generation

if TYPE_CHECKING:
    from lumiku import Hold
    from lumiku_avatar_creator.recovery import Expiry

QUEUE = "avatar_creator"
GENERATE_ACTOR = "avatar_creator.generate"
Kind = Literal["prompt", "preset"]


@attrs.frozen(kw_only=True)
class GenerationSpec:
    """What to generate: the prompt, traits (column values), size, seed and cost action."""

    kind: Kind
    name: str
    prompt: str
    traits: Record
    width: int
    height: int
    seed: int
    action: str
    preset_id: str | None = None


@attrs.frozen
class Queued:
    """A queued generation row, the credits held for it and the credits available after."""

    generation: Record
    credit_used: int
    credit_balance: int


class Generations:
    """Queue generations with their credit holds; report their status."""

    def __init__(
        self, ctx: PluginContext, settlement: Settlement, timing: JobTiming, expiry: Expiry
    ) -> None:
        self._ctx = ctx
        self._engine = ctx.engine
        self._settlement = settlement
        self._timing = timing
        self._expiry = expiry

    def submit(
        self, user_id: str, project_id: str, spec: GenerationSpec, idempotency_key: str | None
    ) -> Queued:
        """Hold the cost, record the generation and queue it; see the module docstring."""
        with self._engine.connect() as connection:
            find_project(connection, user_id, project_id)
        provider = self._ctx.settings.provider
        if provider not in self._ctx.image_providers:
            raise ProviderNotConfigured(provider, sorted(self._ctx.image_providers))
        cost = self._ctx.cost(spec.action)
        token, from_client = request_token(idempotency_key)
        generation_id = derived_id("generation", user_id, token) if from_client else new_id()
        if from_client:
            existing = self._find(user_id, generation_id)
            if existing is not None:
                return self._queued(user_id, existing)
        hold_id = None
        if cost > 0:
            hold_id = self._hold(user_id, cost, generation_id, token).id
        try:
            row = self._insert(user_id, project_id, generation_id, spec, cost, hold_id)
        except BaseException:
            existing = self._find_quietly(user_id, generation_id)
            if existing is not None:  # a concurrent retry with the same key won
                return self._queued(user_id, existing)
            if hold_id is not None:
                self._settlement.release(hold_id, reason="generation could not be recorded")
            if not self._project_exists(user_id, project_id):
                raise ProjectNotFound(project_id) from None  # deleted meanwhile
            raise
        try:
            self._ctx.jobs.enqueue(GENERATE_ACTOR, generation_id=generation_id)
        except Exception as exc:
            self._ctx.logger.error(
                "❌ generation %s could not be queued: %s: %s",
                generation_id,
                type(exc).__name__,
                exc,
            )
            outcome = fail(
                self._engine,
                generation_id,
                "QUEUE_UNAVAILABLE",
                "The job queue could not take the generation; no credits were used.",
            )
            if outcome.changed and outcome.hold_id:
                self._settlement.release(outcome.hold_id, reason="generation not queued")
            raise QueueUnavailable(generation_id) from exc
        return Queued(row, cost, self._ctx.ledger.balance(user_id).available)

    def _hold(self, user_id: str, cost: int, generation_id: str, token: str) -> Hold:
        """Hold the cost under the request's key, or the next round's once that hold closed."""
        base = f"avatar_creator:generation:{user_id}:{token}"
        round_ = 0
        while True:
            hold = self._ctx.ledger.hold(
                user_id,
                cost,
                Reference("avatar_generation", generation_id),
                f"{base}:retry-{round_}" if round_ else base,
                self._timing.hold_ttl,
                plugin=self._ctx.id,
            )
            if hold.is_open:
                return hold
            round_ += 1

    def _project_exists(self, user_id: str, project_id: str) -> bool:
        query = sa.select(avatar_projects.c.id).where(
            avatar_projects.c.id == project_id, avatar_projects.c.user_id == user_id
        )
        try:
            with self._engine.connect() as connection:
                return connection.execute(query).first() is not None
        except Exception:
            self._ctx.logger.exception("⚠️ project %s: lookup failed", project_id)
            return True  # unknown: report the original error

    def _insert(
        self,
        user_id: str,
        project_id: str,
        generation_id: str,
        spec: GenerationSpec,
        cost: int,
        hold_id: str | None,
    ) -> Record:
        now = datetime.now(UTC)
        values: dict[str, Any] = {
            **spec.traits,
            "id": generation_id,
            "user_id": user_id,
            "project_id": project_id,
            "kind": spec.kind,
            "name": spec.name,
            "prompt": spec.prompt,
            "preset_id": spec.preset_id,
            "width": spec.width,
            "height": spec.height,
            "seed": spec.seed,
            "status": "pending",
            "cost": cost,
            "hold_id": hold_id,
            "avatar_id": None,
            "error_code": None,
            "error_message": None,
            "attempts": 0,
            "claim_id": None,
            "claimed_until": None,
            "created_at": now,
            "updated_at": now,
            "started_at": None,
            "completed_at": None,
        }
        with self._engine.begin() as connection:
            connection.execute(sa.insert(avatar_generations).values(values))
            if spec.preset_id is not None:
                connection.execute(
                    sa.update(avatar_presets)
                    .where(avatar_presets.c.id == spec.preset_id)
                    .values(usage_count=avatar_presets.c.usage_count + 1)
                )
        return values

    def _find(self, user_id: str, generation_id: str) -> Record | None:
        with self._engine.connect() as connection:
            return find_generation(connection, generation_id, user_id)

    def _find_quietly(self, user_id: str, generation_id: str) -> Record | None:
        # While compensating, a failing lookup must not stop the release that follows.
        try:
            return self._find(user_id, generation_id)
        except Exception:
            self._ctx.logger.exception("⚠️ generation %s: lookup failed", generation_id)
            return None

    def _queued(self, user_id: str, row: Record) -> Queued:
        used = 0 if row["status"] == "failed" else int(row["cost"])
        return Queued(row, used, self._ctx.ledger.balance(user_id).available)

    def get(self, user_id: str, generation_id: str) -> tuple[Record, Record | None]:
        """Return the caller's generation and, once completed, its avatar."""
        row = self._find(user_id, generation_id)
        if row is None:
            raise GenerationNotFound(generation_id)
        if self._abandoned(row) and self._expiry.expire(generation_id):
            row = self._find(user_id, generation_id) or row
        avatar = None
        if row["status"] == "completed" and row["avatar_id"]:
            with self._engine.connect() as connection:
                avatar = (
                    connection.execute(sa.select(avatars).where(avatars.c.id == row["avatar_id"]))
                    .mappings()
                    .first()
                )
        return row, avatar

    def page(
        self, user_id: str, page: PageQuery, *, project_id: str | None, status: str | None
    ) -> tuple[list[Record], str | None]:
        """Return a page of the caller's generations, newest first, and the next cursor."""
        query = sa.select(avatar_generations).where(avatar_generations.c.user_id == user_id)
        if project_id is not None:
            query = query.where(avatar_generations.c.project_id == project_id)
        if status is not None:
            query = query.where(avatar_generations.c.status == status)
        query = newest_first(query, avatar_generations.c.created_at, avatar_generations.c.id, page)
        with self._engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
        return split_page(rows, page, "created_at")

    def _abandoned(self, row: Record) -> bool:
        """Return whether an open generation may have outlived every attempt of its job.

        The expiry itself re-checks (atomically) that nobody runs it; see ``recovery.py``.
        """
        if row["status"] not in OPEN_STATUSES or row["avatar_id"] is not None:
            return False
        age = datetime.now(UTC) - as_utc(row["created_at"])
        return age > self._timing.job_lifetime
