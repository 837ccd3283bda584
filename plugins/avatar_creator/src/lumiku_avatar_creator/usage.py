"""Public service for other plugins: look up a user's avatar and record that it was used.

Other plugins (the pose generator) call these functions with their own ``ctx.engine``
instead of touching this plugin's tables::

    from lumiku_avatar_creator.usage import find_avatar, record_avatar_usage

    avatar = find_avatar(ctx.engine, avatar_id, user_id)  # None: not the user's
    record_avatar_usage(
        ctx.engine, avatar_id, user_id, "pose_generator", "generate_pose", generation_id
    )

Recording is idempotent per ``(avatar, app, action, reference_id)`` when a
``reference_id`` is given, so a re-delivered job records its use once.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import attrs
import sqlalchemy as sa

from lumiku import Page, PageQuery, fetch_page, newest_first
from lumiku_avatar_creator.errors import AvatarNotFound
from lumiku_avatar_creator.models import Record, avatar_usage_history, avatars
from lumiku_avatar_creator.traits import TRAIT_COLUMNS

__all__ = ["AvatarRecord", "AvatarUsage", "find_avatar", "record_avatar_usage"]

_MAX_LABEL = 64
_MAX_REFERENCE = 255


@attrs.frozen
class AvatarRecord:
    """What another plugin may know about an avatar: its image keys, size and traits.

    ``image_key`` and ``thumbnail_key`` are keys in the ``avatar-creator`` storage folder;
    sign them with ``ctx.files.sign(key)`` to hand out URLs.
    """

    id: str
    user_id: str
    project_id: str
    name: str
    image_key: str
    thumbnail_key: str | None
    width: int
    height: int
    traits: Record


@attrs.frozen
class AvatarUsage:
    """How often one app used an avatar, and when last."""

    app_id: str
    count: int
    last_used_at: datetime | None


def _label(name: str, value: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise ValueError(f"{name} must be a non-empty string of at most {limit} characters")
    return value


def find_avatar(engine: sa.Engine, avatar_id: str, user_id: str) -> AvatarRecord | None:
    """Return the user's avatar, or None when it does not exist or is someone else's."""
    with engine.connect() as connection:
        row = (
            connection.execute(
                sa.select(avatars).where(avatars.c.id == avatar_id, avatars.c.user_id == user_id)
            )
            .mappings()
            .first()
        )
    if row is None:
        return None
    return AvatarRecord(
        id=row["id"],
        user_id=row["user_id"],
        project_id=row["project_id"],
        name=row["name"],
        image_key=row["image_key"],
        thumbnail_key=row["thumbnail_key"],
        width=row["width"],
        height=row["height"],
        traits={name: row[name] for name in TRAIT_COLUMNS},
    )


def record_avatar_usage(
    engine: sa.Engine,
    avatar_id: str,
    user_id: str,
    app_id: str,
    action: str,
    reference_id: str | None = None,
) -> bool:
    """Record that ``app_id`` used the user's avatar for ``action``; return False for a repeat.

    Raise ``AvatarNotFound`` when the avatar does not exist or belongs to another user,
    and ``ValueError`` for a label that is empty or too long.
    """
    _label("app_id", app_id, _MAX_LABEL)
    _label("action", action, _MAX_LABEL)
    if reference_id is not None:
        _label("reference_id", reference_id, _MAX_REFERENCE)
    now = datetime.now(UTC)
    owned = sa.select(avatars.c.id).where(avatars.c.id == avatar_id, avatars.c.user_id == user_id)
    try:
        with engine.begin() as connection:
            if connection.execute(owned).first() is None:
                raise AvatarNotFound(avatar_id)
            connection.execute(
                sa.insert(avatar_usage_history).values(
                    id=str(uuid.uuid4()),
                    avatar_id=avatar_id,
                    user_id=user_id,
                    app_id=app_id,
                    action=action,
                    reference_id=reference_id,
                    created_at=now,
                )
            )
            connection.execute(
                sa.update(avatars)
                .where(avatars.c.id == avatar_id)
                .values(usage_count=avatars.c.usage_count + 1, last_used_at=now)
            )
    except sa.exc.IntegrityError:
        # Either this use is already recorded, or the avatar was deleted meanwhile.
        with engine.connect() as connection:
            if connection.execute(owned).first() is None:
                raise AvatarNotFound(avatar_id) from None
        return False
    return True


def usage_page(engine: sa.Engine, avatar_id: str, page: PageQuery) -> Page[Record]:
    """Return a page of an avatar's usage records, newest first."""
    table = avatar_usage_history.c
    query = sa.select(avatar_usage_history).where(table.avatar_id == avatar_id)
    with engine.connect() as connection:
        return fetch_page(connection, query, page, newest_first(table.created_at, table.id))


def usage_summary(engine: sa.Engine, avatar_id: str) -> list[AvatarUsage]:
    """Return how often each app used an avatar, most used first."""
    table = avatar_usage_history.c
    query = (
        sa.select(table.app_id, sa.func.count(), sa.func.max(table.created_at))
        .where(table.avatar_id == avatar_id)
        .group_by(table.app_id)
        .order_by(sa.func.count().desc(), table.app_id)
    )
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    return [AvatarUsage(app_id, int(count), last) for app_id, count, last in rows]
