"""The Pose Generator plugin's spec: what its entry point points at."""

from __future__ import annotations

import attrs

from lumiku import PluginSpec, hard, soft


@attrs.frozen
class PoseGeneratorSettings:
    """Settings read from ``POSE_GENERATOR_*``."""

    provider: str = "local"
    worker_concurrency: int = 2


spec = PluginSpec(
    id="pose_generator",
    title="Pose Generator",
    version="0.1.0",
    description="Generate images of an avatar in poses from a library or a text prompt.",
    route_prefix="/api/apps/pose-generator",
    requires=(hard("database"), soft("redis"), soft("plugin:avatar_creator")),
    credits={"generatePose": 30, "backgroundChange": 10},
    settings=PoseGeneratorSettings,
    hooks="lumiku_pose_generator.hooks",
)
