"""The Avatar Creator plugin's spec: what its entry point points at."""

from __future__ import annotations

import attrs

from lumiku import PluginSpec, hard, soft


def _positive(_instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value < 1:
        raise ValueError(f"{attribute.name} must be at least 1, got {value}")


@attrs.frozen
class AvatarCreatorSettings:
    """Settings read from ``AVATAR_CREATOR_<FIELD>`` or ``[plugins.avatar_creator]``.

    ``provider`` names the image provider (``local`` or ``huggingface``). A generation job
    runs at most ``time_limit`` seconds per attempt and is retried ``max_retries`` times,
    waiting at least ``retry_backoff_ms`` between attempts; a job still queued after
    ``max_queue_age`` seconds is dropped and its credits come back. Signed file URLs last
    ``url_expires_in`` seconds; preset previews are ``preview_size`` pixels square. Jobs
    whose worker or message was lost are recovered by the core (``lumiku.heldjobs``).
    """

    provider: str = "local"
    max_retries: int = attrs.field(default=3, validator=attrs.validators.ge(0))
    time_limit: int = attrs.field(default=900, validator=_positive)
    retry_backoff_ms: int = attrs.field(default=2000, validator=_positive)
    max_queue_age: int = attrs.field(default=3600, validator=_positive)
    url_expires_in: int = attrs.field(
        default=3600, validator=attrs.validators.in_(range(60, 86401))
    )
    preview_size: int = attrs.field(default=384, validator=attrs.validators.in_(range(64, 1025)))


spec = PluginSpec(
    id="avatar_creator",
    title="Avatar Creator",
    description="Create AI avatars from photos, prompts and presets.",
    route_prefix="/api/apps/avatar-creator",
    requires=(hard("database"), soft("redis")),
    credits={"generateAvatar": 10, "uploadAvatar": 2, "fromPreset": 8, "editPersona": 0},
    settings=AvatarCreatorSettings,
    hooks="lumiku_avatar_creator.hooks",
)
