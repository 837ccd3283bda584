"""The Pose Generator plugin's spec: what its entry point points at."""

from __future__ import annotations

import attrs

from lumiku import PluginSpec, hard, soft


def _positive(_instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value < 1:
        raise ValueError(f"{attribute.name} must be at least 1, got {value}")


@attrs.frozen
class PoseGeneratorSettings:
    """Settings read from ``POSE_GENERATOR_<FIELD>`` or ``[plugins.pose_generator]``.

    ``provider`` names the image provider; poses are rendered at ``image_width`` x
    ``image_height`` pixels with a ``thumbnail_size`` square thumbnail. A generation's
    attempt runs at most ``time_limit`` seconds and is retried ``max_retries`` times; a
    generation whose worker stopped (no lease renewal for ``lease_seconds``) is queued
    again up to ``max_requeues`` times, then failed with what it made kept and the rest of
    its credits released. ``seconds_per_pose`` seeds the completion estimate until poses
    have been timed. Signed file URLs last ``url_expires_in`` seconds.
    """

    provider: str = "local"
    worker_concurrency: int = attrs.field(default=2, validator=_positive)
    image_width: int = attrs.field(default=768, validator=attrs.validators.in_(range(64, 2049)))
    image_height: int = attrs.field(default=1024, validator=attrs.validators.in_(range(64, 2049)))
    thumbnail_size: int = attrs.field(default=400, validator=attrs.validators.in_(range(16, 1025)))
    time_limit: int = attrs.field(default=900, validator=_positive)
    max_retries: int = attrs.field(default=3, validator=attrs.validators.ge(0))
    lease_seconds: int = attrs.field(default=45, validator=_positive)
    max_requeues: int = attrs.field(default=3, validator=attrs.validators.ge(0))
    seconds_per_pose: int = attrs.field(default=2, validator=_positive)
    url_expires_in: int = attrs.field(
        default=3600, validator=attrs.validators.in_(range(60, 86401))
    )


spec = PluginSpec(
    id="pose_generator",
    title="Pose Generator",
    description="Generate images of an avatar in poses from a library or a text prompt.",
    route_prefix="/api/apps/pose-generator",
    requires=(hard("database"), soft("redis"), soft("plugin:avatar_creator")),
    credits={"generatePose": 30, "backgroundChange": 10},
    settings=PoseGeneratorSettings,
    hooks="lumiku_pose_generator.hooks",
)
