"""What the API answers: attrs classes rendered as camelCase JSON, built from table rows.

File URLs are signed per response (``/files/<key>?expires=..&signature=..``), so a client
fetches images without sending its token, and a link stops working after
``AVATAR_CREATOR_URL_EXPIRES_IN`` seconds.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import attrs

from lumiku_avatar_creator.traits import TraitsView, traits_view_values

if TYPE_CHECKING:
    from lumiku_avatar_creator.models import Record
from lumiku import PluginContext


@attrs.frozen(kw_only=True)
class AvatarView(TraitsView):
    """An avatar: its image (signed URLs), persona, visual attributes and how it was made."""

    id: str
    project_id: str
    name: str
    source: str
    image_url: str
    thumbnail_url: str | None
    width: int
    height: int
    prompt: str | None
    seed: int | None
    preset_id: str | None
    generation_id: str | None
    usage_count: int
    last_used_at: datetime | None
    created_at: datetime
    updated_at: datetime


@attrs.frozen(kw_only=True)
class AvatarProjectView:
    """A project with its newest avatars (``avatarCount`` counts them all)."""

    id: str
    name: str
    description: str | None
    avatar_count: int
    avatars: list[AvatarView]
    created_at: datetime
    updated_at: datetime


@attrs.frozen
class GenerationErrorView:
    """Why a generation failed."""

    code: str
    message: str


@attrs.frozen(kw_only=True)
class AvatarGenerationView(TraitsView):
    """A queued generation: ``pending``, ``processing``, ``completed`` or ``failed``."""

    id: str
    project_id: str
    kind: str
    name: str
    prompt: str
    preset_id: str | None
    width: int
    height: int
    seed: int
    status: str
    credit_cost: int
    avatar_id: str | None
    avatar: AvatarView | None
    error: GenerationErrorView | None
    attempts: int
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    completed_at: datetime | None


@attrs.frozen(kw_only=True)
class PresetView(TraitsView):
    """A ready-made avatar recipe with a preview rendered by the local provider."""

    id: str
    name: str
    description: str
    category: str
    prompt: str
    preview_url: str | None
    usage_count: int
    credit_cost: int


@attrs.frozen(kw_only=True)
class PersonaExampleView(TraitsView):
    """A sample persona to start from."""

    id: str
    title: str
    category: str


@attrs.frozen
class AvatarUploadResult:
    """The uploaded avatar, the credits it cost and the available credits left."""

    avatar: AvatarView
    credit_used: int
    credit_balance: int


@attrs.frozen
class AvatarGenerationResult:
    """The queued generation, the credits held for it and the available credits left."""

    generation: AvatarGenerationView
    credit_used: int
    credit_balance: int


@attrs.frozen
class AvatarProjectPage:
    """Projects newest first; pass ``nextCursor`` as ``cursor`` for more."""

    projects: list[AvatarProjectView]
    next_cursor: str | None


@attrs.frozen
class AvatarPage:
    """Avatars newest first; pass ``nextCursor`` as ``cursor`` for more."""

    avatars: list[AvatarView]
    next_cursor: str | None


@attrs.frozen
class AvatarGenerationPage:
    """Generations newest first; pass ``nextCursor`` as ``cursor`` for more."""

    generations: list[AvatarGenerationView]
    next_cursor: str | None


@attrs.frozen
class PresetPage:
    """Presets in catalog order; pass ``nextCursor`` as ``cursor`` for more."""

    presets: list[PresetView]
    next_cursor: str | None


@attrs.frozen
class PersonaExamplePage:
    """Persona examples in catalog order; pass ``nextCursor`` as ``cursor`` for more."""

    persona_examples: list[PersonaExampleView]
    next_cursor: str | None


@attrs.frozen
class AppUsageView:
    """How often one app used an avatar (or all of the caller's avatars), and when last."""

    app_id: str
    count: int
    last_used_at: datetime | None


@attrs.frozen
class UsageRecordView:
    """One use of an avatar by an app."""

    id: str
    app_id: str
    action: str
    reference_id: str | None
    created_at: datetime


@attrs.frozen
class UsageHistoryView:
    """An avatar's uses newest first (paged by ``nextCursor``) and a summary per app."""

    history: list[UsageRecordView]
    summary: list[AppUsageView]
    next_cursor: str | None


class Renderer:
    """Turn rows into views, signing file URLs with the plugin's URL signer."""

    def __init__(self, ctx: PluginContext) -> None:
        self._files = ctx.files
        self._expires_in = int(ctx.settings.url_expires_in)

    def url(self, key: str | None) -> str | None:
        """Return a signed URL path for a stored file, or ``None``."""
        return None if key is None else self._files.sign(key, expires_in=self._expires_in)

    def avatar(self, row: Record) -> AvatarView:
        """Return the view of an ``avatars`` row."""
        return AvatarView(
            **traits_view_values(row),
            id=row["id"],
            project_id=row["project_id"],
            name=row["name"],
            source=row["source"],
            image_url=self._files.sign(row["image_key"], expires_in=self._expires_in),
            thumbnail_url=self.url(row["thumbnail_key"]),
            width=row["width"],
            height=row["height"],
            prompt=row["prompt"],
            seed=row["seed"],
            preset_id=row["preset_id"],
            generation_id=row["generation_id"],
            usage_count=row["usage_count"],
            last_used_at=row["last_used_at"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )

    def project(
        self, row: Record, avatars: list[AvatarView], avatar_count: int
    ) -> AvatarProjectView:
        """Return the view of an ``avatar_projects`` row with some of its avatars."""
        return AvatarProjectView(
            id=row["id"],
            name=row["name"],
            description=row["description"],
            avatar_count=avatar_count,
            avatars=avatars,
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )

    def generation(self, row: Record, avatar: Record | None = None) -> AvatarGenerationView:
        """Return the view of an ``avatar_generations`` row (with its avatar when done)."""
        error = None
        if row["error_code"]:
            error = GenerationErrorView(row["error_code"], row["error_message"] or "")
        return AvatarGenerationView(
            **traits_view_values(row),
            id=row["id"],
            project_id=row["project_id"],
            kind=row["kind"],
            name=row["name"],
            prompt=row["prompt"],
            preset_id=row["preset_id"],
            width=row["width"],
            height=row["height"],
            seed=row["seed"],
            status=row["status"],
            credit_cost=row["unit_cost"],
            avatar_id=row["avatar_id"],
            avatar=None if avatar is None else self.avatar(avatar),
            error=error,
            attempts=row["attempts"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            started_at=row["started_at"],
            completed_at=row["finished_at"],
        )

    def preset(self, row: Record, cost: int) -> PresetView:
        """Return the view of an ``avatar_presets`` row."""
        return PresetView(
            **traits_view_values(row),
            id=row["id"],
            name=row["name"],
            description=row["description"],
            category=row["category"],
            prompt=row["prompt"],
            preview_url=self.url(row["preview_key"]),
            usage_count=row["usage_count"],
            credit_cost=cost,
        )

    @staticmethod
    def usage_record(row: Record) -> UsageRecordView:
        """Return the view of an ``avatar_usage_history`` row."""
        return UsageRecordView(
            row["id"], row["app_id"], row["action"], row["reference_id"], row["created_at"]
        )

    @staticmethod
    def persona_example(row: Record) -> PersonaExampleView:
        """Return the view of a ``persona_examples`` row."""
        return PersonaExampleView(
            **traits_view_values(row), id=row["id"], title=row["title"], category=row["category"]
        )
