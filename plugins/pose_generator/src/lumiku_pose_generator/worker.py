"""The generation job's work, on the core's held jobs kit: render, store and record one pose.

The kit claims the generation, skips items already finished (a redelivered message never
renders or charges a pose twice), publishes progress after each pose, captures the cost of
the poses made and releases the rest. This module makes one pose: ``produce`` renders it
and stores the PNG and its thumbnail (made from the rendered pixels; both files durable
before the row is written, with one directory sync); ``record`` inserts the
``generated_poses`` row (unique per generation and variation key, the item key) in the
kit's transaction (a project's pose count is counted when it is read, so workers never
queue on the project's row); ``discard`` deletes the files of a pose that will not be
recorded. A background change points the pose at its new files and, once that committed,
deletes the files it replaced (image, thumbnail and exports).

Items: ``<n>:<poseId>`` for the ``n``-th pose of a gallery or text generation, and
``background`` for a background change of one result (``source_pose_id``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import sqlalchemy as sa

from lumiku import ItemFailed, Job, NotFound, PluginContext
from lumiku_pose_generator.avatars import ImageCache, record_usage
from lumiku_pose_generator.poses import LibraryPose, find_poses
from lumiku_pose_generator.render import (
    Background,
    RenderedPose,
    render_pose,
    seed_of,
    thumbnail,
)
from lumiku_pose_generator.tables import generated_poses

BACKGROUND_ITEM = "background"
_POSE_CACHE = 512
_POSE_IDS = uuid.UUID("5b0f3c1e-8a4d-4f6b-9c2e-7d1a0b3e5f21")


def generated_pose_id(generation_id: str, item: str) -> str:
    """Return the id of the pose an item of a generation makes (the same on every delivery)."""
    return str(uuid.uuid5(_POSE_IDS, f"{generation_id}/{item}"))


def item_keys(job: Job) -> list[str]:
    """Return the item keys of a generation row, in order."""
    if job["generation_type"] == "BACKGROUND_CHANGE":
        return [BACKGROUND_ITEM]
    batch = int(job["batch_size"])
    expanded = [pose_id for pose_id in job["pose_ids"] for _ in range(batch)]
    return [f"{index}:{pose_id}" for index, pose_id in enumerate(expanded)]


@attrs.frozen
class StoredPose:
    """The files of one rendered pose."""

    image_key: str
    thumbnail_key: str
    pose_id: str | None
    seed: int
    width: int
    height: int

    @property
    def keys(self) -> list[str]:
        """Return the storage keys of the files."""
        return [self.image_key, self.thumbnail_key]


class PoseWork:
    """Render the poses of generations; see the module docstring."""

    def __init__(self, ctx: PluginContext) -> None:
        self._ctx = ctx
        self._images = ImageCache(ctx)
        self._used: set[str] = set()
        self._poses: dict[str, LibraryPose] = {}

    def items(self, job: Job) -> Sequence[str]:
        """Return the item keys of ``job``."""
        return item_keys(job)

    def produce(self, job: Job, item: str) -> StoredPose:
        """Render one pose (or one background change) and store it with its thumbnail."""
        if item == BACKGROUND_ITEM:
            return self._background_change(job)
        self._record_usage(job)
        _, pose_id = item.split(":", 1)
        pose = self._pose(pose_id)
        seed = seed_of(str(job["seed"]), item)
        rendered = self._render(job, pose, seed, self._background(job))
        return self._store(rendered, pose.id, seed, job)

    def record(
        self, connection: sa.Connection, job: Job, item: str, result: StoredPose
    ) -> Callable[[], None] | None:
        """Insert the pose's row (or point the changed pose at its new image).

        For a background change, return the deletion of the files it replaced, which the
        kit runs once the transaction committed.
        """
        now = self._ctx.clock()
        if item == BACKGROUND_ITEM:
            p = generated_poses.c
            # Locked until the commit: a concurrent change of the same pose reads what this
            # one stores, so each deletes exactly the files it replaced.
            old = connection.execute(
                sa.select(p.image_key, p.thumbnail_key, p.export_keys)
                .where(p.id == job["source_pose_id"])
                .with_for_update()
            ).first()
            connection.execute(
                sa.update(generated_poses)
                .where(generated_poses.c.id == job["source_pose_id"])
                .values(
                    image_key=result.image_key,
                    thumbnail_key=result.thumbnail_key,
                    background_changed=True,
                    background_mode=job["background_mode"],
                    export_keys={},
                    updated_at=now,
                )
            )
            if old is None:
                return None
            replaced = [old.image_key, old.thumbnail_key, *dict(old.export_keys or {}).values()]
            return lambda: self._delete([key for key in replaced if key not in result.keys])
        position = int(item.split(":", 1)[0])
        connection.execute(
            sa.insert(generated_poses).values(
                id=generated_pose_id(job["id"], item),
                generation_id=job["id"],
                user_id=job["user_id"],
                project_id=job["project_id"],
                pose_library_id=result.pose_id,
                variation_key=item,
                position=position,
                image_key=result.image_key,
                thumbnail_key=result.thumbnail_key,
                width=result.width,
                height=result.height,
                seed=result.seed,
                background_changed=bool(job["use_background_changer"]),
                background_mode=job["background_mode"],
                export_keys={},
                created_at=now,
                updated_at=now,
            )
        )
        return None

    def discard(self, result: StoredPose) -> None:
        """Delete the files of a pose that was not recorded."""
        self._delete(result.keys)

    def _delete(self, keys: list[str]) -> None:
        for key in keys:
            self._ctx.storage.delete(key)

    # -- steps ----------------------------------------------------------------------------

    def _record_usage(self, job: Job) -> None:
        if job["avatar_id"] and job["id"] not in self._used:
            record_usage(self._ctx, job["avatar_id"], job["user_id"], job["id"])
            self._used.add(job["id"])

    def _pose(self, pose_id: str) -> LibraryPose:
        pose = self._poses.get(pose_id)
        if pose is not None:
            return pose
        with self._ctx.engine.connect() as connection:
            pose = find_poses(connection, [pose_id]).get(pose_id)
        if pose is not None and len(self._poses) < _POSE_CACHE:
            self._poses[pose_id] = pose  # library poses change only by a new seed
        if pose is None:
            raise ItemFailed("POSE_NOT_FOUND", f"Library pose {pose_id} no longer exists.")
        return pose

    def _read(self, key: str, what: str) -> bytes:
        try:
            return self._images.read(key)
        except NotFound:
            raise ItemFailed("IMAGE_MISSING", f"The {what} image is no longer stored.") from None

    def _background(self, job: Job) -> Background | None:
        if not job["use_background_changer"]:
            return None
        image = None
        if job["background_mode"] == "upload" and job["background_image_key"]:
            image = self._read(job["background_image_key"], "background")
        return Background(
            mode=job["background_mode"],
            color=job["background_color"],
            image=image,
            prompt=job["background_prompt"],
        )

    def _render(
        self, job: Job, pose: LibraryPose, seed: int, bg: Background | None
    ) -> RenderedPose:
        settings = self._ctx.settings
        provider = self._ctx.image_provider(settings.provider)
        return render_pose(
            provider,
            prompt=job["text_prompt"] or pose.name,
            keypoints=pose.keypoints,
            avatar=self._read(job["avatar_image_key"], "avatar"),
            size=(int(job["width"]), int(job["height"])),
            seed=seed,
            background=bg,
        )

    def _store(
        self, rendered: RenderedPose, pose_id: str | None, seed: int, job: Job
    ) -> StoredPose:
        thumb = thumbnail(rendered, self._ctx.settings.thumbnail_size)
        # Both durable before the row is written; one directory sync for the two.
        image_key, thumbnail_key = self._ctx.storage.put_many(
            [(rendered.png, ".png"), (thumb, ".jpg")]
        )
        return StoredPose(
            image_key, thumbnail_key, pose_id, seed, int(job["width"]), int(job["height"])
        )

    def _background_change(self, job: Job) -> StoredPose:
        with self._ctx.engine.connect() as connection:
            source: Any = (
                connection.execute(
                    sa.select(generated_poses).where(generated_poses.c.id == job["source_pose_id"])
                )
                .mappings()
                .first()
            )
        if source is None or source["pose_library_id"] is None:
            raise ItemFailed("POSE_NOT_FOUND", "The pose to change no longer exists.")
        pose = self._pose(source["pose_library_id"])
        rendered = self._render(job, pose, int(source["seed"]), self._background(job))
        return self._store(rendered, pose.id, int(source["seed"]), job)
