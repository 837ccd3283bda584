"""Reading generations and their results: progress, ETA, credits, pages of poses.

A generation's view carries its progress (0-100), poses completed and failed, the credits
held, charged and released, timing (average seconds per pose, the estimated completion
time while it runs) and how many times the recovery re-queued it. Results are the
generated poses in order, with signed URLs of the image, the thumbnail and exports made.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from lumiku import HeldJobs, Page, PageQuery, PluginContext, fetch_page, in_order
from lumiku_pose_generator.errors import GenerationNotFound, PoseNotFound
from lumiku_pose_generator.tables import Record, generated_poses, generations


def iso(moment: datetime | None) -> str | None:
    """Return an ISO 8601 UTC timestamp, or None."""
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


class Results:
    """Read generations, their poses and their files."""

    def __init__(self, ctx: PluginContext, jobs: HeldJobs) -> None:
        self._ctx = ctx
        self._jobs = jobs

    def generation(self, user_id: str, generation_id: str) -> Record:
        """Return the caller's generation row or raise ``GenerationNotFound``."""
        row = self._jobs.get(generation_id, user_id)
        if row is None:
            raise GenerationNotFound(generation_id)
        return row

    def view(self, row: Record) -> dict[str, Any]:
        """Return the wire view of a generation: progress, credits, timing, ETA, failures."""
        items = self._jobs.items(row["id"])
        timed = [item.seconds for item in items if item.status == "completed"]
        average = sum(timed) / len(timed) if timed else None
        total = int(row["items_total"])
        done, failed = int(row["items_completed"]), int(row["items_failed"])
        finished = row["status"] in ("completed", "partial", "failed")
        held = int(row["unit_cost"]) * total
        charged = int(row["credits_charged"])
        eta = None
        if not finished:
            per_pose = average if average is not None else self._ctx.settings.seconds_per_pose
            eta = iso(self._ctx.clock() + timedelta(seconds=per_pose * (total - done - failed)))
        return {
            "id": row["id"],
            "generationId": row["id"],
            "projectId": row["project_id"],
            "generationType": row["generation_type"],
            "status": row["status"],
            "progress": 100 if total == 0 else round(100 * (done + failed) / total),
            "totalPosesExpected": total,
            "posesCompleted": done,
            "posesFailed": failed,
            "creditCharged": held,
            "creditsCaptured": charged if finished else 0,
            "creditsReleased": held - charged if finished else 0,
            "textPrompt": row["text_prompt"],
            "batchSize": row["batch_size"],
            "variationCount": row["variation_count"],
            "useBackgroundChanger": bool(row["use_background_changer"]),
            "backgroundMode": row["background_mode"],
            "outputFormats": list(row["output_formats"] or []),
            "errorCode": row["error_code"],
            "errorMessage": row["error_message"],
            "recoveryAttempts": int(row["requeues"]),
            "averageSecondsPerPose": None if average is None else round(average, 3),
            "estimatedCompletionTime": eta,
            "createdAt": iso(row["created_at"]),
            "startedAt": iso(row["started_at"]),
            "finishedAt": iso(row["finished_at"]),
            "failedPoses": [
                {"variationKey": i.item, "errorCode": i.error_code, "errorMessage": i.error_message}
                for i in items
                if i.status == "failed"
            ],
        }

    def page(self, user_id: str, generation_id: str, query: PageQuery) -> Page[Record]:
        """Return a page of a generation's poses, in order."""
        self.generation(user_id, generation_id)
        p = generated_poses.c
        select = sa.select(generated_poses).where(p.generation_id == generation_id)
        with self._ctx.engine.connect() as connection:
            return fetch_page(connection, select, query, in_order(p.position, p.id))

    def pose(self, user_id: str, pose_id: str) -> Record:
        """Return the caller's generated pose or raise ``PoseNotFound``."""
        p = generated_poses.c
        with self._ctx.engine.connect() as connection:
            row = (
                connection.execute(
                    sa.select(generated_poses).where(p.id == pose_id, p.user_id == user_id)
                )
                .mappings()
                .first()
            )
        if row is None:
            raise PoseNotFound(pose_id)
        return row

    def pose_view(self, row: Record) -> dict[str, Any]:
        """Return the wire view of a generated pose with signed file URLs."""
        sign = self._sign
        return {
            "id": row["id"],
            "generationId": row["generation_id"],
            "poseLibraryId": row["pose_library_id"],
            "variationKey": row["variation_key"],
            "position": row["position"],
            "imageUrl": sign(row["image_key"]),
            "thumbnailUrl": sign(row["thumbnail_key"]),
            "width": row["width"],
            "height": row["height"],
            "backgroundChanged": bool(row["background_changed"]),
            "backgroundMode": row["background_mode"],
            "exports": {name: sign(key) for name, key in dict(row["export_keys"] or {}).items()},
            "createdAt": iso(row["created_at"]),
        }

    def _sign(self, key: str) -> str:
        return self._ctx.files.sign(key, expires_in=self._ctx.settings.url_expires_in)


def generation_rows(connection: sa.Connection, user_id: str) -> list[Record]:
    """Return the caller's generations (for stats)."""
    g = generations.c
    return list(connection.execute(sa.select(generations).where(g.user_id == user_id)).mappings())
