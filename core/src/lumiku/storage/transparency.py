"""Carry an image's transparency into an alpha channel, whatever mode Pillow read it in.

Pillow reads transparency in two ways: as a channel (``RGBA``, ``LA``, ``PA``; 16-bit
``RGBA`` and grey+alpha PNGs arrive as 8-bit ``RGBA``) or as ``info["transparency"]``: the
palette's alpha values (``P``, ``1``) or one transparent colour, a PNG ``tRNS`` colour key
(``RGB`` a tuple, ``L``/``I;16`` a number). The re-encode drops ``info``, so an image whose
transparency lives there would be stored opaque, its transparent colour showing (often
black). ``with_alpha`` turns every kind into a channel first.

Three cases need care because Pillow reads them at another depth than the key:

- 16-bit grey with a key (``I;16``): ``convert`` clips 16-bit values to 255 and ignores
  the key; the alpha is built from the exact 16-bit values and the grey keeps its high byte.
- 1, 2 and 4-bit grey with a key: Pillow scales the pixels to 8 bits, not the key.
- 16-bit RGB with a key: Pillow gives 8-bit pixels (each sample's high byte) but keeps the
  16-bit key; the key is matched by its high bytes too, so colours that differ only in
  their low byte from the key become transparent as well (the 16-bit samples are gone).
"""

from __future__ import annotations

from PIL import Image

ALPHA_MODES = frozenset({"RGBA", "LA"})
"""Modes whose pixels carry their own transparency (what ``with_alpha`` returns)."""
_WIDE_GREY = frozenset({"I;16", "I;16B", "I;16L", "I;16N", "I"})
_GREY = frozenset({"1", "L"})


def png_bit_depth(data: bytes) -> int | None:
    """Return the bit depth a PNG's header declares, ``None`` for anything else."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR" and len(data) > 24:
        return data[24]
    return None


def with_alpha(image: Image.Image, *, bit_depth: int | None = None) -> Image.Image:
    """Return ``image`` with its transparency as an alpha channel (``LA`` or ``RGBA``).

    An image without transparency, or already in ``LA``/``RGBA``, is returned as it is.
    ``bit_depth`` is what the PNG header declares (``png_bit_depth``); it tells a 16-bit
    RGB colour key from an 8-bit one.
    """
    if image.mode in ALPHA_MODES or not image.has_transparency_data:
        return image
    key = image.info.get("transparency")
    if image.mode in _WIDE_GREY and isinstance(key, int):
        return _wide_grey_with_alpha(image, key)
    if image.mode == "RGB" and isinstance(key, tuple):
        if bit_depth == 16 or any(sample > 255 for sample in key):
            image = image.copy()
            image.info["transparency"] = tuple(sample >> 8 for sample in key)
        return image.convert("RGBA")
    if image.mode in _GREY:
        if isinstance(key, int) and bit_depth in (1, 2, 4) and image.mode == "L":
            # Pillow scales 1/2/4-bit grey up to 8 bits but keeps the key as written.
            image = image.copy()
            image.info["transparency"] = key * (255 // ((1 << bit_depth) - 1))
        return image.convert("LA")
    return image.convert("RGBA")


def _wide_grey_with_alpha(image: Image.Image, key: int) -> Image.Image:
    """Return 16-bit grey with a transparent value as 8-bit ``LA`` (grey: the high byte)."""
    wide = image.convert("I")  # the same values, in a mode ``point`` maps through a table
    alpha_table = [255] * 65536
    if 0 <= key < 65536:
        alpha_table[key] = 0
    grey = wide.point([value >> 8 for value in range(65536)], "L")
    alpha = wide.point(alpha_table, "L")
    return Image.merge("LA", (grey, alpha))
