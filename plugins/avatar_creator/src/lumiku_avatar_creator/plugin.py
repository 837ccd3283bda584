"""The Avatar Creator plugin's spec: what its entry point points at."""

from __future__ import annotations

import attrs

from lumiku import PluginSpec, hard, soft


@attrs.frozen
class AvatarCreatorSettings:
    """Settings read from ``AVATAR_CREATOR_*``."""

    provider: str = "local"


spec = PluginSpec(
    id="avatar_creator",
    title="Avatar Creator",
    version="0.1.0",
    description="Create AI avatars from photos, prompts and presets.",
    route_prefix="/api/apps/avatar-creator",
    requires=(hard("database"), soft("redis")),
    credits={"generateAvatar": 10, "uploadAvatar": 2, "fromPreset": 8, "editPersona": 0},
    settings=AvatarCreatorSettings,
    hooks="lumiku_avatar_creator.hooks",
)
