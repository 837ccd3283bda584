"""The avatar a project poses: one of the user's Avatar Creator avatars, or an uploaded image.

Avatar Creator avatars are read through that plugin's public service
(``lumiku_avatar_creator.usage``: ``find_avatar`` and ``record_avatar_usage``), imported
only when it is installed and serving; its internals are never touched. An uploaded image
is named by a file URL this server signed (``POST /uploads`` hands one out; an Avatar
Creator image URL works too): the key it names is kept and its bytes are read through the
core's signed reads. With Avatar Creator off, projects use uploaded images only.
"""

from __future__ import annotations

import importlib
import threading
from collections import OrderedDict
from typing import Any

import attrs

from lumiku import LumikuError, PluginContext, check_image
from lumiku_pose_generator.errors import AvatarCreatorUnavailable, invalid

APP_ID = "pose_generator"
_SERVICE = "lumiku_avatar_creator.usage"
_CACHE_SIZE = 16


@attrs.frozen
class AvatarChoice:
    """The avatar of a project: where it comes from, its id (Avatar Creator) and image key."""

    source: str
    avatar_id: str | None
    image_key: str


def avatar_service(ctx: PluginContext) -> Any | None:
    """Return Avatar Creator's public service, or None when it is not installed or serving."""
    if "plugin:avatar_creator" in ctx.record.missing_soft:
        return None
    try:
        return importlib.import_module(_SERVICE)
    except ImportError:
        return None


def choose_avatar(
    ctx: PluginContext, user_id: str, source: str, avatar_id: str | None, image_url: str | None
) -> AvatarChoice:
    """Check a project's avatar and return it; 422 naming the field at fault, 503 when
    ``AVATAR_CREATOR`` is asked for while that plugin is off."""
    if source == "AVATAR_CREATOR":
        if not avatar_id:
            raise invalid({"avatarId": "is required when avatarSource is AVATAR_CREATOR"})
        service = avatar_service(ctx)
        if service is None:
            raise AvatarCreatorUnavailable(
                "Avatar Creator is not available on this server; create the project with "
                "avatarSource UPLOAD and an uploaded image instead."
            )
        avatar = service.find_avatar(ctx.engine, avatar_id, user_id)
        if avatar is None:
            raise invalid({"avatarId": "must be one of your Avatar Creator avatars"})
        return AvatarChoice("AVATAR_CREATOR", avatar.id, avatar.image_key)
    if not image_url:
        raise invalid({"avatarImageUrl": "is required when avatarSource is UPLOAD"})
    key = ctx.storage.signed_key(image_url, field="avatarImageUrl")
    check_uploaded_image(ctx, key, "avatarImageUrl")
    return AvatarChoice("UPLOAD", None, key)


def check_uploaded_image(ctx: PluginContext, key: str, field: str) -> None:
    """Check that ``key`` names a readable image; 422 naming ``field`` otherwise."""
    try:
        check_image(ctx.storage.read_any(key), min_side=16)
    except LumikuError as exc:  # NotFound, UnsupportedMedia, a corrupt image...
        raise invalid({field: f"must name a stored JPEG, PNG or WebP image ({exc})"}) from None


def record_usage(ctx: PluginContext, avatar_id: str, user_id: str, generation_id: str) -> None:
    """Record the avatar's use by a generation in Avatar Creator's history (once; best effort)."""
    service = avatar_service(ctx)
    if service is None:
        return
    try:
        service.record_avatar_usage(
            ctx.engine, avatar_id, user_id, APP_ID, "generate_pose", generation_id
        )
    except Exception as exc:  # noqa: BLE001 - the avatar was deleted meanwhile: the poses still render
        ctx.logger.warning("avatar %s use not recorded: %s", avatar_id, exc)


class ImageCache:
    """A few recently read images by storage key (a generation reads its avatar per pose)."""

    def __init__(self, ctx: PluginContext) -> None:
        self._ctx = ctx
        self._lock = threading.Lock()
        self._images: OrderedDict[str, bytes] = OrderedDict()

    def read(self, key: str) -> bytes:
        """Return the bytes stored under ``key`` (any folder); raise ``NotFound`` when gone."""
        with self._lock:
            if key in self._images:
                self._images.move_to_end(key)
                return self._images[key]
        data = self._ctx.storage.read_any(key)
        with self._lock:
            self._images[key] = data
            while len(self._images) > _CACHE_SIZE:
                self._images.popitem(last=False)
        return data
