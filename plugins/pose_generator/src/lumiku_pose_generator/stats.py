"""The caller's numbers: projects, generations by status, poses made and failed, credits."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from lumiku import PluginContext
from lumiku_pose_generator.tables import generated_poses, generations, projects, selections

TOP_POSES = 5


def user_stats(ctx: PluginContext, user_id: str) -> dict[str, Any]:
    """Return the caller's Pose Generator statistics (one query per figure, all indexed)."""
    g, p = generations.c, generated_poses.c
    with ctx.engine.connect() as connection:
        project_count = connection.execute(
            sa.select(sa.func.count()).select_from(projects).where(projects.c.user_id == user_id)
        ).scalar_one()
        rows = connection.execute(
            sa.select(
                g.status,
                sa.func.count(),
                sa.func.coalesce(sa.func.sum(g.items_completed), 0),
                sa.func.coalesce(sa.func.sum(g.items_failed), 0),
                sa.func.coalesce(sa.func.sum(g.credits_charged), 0),
            )
            .where(g.user_id == user_id, g.generation_type != "BACKGROUND_CHANGE")
            .group_by(g.status)
        ).all()
        changes = connection.execute(
            sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(g.credits_charged), 0)).where(
                g.user_id == user_id,
                g.generation_type == "BACKGROUND_CHANGE",
                g.status == "completed",
            )
        ).one()
        top = connection.execute(
            sa.select(selections.c.pose_id, sa.func.count().label("uses"))
            .join(generations, generations.c.id == selections.c.generation_id)
            .where(g.user_id == user_id)
            .group_by(selections.c.pose_id)
            .order_by(sa.desc("uses"), selections.c.pose_id)
            .limit(TOP_POSES)
        ).all()
        stored = connection.execute(
            sa.select(sa.func.count()).select_from(generated_poses).where(p.user_id == user_id)
        ).scalar_one()
    by_status = {status: int(count) for status, count, *_ in rows}
    return {
        "totalProjects": int(project_count),
        "totalGenerations": sum(by_status.values()),
        "generationsByStatus": by_status,
        "posesGenerated": int(stored),
        "posesFailed": sum(int(failed) for *_, failed, _credits in rows),
        "backgroundChanges": int(changes[0]),
        "creditsSpent": sum(int(credits) for *_, credits in rows) + int(changes[1]),
        "topPoses": [{"poseId": pose_id, "uses": int(uses)} for pose_id, uses in top],
    }
