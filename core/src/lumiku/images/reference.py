"""Colours of a reference image (the avatar), so a figure drawn for it wears its colours.

A portrait's face fills its middle and its clothing its bottom edge; the most common colour
of each region (after a coarse quantization, so shading and noise do not split it) is the
skin and the clothing of the figure drawn on a pose.
"""

from __future__ import annotations

from PIL import Image

from lumiku.images.palette import RGB

_SKIN_BOX = (0.38, 0.36, 0.62, 0.56)
"""Cheeks and nose of a centred portrait, as fractions of its width and height."""
_CLOTHING_BOX = (0.3, 0.9, 0.7, 1.0)
"""The bottom edge of a head-and-shoulders portrait: the shirt."""
_SAMPLE = 48


def dominant_colour(image: Image.Image, box: tuple[float, float, float, float]) -> RGB:
    """Return the most common colour of ``box`` (fractions of ``image``'s size)."""
    width, height = image.size
    left, top, right, bottom = box
    region = image.crop(
        (
            round(left * width),
            round(top * height),
            max(round(left * width) + 1, round(right * width)),
            max(round(top * height) + 1, round(bottom * height)),
        )
    ).resize((_SAMPLE, _SAMPLE), Image.Resampling.NEAREST)
    counts: dict[RGB, list[int]] = {}
    colours: list[tuple[int, tuple[int, int, int]]] = region.getcolors(_SAMPLE * _SAMPLE) or []  # type: ignore[assignment]  # RGB pixels are triples
    for number, (r, g, b) in colours:
        entry = counts.setdefault((r // 16, g // 16, b // 16), [0, 0, 0, 0])
        entry[0] += number
        entry[1] += r * number
        entry[2] += g * number
        entry[3] += b * number
    count, red, green, blue = max(counts.values(), key=lambda entry: entry[0])
    return (red // count, green // count, blue // count)


def reference_colours(image: Image.Image) -> tuple[RGB, RGB]:
    """Return ``(skin, clothing)`` of a portrait: its face's and its shirt's main colours."""
    rgb = image.convert("RGB")
    return dominant_colour(rgb, _SKIN_BOX), dominant_colour(rgb, _CLOTHING_BOX)
