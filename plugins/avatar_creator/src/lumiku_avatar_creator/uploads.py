"""Uploading a photo as an avatar: checked, stored, charged, recorded.

Money order. The request is checked completely first (project, fields, image content,
size and pixel limits, thumbnail), so a bad upload costs nothing and stores nothing. Then
the image and its thumbnail are stored, and the avatar row is inserted inside a charge of
``uploadAvatar`` (``ctx.charges.spend``): if the insert fails (say the project was deleted
meanwhile), the charge is refunded exactly once and the files are deleted. Storing before
charging means a crash leaves at most orphaned files, never credits taken for nothing.

Retries. The avatar's id derives from the request's ``Idempotency-Key`` and attempt: a
retry after a crash finds the avatar the first try made and returns it; a retry after a
refunded failure is a new attempt, charged once for the avatar it then makes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import attrs
import sqlalchemy as sa

from lumiku import (
    Call,
    PluginContext,
    Reference,
    UploadedFile,
    check_image,
    field,
    make_thumbnail,
)
from lumiku_avatar_creator.errors import ProjectNotFound
from lumiku_avatar_creator.files import THUMBNAIL_SIDE, FileCleanup, StoredImage
from lumiku_avatar_creator.models import Record, avatar_projects, avatars
from lumiku_avatar_creator.projects import find_project
from lumiku_avatar_creator.traits import TraitFields, trait_values

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MIN_SIDE = 256
MAX_SIDE = 4096
MAX_NAME = 100


@attrs.frozen
class Charged:
    """A new avatar row, what it cost and the credits available afterwards."""

    avatar: Record
    credit_used: int
    credit_balance: int


@attrs.frozen(kw_only=True)
class AvatarUploadForm(TraitFields):
    """A photo (JPEG, PNG or WebP, 256-4096 px, at most 10 MB), its name, persona and looks."""

    name: str = field(min_length=1, max_length=MAX_NAME, strip=True)
    image: UploadedFile = field(max_bytes=MAX_UPLOAD_BYTES)


class Uploads:
    """Turn an uploaded photo into an avatar, charging ``uploadAvatar`` credits."""

    def __init__(self, ctx: PluginContext, files: FileCleanup) -> None:
        self._ctx = ctx
        self._engine = ctx.engine
        self._files = files

    def upload(self, call: Call[AvatarUploadForm, Any], project_id: str) -> Charged:
        """Check, store and charge an upload; see the module docstring for the order."""
        user_id = call.user_id
        form = call.body
        with self._engine.connect() as connection:
            find_project(connection, user_id, project_id)
        name, traits = form.name.strip(), form
        checked = check_image(
            form.image.data, max_bytes=MAX_UPLOAD_BYTES, min_side=MIN_SIDE, max_side=MAX_SIDE
        )
        thumbnail = make_thumbnail(checked, max_side=THUMBNAIL_SIDE)
        avatar_id = call.request_key.stable_id("avatar")
        existing = self._find(user_id, avatar_id) if call.request_key.from_client else None
        if existing is not None:  # a retry of a request whose answer was lost
            return self._result(user_id, existing, self._ctx.cost("uploadAvatar"))
        stored = self._files.store(
            checked.data,
            suffix=checked.suffix,
            width=checked.width,
            height=checked.height,
            thumbnail=thumbnail,
        )
        try:
            with self._ctx.charges.spend(
                call,
                "uploadAvatar",
                reason=f"Avatar upload {name!r}",
                reference=Reference("avatar", avatar_id),
                purpose="upload an avatar",
            ) as charge:
                row = self._insert(user_id, project_id, avatar_id, name, traits, stored)
        except BaseException:
            self._files.delete(stored.keys)
            if not self._project_exists(user_id, project_id):
                raise ProjectNotFound(project_id) from None
            raise
        return self._result(user_id, row, charge.amount)

    def _insert(
        self,
        user_id: str,
        project_id: str,
        avatar_id: str,
        name: str,
        traits: TraitFields,
        stored: StoredImage,
    ) -> Record:
        now = datetime.now(UTC)
        values: dict[str, Any] = {
            **trait_values(traits),
            "id": avatar_id,
            "user_id": user_id,
            "project_id": project_id,
            "name": name,
            "source": "upload",
            "image_key": stored.image_key,
            "thumbnail_key": stored.thumbnail_key,
            "width": stored.width,
            "height": stored.height,
            "prompt": None,
            "seed": None,
            "preset_id": None,
            "generation_id": None,
            "usage_count": 0,
            "last_used_at": None,
            "created_at": now,
            "updated_at": now,
        }
        with self._engine.begin() as connection:
            connection.execute(sa.insert(avatars).values(values))
        return values

    def _find(self, user_id: str, avatar_id: str) -> Record | None:
        with self._engine.connect() as connection:
            return (
                connection.execute(
                    sa.select(avatars).where(
                        avatars.c.id == avatar_id, avatars.c.user_id == user_id
                    )
                )
                .mappings()
                .first()
            )

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

    def _result(self, user_id: str, row: Record, cost: int) -> Charged:
        return Charged(row, cost, self._ctx.charges.available(user_id))
