"""What clients send: request bodies and query strings, checked by the HTTP edge (422)."""

from __future__ import annotations

import attrs

from lumiku import PageQuery, field
from lumiku_avatar_creator.models import GENERATION_STATUSES, PRESET_CATEGORIES
from lumiku_avatar_creator.prompts import MAX_SEED
from lumiku_avatar_creator.traits import TraitFields

MIN_GENERATED_SIDE = 512
MAX_GENERATED_SIDE = 2048
DEFAULT_GENERATED_SIDE = 1024


@attrs.frozen
class AvatarProjectBody:
    """A new project."""

    name: str = field(min_length=1, max_length=100, strip=True, example="Brand ambassadors")
    description: str | None = field(default=None, max_length=500)


@attrs.frozen
class AvatarProjectUpdateBody:
    """Project changes; fields left out stay as they are (``""`` clears the description)."""

    name: str | None = field(default=None, min_length=1, max_length=100, strip=True)
    description: str | None = field(default=None, max_length=500)


@attrs.frozen(kw_only=True)
class AvatarGenerateBody(TraitFields):
    """A prompt, persona and visual attributes to generate an avatar from."""

    name: str = field(min_length=1, max_length=100, strip=True)
    prompt: str = field(min_length=10, max_length=2000, strip=True)
    width: int = field(default=DEFAULT_GENERATED_SIDE, ge=MIN_GENERATED_SIDE, le=MAX_GENERATED_SIDE)
    height: int = field(
        default=DEFAULT_GENERATED_SIDE, ge=MIN_GENERATED_SIDE, le=MAX_GENERATED_SIDE
    )
    seed: int | None = field(default=None, ge=0, le=MAX_SEED)


@attrs.frozen
class AvatarFromPresetBody:
    """A preset to generate an avatar from, and an optional name for it."""

    preset_id: str = field(min_length=1, max_length=64)
    custom_name: str | None = field(default=None, min_length=1, max_length=100, strip=True)


@attrs.frozen(kw_only=True)
class AvatarUpdateBody(TraitFields):
    """Avatar changes; fields left out stay as they are (``""`` clears a text field)."""

    name: str | None = field(default=None, min_length=1, max_length=100, strip=True)


@attrs.frozen
class AvatarQuery(PageQuery):
    """Paging, and optionally only one project's avatars."""

    project_id: str | None = field(default=None, max_length=36)


@attrs.frozen
class GenerationQuery(PageQuery):
    """Paging, and optionally one project's or one status's generations."""

    project_id: str | None = field(default=None, max_length=36)
    status: str | None = field(default=None, choices=GENERATION_STATUSES)


@attrs.frozen
class CatalogQuery(PageQuery):
    """Paging (50 by default, so the whole catalog fits one page) and an optional category."""

    limit: int = field(default=50, ge=1, le=100)
    category: str | None = field(default=None, choices=PRESET_CATEGORIES)
