"""The public catalog: presets (with rendered previews) and persona examples.

Both are seeded by the migration ``ac0002_seed``. A preset's preview is rendered by the
local provider the first time the preset is listed or read, stored in the plugin's
storage and its key saved on the row (a conditional update, so two concurrent first
requests keep one file and delete the other). A preview file that went missing is
rendered again. Rendering needs no network and takes a few milliseconds per preset.
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa

from lumiku import Page, PageQuery, PluginContext, fetch_page, in_order
from lumiku_avatar_creator.errors import PresetNotFound
from lumiku_avatar_creator.models import Record, avatar_presets, persona_examples
from lumiku_avatar_creator.prompts import image_request

PREVIEW_PROVIDER = "local"


def preview_seed(preset_id: str) -> int:
    """Return the fixed seed of a preset's preview, so every node renders the same image."""
    return int.from_bytes(hashlib.sha256(preset_id.encode()).digest()[:4], "big")


class Catalog:
    """Read presets and persona examples; render missing preset previews."""

    def __init__(self, ctx: PluginContext) -> None:
        self._ctx = ctx
        self._engine = ctx.engine
        self._storage = ctx.storage
        self._size = int(ctx.settings.preview_size)

    def presets(self, page: PageQuery, category: str | None) -> Page[Record]:
        """Return a page of presets in catalog order (optionally one category)."""
        table = avatar_presets.c
        query = sa.select(avatar_presets)
        if category is not None:
            query = query.where(table.category == category)
        with self._engine.connect() as connection:
            found = fetch_page(connection, query, page, in_order(table.sort_order, table.id))
        return found.map(self._with_preview)

    def preset(self, preset_id: str) -> Record:
        """Return one preset (with its preview), or raise ``PresetNotFound``."""
        return self._with_preview(self.recipe(preset_id))

    def recipe(self, preset_id: str) -> Record:
        """Return one preset's row as stored (no preview rendering), or raise ``PresetNotFound``."""
        with self._engine.connect() as connection:
            row = (
                connection.execute(
                    sa.select(avatar_presets).where(avatar_presets.c.id == preset_id)
                )
                .mappings()
                .first()
            )
        if row is None:
            raise PresetNotFound(preset_id)
        return row

    def persona_examples(self, page: PageQuery, category: str | None) -> Page[Record]:
        """Return a page of persona examples in catalog order (optionally one category)."""
        table = persona_examples.c
        query = sa.select(persona_examples)
        if category is not None:
            query = query.where(table.category == category)
        with self._engine.connect() as connection:
            return fetch_page(connection, query, page, in_order(table.sort_order, table.id))

    def _with_preview(self, row: Record) -> Record:
        key = row["preview_key"]
        if key is not None and self._storage.exists(key):
            return row
        try:
            new_key = self._render(row)
        except Exception:
            # A missing preview must not break the catalog; the next request tries again.
            self._ctx.logger.exception("⚠️ preview of preset %s could not be rendered", row["id"])
            return {**row, "preview_key": None}
        table = avatar_presets.c
        current = table.preview_key.is_(None) if key is None else table.preview_key == key
        with self._engine.begin() as connection:
            updated = connection.execute(
                sa.update(avatar_presets)
                .where(table.id == row["id"], current)
                .values(preview_key=new_key)
            ).rowcount
            stored = connection.execute(
                sa.select(table.preview_key).where(table.id == row["id"])
            ).scalar_one()
        if updated != 1:
            self._storage.delete(new_key)  # another request stored its preview first
        elif key is not None:
            self._storage.delete(key)
        return {**row, "preview_key": stored}

    def _render(self, row: Record) -> str:
        provider = self._ctx.image_provider(PREVIEW_PROVIDER)
        recipe = {
            **row,
            "width": self._size,
            "height": self._size,
            "seed": preview_seed(row["id"]),
        }
        image = provider.generate(image_request(recipe))
        return self._storage.put(image.data, suffix=".png")
