"""Persona and visual attributes: checked on the way in, stored as columns, sent to providers.

Clients send them flat (``personaName``, ``personaAge``, ``personaPersonality``,
``personaBackground``, ``gender``, ``ageRange``, ``ethnicity``, ``bodyType``, ``hairStyle``,
``hairColor``, ``eyeColor``, ``skinTone``, ``style``), as JSON or as multipart form fields
(the core's forms read both from the same class).
"""

from __future__ import annotations

from typing import Any

import attrs

from lumiku import field
from lumiku_avatar_creator.models import ATTRIBUTE_COLUMNS, Record

PERSONA_COLUMNS = ("persona_name", "persona_age", "persona_personality", "persona_background")
TRAIT_COLUMNS = (*PERSONA_COLUMNS, *ATTRIBUTE_COLUMNS)
MAX_TRAIT_LENGTH = 50
MAX_PERSONALITY_ITEMS = 10


def to_camel(name: str) -> str:
    """Return a column name as the field name clients use (``age_range`` -> ``ageRange``)."""
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


@attrs.frozen(kw_only=True)
class TraitFields:
    """Persona and visual attributes of an avatar as a client sends them; all optional."""

    persona_name: str | None = field(default=None, max_length=100)
    persona_age: int | None = field(default=None, ge=1, le=120)
    persona_personality: tuple[str, ...] | None = field(
        default=None,
        max_items=MAX_PERSONALITY_ITEMS,
        description="at most 10 traits of 1-50 characters each",
    )
    persona_background: str | None = field(default=None, max_length=500)
    gender: str | None = field(default=None, max_length=MAX_TRAIT_LENGTH)
    age_range: str | None = field(default=None, max_length=MAX_TRAIT_LENGTH)
    ethnicity: str | None = field(default=None, max_length=MAX_TRAIT_LENGTH)
    body_type: str | None = field(default=None, max_length=MAX_TRAIT_LENGTH)
    hair_style: str | None = field(default=None, max_length=MAX_TRAIT_LENGTH)
    hair_color: str | None = field(default=None, max_length=MAX_TRAIT_LENGTH)
    eye_color: str | None = field(default=None, max_length=MAX_TRAIT_LENGTH)
    skin_tone: str | None = field(default=None, max_length=MAX_TRAIT_LENGTH)
    style: str | None = field(default=None, max_length=MAX_TRAIT_LENGTH)

    @persona_personality.validator
    def _check_personality(self, _attribute: Any, value: tuple[str, ...] | None) -> None:
        for item in value or ():
            if not isinstance(item, str) or not 1 <= len(item.strip()) <= MAX_TRAIT_LENGTH:
                raise ValueError(f"each trait must be 1-{MAX_TRAIT_LENGTH} characters of text")


@attrs.frozen(kw_only=True)
class TraitsView:
    """Persona and visual attributes of an avatar, preset or generation."""

    persona_name: str | None = None
    persona_age: int | None = None
    persona_personality: list[str] = attrs.field(factory=list)
    persona_background: str | None = None
    gender: str | None = None
    age_range: str | None = None
    ethnicity: str | None = None
    body_type: str | None = None
    hair_style: str | None = None
    hair_color: str | None = None
    eye_color: str | None = None
    skin_tone: str | None = None
    style: str | None = None


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, list | tuple):
        return [item.strip() for item in value]
    return value


def trait_values(fields: TraitFields, *, keep_missing: bool = True) -> dict[str, Any]:
    """Return the column values of ``fields`` (blank text stored as NULL).

    With ``keep_missing=False`` the fields the client left out are omitted, for updates.
    """
    values = {name: _clean(getattr(fields, name)) for name in TRAIT_COLUMNS}
    if keep_missing:
        return values
    return {name: values[name] for name in TRAIT_COLUMNS if getattr(fields, name) is not None}


def traits_view_values(row: Record) -> dict[str, Any]:
    """Return the ``TraitsView`` fields of a row holding trait columns."""
    values = {name: row[name] for name in TRAIT_COLUMNS}
    values["persona_personality"] = list(row["persona_personality"] or [])
    return values


def provider_maps(row: Record) -> tuple[dict[str, str], dict[str, str]]:
    """Return the ``(attributes, persona)`` maps of an ``ImageRequest`` for a row's traits."""
    attributes = {to_camel(n): str(row[n]) for n in ATTRIBUTE_COLUMNS if row[n]}
    persona: dict[str, str] = {}
    if row["persona_name"]:
        persona["name"] = str(row["persona_name"])
    if row["persona_age"] is not None:
        persona["age"] = str(row["persona_age"])
    if row["persona_personality"]:
        persona["personality"] = ", ".join(row["persona_personality"])
    if row["persona_background"]:
        persona["background"] = str(row["persona_background"])
    return attributes, persona
