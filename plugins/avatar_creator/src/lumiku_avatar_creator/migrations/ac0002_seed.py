"""Avatar Creator: seed the presets and persona examples.

The rows come from ``lumiku_avatar_creator/data/*.json`` as they are when this revision
runs; a later change to the catalog needs a new revision that updates the rows.

Revision ID: ac0002_seed
Revises: ac0001_tables
Create Date: 2026-12-01
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "ac0002_seed"
down_revision = "ac0001_tables"
branch_labels = None
depends_on = None

_TRAITS = (
    "persona_name",
    "persona_age",
    "persona_personality",
    "persona_background",
    "gender",
    "age_range",
    "ethnicity",
    "body_type",
    "hair_style",
    "hair_color",
    "eye_color",
    "skin_tone",
    "style",
)


def _load(name: str) -> list[dict[str, Any]]:
    text = resources.files("lumiku_avatar_creator").joinpath("data", name).read_text("utf-8")
    rows: list[dict[str, Any]] = json.loads(text)
    return rows


def _table(name: str, *columns: str) -> sa.TableClause:
    names = (*columns, *_TRAITS, "sort_order", "created_at")
    types = {"persona_personality": sa.JSON(), "created_at": sa.DateTime(timezone=True)}
    return sa.table(name, *(sa.column(c, types.get(c)) for c in names))


def _rows(items: list[dict[str, Any]], columns: tuple[str, ...]) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    names = (*columns, *_TRAITS, "sort_order")
    return [{**{c: item.get(c) for c in names}, "created_at": now} for item in items]


def upgrade() -> None:
    preset_columns = ("id", "name", "description", "category", "prompt")
    op.bulk_insert(
        _table("avatar_presets", *preset_columns),
        _rows(_load("presets.json"), preset_columns),
    )
    example_columns = ("id", "title", "category")
    op.bulk_insert(
        _table("persona_examples", *example_columns),
        _rows(_load("persona_examples.json"), example_columns),
    )


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM persona_examples"))
    op.execute(sa.text("DELETE FROM avatar_presets"))
