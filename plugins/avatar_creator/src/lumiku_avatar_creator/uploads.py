"""Uploading a photo as an avatar: checked, stored, charged, recorded.

Money order. The request is checked completely first (project, fields, image content,
size and pixel limits, thumbnail), so a bad upload costs nothing and stores nothing. Then:

1. store the re-encoded image and its thumbnail;
2. spend the upload cost (one conditional ledger update; 402 when short) -- if that fails
   for any reason, the two files are deleted again;
3. insert the avatar row -- if that fails (say the project was deleted meanwhile), the
   spend is refunded by an idempotent grant keyed on the spend, and the files are deleted.

Storing before spending means a crash between 1 and 2 leaves orphaned files but never
credits taken for nothing; spending before the row means the only compensation needed is
for a database failure in 3.

Retries. A retry with the same ``Idempotency-Key`` derives the same avatar id and ledger
keys (``charges.py``). If the first attempt made the avatar, the retry returns it. If the
first attempt died between 2 and 3 (the core takes its abandoned key reservation over
after a lease), the retry spends under the same key -- the ledger replays the recorded
spend, so the upload completes without a second charge. If the first attempt refunded
its spend (3 failed and it answered 500), the retry is charged under the next round's key
(``...:retry-1``): the one avatar it makes is paid for once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import attrs
import sqlalchemy as sa
from starlette.datastructures import FormData, UploadFile

from lumiku import (
    PluginContext,
    Reference,
    ValidationFailed,
    check_image,
    make_thumbnail,
)
from lumiku_avatar_creator.charges import ChargeKeys
from lumiku_avatar_creator.errors import ProjectNotFound
from lumiku_avatar_creator.files import THUMBNAIL_SIDE, FileCleanup, StoredImage
from lumiku_avatar_creator.identity import derived_id, new_id, request_token
from lumiku_avatar_creator.models import Record, avatar_projects, avatars
from lumiku_avatar_creator.projects import find_project
from lumiku_avatar_creator.traits import TraitFields, trait_values, traits_from_form

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


def _name(form: FormData) -> str:
    value = form.get("name")
    name = value.strip() if isinstance(value, str) else ""
    if not 1 <= len(name) <= MAX_NAME:
        raise ValidationFailed(
            f"Send the avatar's name as the form field 'name' (1-{MAX_NAME} characters).",
            details={"fields": {"name": f"must be 1-{MAX_NAME} characters"}},
        )
    return name


def _image_bytes(form: FormData) -> bytes:
    image = form.get("image")
    if not isinstance(image, UploadFile):
        raise ValidationFailed(
            "Send the photo as the multipart file field 'image'.",
            details={"fields": {"image": "is required (a file)"}},
        )
    # One byte over the limit is enough for check_image to refuse the file as too large.
    return image.file.read(MAX_UPLOAD_BYTES + 1)


class Uploads:
    """Turn an uploaded photo into an avatar, charging ``uploadAvatar`` credits."""

    def __init__(self, ctx: PluginContext, files: FileCleanup) -> None:
        self._ctx = ctx
        self._engine = ctx.engine
        self._ledger = ctx.ledger
        self._files = files

    def upload(
        self, user_id: str, project_id: str, form: FormData, idempotency_key: str | None
    ) -> Charged:
        """Check, store and charge an upload; see the module docstring for the order."""
        with self._engine.connect() as connection:
            find_project(connection, user_id, project_id)
        name = _name(form)
        traits = traits_from_form(form)
        checked = check_image(
            _image_bytes(form), max_bytes=MAX_UPLOAD_BYTES, min_side=MIN_SIDE, max_side=MAX_SIDE
        )
        thumbnail = make_thumbnail(checked, max_side=THUMBNAIL_SIDE)
        cost = self._ctx.cost("uploadAvatar")
        token, from_client = request_token(idempotency_key)
        avatar_id = derived_id("upload", user_id, token) if from_client else new_id()
        if from_client:
            existing = self._find(user_id, avatar_id)
            if existing is not None:
                return self._result(user_id, existing, cost)
        stored = self._files.store(
            checked.data,
            suffix=checked.suffix,
            width=checked.width,
            height=checked.height,
            thumbnail=thumbnail,
        )
        keys = ChargeKeys.of("upload", user_id, token)
        try:
            if cost > 0:
                keys = ChargeKeys.current(self._ledger, "upload", user_id, token)
                self._ledger.spend(
                    user_id,
                    cost,
                    "avatar upload",
                    keys.spend,
                    plugin=self._ctx.id,
                    reference=Reference("avatar", avatar_id),
                )
        except BaseException:
            self._files.delete(stored.keys)
            raise
        try:
            row = self._insert(user_id, project_id, avatar_id, name, traits, stored)
        except BaseException:
            self._files.delete(stored.keys)
            existing = self._find_quietly(user_id, avatar_id)
            if existing is not None:  # a concurrent retry with the same key won
                return self._result(user_id, existing, cost)
            if cost > 0:
                self._refund(user_id, cost, avatar_id, keys)
            if not self._project_exists(user_id, project_id):
                raise ProjectNotFound(project_id) from None
            raise
        return self._result(user_id, row, cost)

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

    def _refund(self, user_id: str, cost: int, avatar_id: str, keys: ChargeKeys) -> None:
        try:
            self._ledger.grant(
                user_id,
                cost,
                "refund: the uploaded avatar could not be saved",
                keys.refund,
                plugin=self._ctx.id,
                reference=Reference("avatar", avatar_id),
            )
        except Exception:
            self._ctx.logger.exception(
                "❌ upload %s: the spend of %d credits could not be refunded", avatar_id, cost
            )
            raise

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

    def _find_quietly(self, user_id: str, avatar_id: str) -> Record | None:
        # While compensating, a failing lookup must not stop the refund that follows.
        try:
            return self._find(user_id, avatar_id)
        except Exception:
            self._ctx.logger.exception("⚠️ upload %s: lookup failed while compensating", avatar_id)
            return None

    def _project_exists(self, user_id: str, project_id: str) -> bool:
        query = sa.select(avatar_projects.c.id).where(
            avatar_projects.c.id == project_id, avatar_projects.c.user_id == user_id
        )
        with self._engine.connect() as connection:
            return connection.execute(query).first() is not None

    def _result(self, user_id: str, row: Record, cost: int) -> Charged:
        return Charged(row, cost, self._ledger.balance(user_id).available)
