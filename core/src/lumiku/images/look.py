"""Resolve a request's free-text attributes and persona into concrete drawing choices."""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from typing import Final

import attrs

from lumiku.images.palette import (
    ETHNICITY_TONES,
    EYE_COLOURS,
    HAIR_COLOURS,
    RGB,
    SKIN_TONES,
    STYLES,
    StylePalette,
    colour,
    lookup,
    mix,
    normalize,
)
from lumiku.images.provider import ImageRequest

HAIR_STYLES: Final[Mapping[str, str]] = {
    name: name
    for name in (
        "short",
        "long",
        "curly",
        "wavy",
        "straight",
        "bald",
        "ponytail",
        "bun",
        "braids",
        "buzz",
        "afro",
        "bob",
        "pixie",
        "mohawk",
        "hijab",
    )
} | {"braid": "braids", "buzz cut": "buzz", "shaved": "buzz", "updo": "bun", "headscarf": "hijab"}
BODY_WIDTHS: Final[Mapping[str, float]] = {
    "petite": 0.82,
    "slim": 0.86,
    "thin": 0.84,
    "average": 1.0,
    "athletic": 1.12,
    "muscular": 1.2,
    "curvy": 1.1,
    "stocky": 1.18,
    "plus size": 1.3,
    "heavy": 1.3,
    "large": 1.25,
}
AGE_WORDS: Final[Mapping[str, float]] = {
    "child": 9,
    "kid": 9,
    "teen": 16,
    "teenager": 16,
    "young adult": 24,
    "young": 24,
    "adult": 35,
    "middle aged": 50,
    "mature": 55,
    "senior": 70,
    "elderly": 75,
    "old": 70,
}
MOODS: Final[Mapping[str, float]] = {
    "cheerful": 1.0,
    "happy": 1.0,
    "friendly": 0.8,
    "playful": 0.9,
    "outgoing": 0.8,
    "optimistic": 0.8,
    "warm": 0.7,
    "kind": 0.6,
    "confident": 0.5,
    "bold": 0.4,
    "shy": 0.3,
    "calm": 0.25,
    "gentle": 0.4,
    "professional": 0.2,
    "reserved": 0.1,
    "serious": 0.0,
    "stoic": 0.0,
    "mysterious": -0.1,
    "grumpy": -0.5,
    "brooding": -0.4,
}
NATURAL_HAIR: Final = ("black", "dark brown", "brown", "light brown", "auburn", "blonde", "red")
NATURAL_EYES: Final = ("brown", "dark brown", "hazel", "green", "blue", "gray")
_FEMININE = {"female", "woman", "girl", "feminine", "f"}
_MASCULINE = {"male", "man", "boy", "masculine", "m"}


@attrs.frozen
class Look:
    """Concrete colours and shapes for one character."""

    skin: RGB
    hair: RGB
    hair_style: str
    eyes: RGB
    clothing: RGB
    lips: RGB
    body_width: float
    age: float
    feminine: bool | None
    smile: float
    palette: StylePalette
    glasses: bool


def parse_age(text: str | None) -> float | None:
    """Read an age from ``"28"``, ``"25-35"`` (the middle) or a word such as ``"senior"``."""
    if not text:
        return None
    numbers = [float(n) for n in re.findall(r"\d+(?:\.\d+)?", text)][:2]
    if numbers:
        return sum(numbers) / len(numbers)
    return lookup(AGE_WORDS, text)


def _gender(text: str | None) -> bool | None:
    words = set(normalize(text or "").split())
    if words & _FEMININE:
        return True
    if words & _MASCULINE:
        return False
    return None


def _skin(attributes: Mapping[str, str], rng: random.Random) -> RGB:
    if (rgb := colour(SKIN_TONES, attributes.get("skinTone"))) is not None:
        return rgb
    tones = lookup(ETHNICITY_TONES, attributes.get("ethnicity")) or tuple(SKIN_TONES)
    return SKIN_TONES[rng.choice(tones)]


def _hair(attributes: Mapping[str, str], age: float, rng: random.Random) -> RGB:
    hair = colour(HAIR_COLOURS, attributes.get("hairColor"))
    if hair is None:
        hair = HAIR_COLOURS[rng.choice(NATURAL_HAIR)]
        # Only an unspecified colour greys with age; an asked-for colour is kept as asked.
        if age >= 45:
            hair = mix(hair, HAIR_COLOURS["gray"], min(0.85, (age - 40) / 35))
    return hair


def _palette(attributes: Mapping[str, str], rng: random.Random) -> StylePalette:
    palette = lookup(STYLES, attributes.get("style"))
    return palette if palette is not None else STYLES[rng.choice(sorted(STYLES))]


def _smile(persona: Mapping[str, str], rng: random.Random) -> float:
    words = normalize(persona.get("personality", "")).replace(",", " ").split()
    moods = [MOODS[w] for w in words if w in MOODS]
    return sum(moods) / len(moods) if moods else rng.uniform(0.2, 0.7)


def resolve_look(request: ImageRequest, rng: random.Random) -> Look:
    """Turn ``request``'s attributes and persona into a ``Look``; gaps are filled from ``rng``."""
    attributes, persona = request.attributes, request.persona
    age = parse_age(persona.get("age")) or parse_age(attributes.get("ageRange"))
    age = age if age is not None else rng.uniform(20, 40)
    feminine = _gender(attributes.get("gender"))
    style = lookup(HAIR_STYLES, attributes.get("hairStyle"))
    if style is None:
        choices = (
            ("long", "wavy", "bob", "ponytail", "bun") if feminine else ("short", "buzz", "wavy")
        )
        style = rng.choice(choices if feminine is not None else ("short", "long", "curly", "bob"))
    palette = _palette(attributes, rng)
    skin = _skin(attributes, rng)
    return Look(
        skin=skin,
        hair=_hair(attributes, age, rng),
        hair_style=style,
        eyes=colour(EYE_COLOURS, attributes.get("eyeColor"))
        or EYE_COLOURS[rng.choice(NATURAL_EYES)],
        clothing=rng.choice(palette.clothing),
        lips=mix(skin, (170, 60, 70), 0.45 if feminine else 0.25),
        body_width=lookup(BODY_WIDTHS, attributes.get("bodyType")) or 1.0,
        age=age,
        feminine=feminine,
        smile=_smile(persona, rng),
        palette=palette,
        glasses="glasses" in normalize(attributes.get("accessories", "")) or rng.random() < 0.15,
    )
