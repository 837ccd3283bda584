"""Colours for the local renderer: named skin, hair and eye colours, style palettes, hex.

Attribute values are free text from users ("Dark Brown", "light-blonde", "#a0522d"), so
lookups normalize the text, accept a hex colour anywhere a colour is expected, and fall
back to the longest known name contained in the value ("light ash blonde" -> "blonde").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final, TypeVar

import attrs

RGB = tuple[int, int, int]
T = TypeVar("T")

_HEX = re.compile(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")

SKIN_TONES: Final[Mapping[str, RGB]] = {
    "porcelain": (255, 231, 214),
    "very fair": (253, 228, 207),
    "fair": (247, 217, 190),
    "light": (238, 203, 173),
    "light medium": (225, 184, 150),
    "medium": (208, 163, 125),
    "olive": (196, 160, 114),
    "tan": (190, 140, 100),
    "caramel": (176, 122, 82),
    "brown": (150, 100, 66),
    "dark brown": (112, 72, 46),
    "dark": (96, 62, 40),
    "deep": (74, 47, 32),
    "ebony": (60, 38, 26),
}

# Only a fallback when no skinTone is given: each entry lists plausible tones to pick from.
ETHNICITY_TONES: Final[Mapping[str, tuple[str, ...]]] = {
    "east asian": ("fair", "light", "light medium"),
    "asian": ("fair", "light", "light medium", "medium"),
    "southeast asian": ("light medium", "medium", "tan"),
    "south asian": ("medium", "tan", "caramel", "brown"),
    "indian": ("medium", "tan", "caramel", "brown"),
    "indonesian": ("light medium", "medium", "tan", "caramel"),
    "caucasian": ("very fair", "fair", "light"),
    "european": ("very fair", "fair", "light", "light medium"),
    "white": ("very fair", "fair", "light"),
    "hispanic": ("light medium", "medium", "olive", "tan"),
    "latino": ("light medium", "medium", "olive", "tan"),
    "latina": ("light medium", "medium", "olive", "tan"),
    "middle eastern": ("light medium", "medium", "olive"),
    "african": ("brown", "dark brown", "dark", "deep", "ebony"),
    "black": ("brown", "dark brown", "dark", "deep"),
    "pacific islander": ("tan", "caramel", "brown"),
    "indigenous": ("medium", "tan", "caramel"),
    "mixed": ("light medium", "medium", "olive", "tan", "caramel"),
}

HAIR_COLOURS: Final[Mapping[str, RGB]] = {
    "black": (28, 24, 22),
    "jet black": (12, 10, 10),
    "dark brown": (62, 40, 28),
    "brown": (101, 67, 43),
    "light brown": (150, 110, 70),
    "chestnut": (120, 60, 35),
    "auburn": (145, 60, 35),
    "red": (178, 62, 34),
    "ginger": (196, 96, 42),
    "strawberry blonde": (220, 150, 110),
    "blonde": (226, 196, 120),
    "blond": (226, 196, 120),
    "platinum": (236, 228, 205),
    "gray": (150, 150, 150),
    "grey": (150, 150, 150),
    "silver": (192, 192, 200),
    "white": (235, 235, 235),
    "pink": (240, 130, 180),
    "purple": (120, 60, 160),
    "blue": (50, 90, 200),
    "green": (40, 150, 90),
    "teal": (30, 140, 140),
}

EYE_COLOURS: Final[Mapping[str, RGB]] = {
    "brown": (110, 65, 35),
    "dark brown": (70, 40, 22),
    "black": (30, 22, 18),
    "hazel": (140, 110, 50),
    "amber": (190, 130, 40),
    "green": (60, 130, 70),
    "blue": (60, 120, 200),
    "light blue": (120, 170, 230),
    "gray": (120, 130, 140),
    "grey": (120, 130, 140),
    "violet": (130, 80, 180),
    "red": (180, 40, 40),
}


@attrs.frozen
class StylePalette:
    """Colours and drawing habits of one art style."""

    backdrop: tuple[RGB, RGB]
    pattern: str  # "gradient", "radial", "stripes", "bokeh", "grid", "dots" or "solid"
    outline: RGB | None  # cartoon styles ink their shapes
    outline_ratio: float = 0.0
    clothing: tuple[RGB, ...] = ((60, 70, 90), (120, 40, 50), (40, 90, 70), (200, 200, 205))


STYLES: Final[Mapping[str, StylePalette]] = {
    "realistic": StylePalette(((196, 204, 214), (98, 110, 128)), "gradient", None),
    "professional": StylePalette(((230, 232, 236), (150, 160, 175)), "radial", None),
    "casual": StylePalette(((255, 214, 170), (255, 150, 120)), "bokeh", None),
    "anime": StylePalette(((190, 225, 255), (255, 200, 230)), "stripes", (40, 30, 50), 0.006),
    "cartoon": StylePalette(((255, 240, 120), (255, 170, 60)), "dots", (20, 20, 20), 0.008),
    "fantasy": StylePalette(((70, 30, 110), (20, 120, 140)), "bokeh", None),
    "cyberpunk": StylePalette(((10, 10, 30), (230, 20, 140)), "grid", (0, 240, 255), 0.004),
    "vintage": StylePalette(((225, 205, 165), (150, 110, 70)), "radial", None),
    "artistic": StylePalette(((240, 120, 80), (60, 80, 160)), "stripes", None),
    "minimalist": StylePalette(((245, 245, 245), (245, 245, 245)), "solid", None),
    "3d": StylePalette(((120, 180, 255), (30, 60, 140)), "radial", None),
}


def parse_hex(value: str) -> RGB | None:
    """Return the colour of ``#rrggbb`` / ``#rgb`` (hash optional), or ``None`` if it is not one."""
    match = _HEX.match(value.strip())
    if match is None:
        return None
    digits = match.group(1)
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return (int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16))


def normalize(value: str) -> str:
    """Lower-case ``value`` and turn dashes, underscores and runs of spaces into one space."""
    return " ".join(re.split(r"[\s_\-]+", value.strip().lower()))


def lookup(table: Mapping[str, T], value: str | None) -> T | None:
    """Find ``value`` in ``table`` by normalized name, else by the longest name it contains."""
    if not value:
        return None
    text = normalize(value)
    if text in table:
        return table[text]
    found = [name for name in table if re.search(rf"\b{re.escape(name)}\b", text)]
    return table[max(found, key=len)] if found else None


def colour(table: Mapping[str, RGB], value: str | None) -> RGB | None:
    """Resolve a colour attribute: a hex value, or a name from ``table``."""
    if value and (rgb := parse_hex(value)) is not None:
        return rgb
    return lookup(table, value)


def mix(a: RGB, b: RGB, amount: float) -> RGB:
    """Blend ``a`` towards ``b`` by ``amount`` (0 keeps ``a``, 1 gives ``b``)."""
    return (
        round(a[0] + (b[0] - a[0]) * amount),
        round(a[1] + (b[1] - a[1]) * amount),
        round(a[2] + (b[2] - a[2]) * amount),
    )


def shade(rgb: RGB, factor: float) -> RGB:
    """Darken (factor < 1) or lighten (factor > 1) a colour, clamped to 0..255."""
    if factor <= 1:
        return mix(rgb, (0, 0, 0), 1 - factor)
    return mix(rgb, (255, 255, 255), min(1.0, factor - 1))
