"""Submitting generations (from a prompt or a preset) and reading them.

A generation is a held job of one item (``jobs.py``): submitting holds its cost, inserts
the row and queues it, all through the core's kit (402 when short, 503 with the hold
released when the queue refuses it). A retry that repeats the ``Idempotency-Key`` after a
crash finds the generation its first try made. A project deleted meanwhile makes the
insert fail on its foreign key (``Projects.delete`` locks the project row first): the hold
is released and the answer is 404.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import attrs
import sqlalchemy as sa

from lumiku import (
    Call,
    HeldJobs,
    Page,
    PageQuery,
    PluginContext,
    Submitted,
    fetch_page,
    newest_first,
)
from lumiku_avatar_creator.errors import (
    GenerationNotFound,
    ProjectNotFound,
    ProviderNotConfigured,
)
from lumiku_avatar_creator.models import Record, avatar_generations, avatar_presets, avatars
from lumiku_avatar_creator.projects import find_project

Kind = Literal["prompt", "preset"]
PURPOSES: dict[str, str] = {
    "prompt": "generate an avatar",
    "preset": "generate an avatar from a preset",
}
"""What the user is doing, by kind, for the 402 ("Not enough credits to generate ...")."""


def describe_generation(row: Mapping[str, Any]) -> str:
    """Return the credit history line of a generation: ``Avatar generation 'Ana'``."""
    return f"Avatar generation {row['name']!r}"


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


class Generations:
    """Queue generations with their credit holds; report their status."""

    def __init__(self, ctx: PluginContext, jobs: HeldJobs) -> None:
        self._ctx = ctx
        self._engine = ctx.engine
        self._jobs = jobs

    def submit(self, call: Call[Any, Any], project_id: str, spec: GenerationSpec) -> Submitted:
        """Hold the cost, record the generation and queue it; see the module docstring."""
        user_id = call.user_id
        with self._engine.connect() as connection:
            find_project(connection, user_id, project_id)
        provider = self._ctx.settings.provider
        if provider not in self._ctx.image_providers:
            raise ProviderNotConfigured(provider, sorted(self._ctx.image_providers))
        values = {
            **spec.traits,
            "project_id": project_id,
            "kind": spec.kind,
            "name": spec.name,
            "prompt": spec.prompt,
            "preset_id": spec.preset_id,
            "width": spec.width,
            "height": spec.height,
            "seed": spec.seed,
            "avatar_id": None,
        }
        try:
            submitted = self._jobs.submit(
                call,
                values=values,
                items=1,
                unit_cost=self._ctx.cost(spec.action),
                purpose=PURPOSES[spec.kind],
            )
        except sa.exc.IntegrityError:
            if not self._project_exists(user_id, project_id):
                raise ProjectNotFound(project_id) from None  # deleted meanwhile
            raise
        if spec.preset_id is not None and not submitted.replayed:
            self._count_preset_use(spec.preset_id)
        return submitted

    def _project_exists(self, user_id: str, project_id: str) -> bool:
        with self._engine.connect() as connection:
            try:
                find_project(connection, user_id, project_id)
            except ProjectNotFound:
                return False
        return True

    def _count_preset_use(self, preset_id: str) -> None:
        with self._engine.begin() as connection:
            connection.execute(
                sa.update(avatar_presets)
                .where(avatar_presets.c.id == preset_id)
                .values(usage_count=avatar_presets.c.usage_count + 1)
            )

    def get(self, user_id: str, generation_id: str) -> tuple[Record, Record | None]:
        """Return the caller's generation and, once completed, its avatar."""
        row = self._jobs.get(generation_id, user_id)
        if row is None:
            raise GenerationNotFound(generation_id)
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
    ) -> Page[Record]:
        """Return a page of the caller's generations, newest first."""
        table = avatar_generations.c
        query = sa.select(avatar_generations).where(table.user_id == user_id)
        if project_id is not None:
            query = query.where(table.project_id == project_id)
        if status is not None:
            query = query.where(table.status == status)
        with self._engine.connect() as connection:
            return fetch_page(connection, query, page, newest_first(table.created_at, table.id))
