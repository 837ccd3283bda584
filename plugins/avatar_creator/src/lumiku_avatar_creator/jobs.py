"""The generation job: the work of its one item, the avatar, on the core's held jobs kit.

The kit (``lumiku.heldjobs``) claims the generation, retries, recovers it when its worker
or message is lost, captures its hold when the avatar is recorded and releases it when the
generation fails. This module only makes the avatar: ``produce`` calls the image provider
and stores the image and its thumbnail; ``record`` inserts the avatar row and links it to
the generation, in the kit's transaction (so a generation is never completed without its
avatar, nor an avatar left behind by a generation that lost its claim); ``discard``
deletes the files of an avatar that will not be recorded.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from lumiku import GeneratedImage, Job, JobLimits, PluginContext
from lumiku_avatar_creator.files import FileCleanup, StoredImage
from lumiku_avatar_creator.models import avatar_generations, avatars
from lumiku_avatar_creator.plugin import AvatarCreatorSettings
from lumiku_avatar_creator.prompts import image_request
from lumiku_avatar_creator.traits import TRAIT_COLUMNS

JOB_NAME = "generate"
ITEM = "avatar"
_SUFFIXES = {"image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp"}
_AVATAR_IDS = uuid.UUID("9f8a0c84-6b0e-4e3a-9d52-1b7a6c2f4e11")


def job_limits(settings: AvatarCreatorSettings) -> JobLimits:
    """Return the limits of a generation job from the plugin's settings."""
    return JobLimits(
        time_limit=timedelta(seconds=settings.time_limit),
        max_retries=settings.max_retries,
        min_backoff=timedelta(milliseconds=settings.retry_backoff_ms),
        max_queue_age=timedelta(seconds=settings.max_queue_age),
    )


def avatar_id_of(generation_id: str) -> str:
    """Return the id of the avatar a generation makes (the same for every delivery)."""
    return str(uuid.uuid5(_AVATAR_IDS, generation_id))


class AvatarWork:
    """Make the avatar of a generation; see the module docstring."""

    def __init__(self, ctx: PluginContext, files: FileCleanup) -> None:
        self._ctx = ctx
        self._files = files

    def items(self, job: Job) -> Sequence[str]:
        """Return the one item of a generation."""
        return [ITEM]

    def produce(self, job: Job, item: str) -> StoredImage:
        """Generate the image with the configured provider and store it with a thumbnail."""
        provider = self._ctx.image_provider(self._ctx.settings.provider)
        image: GeneratedImage = provider.generate(image_request(job))
        suffix = _SUFFIXES.get(image.content_type, ".png")
        return self._files.store(image.data, suffix=suffix, width=image.width, height=image.height)

    def record(self, connection: sa.Connection, job: Job, item: str, result: StoredImage) -> None:
        """Insert the avatar and link it to its generation."""
        avatar = self._avatar(job, result)
        connection.execute(sa.insert(avatars).values(avatar))
        connection.execute(
            sa.update(avatar_generations)
            .where(avatar_generations.c.id == job["id"])
            .values(avatar_id=avatar["id"])
        )

    def discard(self, result: StoredImage) -> None:
        """Delete the files of an avatar that was not recorded."""
        self._files.delete(result.keys)

    def _avatar(self, job: Job, stored: StoredImage) -> dict[str, Any]:
        now = datetime.now(UTC)
        return {
            **{name: job[name] for name in TRAIT_COLUMNS},
            "id": avatar_id_of(job["id"]),
            "user_id": job["user_id"],
            "project_id": job["project_id"],
            "name": job["name"],
            "source": "preset" if job["kind"] == "preset" else "generated",
            "image_key": stored.image_key,
            "thumbnail_key": stored.thumbnail_key,
            "width": stored.width,
            "height": stored.height,
            "prompt": job["prompt"],
            "seed": job["seed"],
            "preset_id": job["preset_id"],
            "generation_id": job["id"],
            "usage_count": 0,
            "last_used_at": None,
            "created_at": now,
            "updated_at": now,
        }
