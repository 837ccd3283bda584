"""Every kind of PNG transparency survives the upload check and the thumbnail: palettes
with alpha values, single transparent colours (tRNS colour keys: RGB, grey, at 1 to 16
bits), grey+alpha and RGBA at 8 and 16 bits. Each PNG is written here byte by byte: the
left half is transparent, the right half opaque in a known colour."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Sequence

import pytest
from PIL import Image

from lumiku.storage.images import check_image, make_thumbnail
from lumiku.storage.transparency import png_bit_depth, with_alpha

SIDE = 16
GREY, COLOUR = 0, 2
PALETTE, GREY_ALPHA, COLOUR_ALPHA = 3, 4, 6


def _chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def _row(samples: Sequence[int], depth: int) -> bytes:
    if depth == 16:
        return b"".join(struct.pack(">H", sample) for sample in samples)
    if depth == 8:
        return bytes(samples)
    bits = "".join(format(sample, f"0{depth}b") for sample in samples)
    bits += "0" * (-len(bits) % 8)
    return bytes(int(bits[i : i + 8], 2) for i in range(0, len(bits), 8))


def png(
    colour_type: int,
    depth: int,
    clear: tuple[int, ...],
    solid: tuple[int, ...],
    *,
    trns: bytes | None = None,
    plte: bytes | None = None,
) -> bytes:
    """Return a SIDE x SIDE PNG: ``clear`` samples on the left half, ``solid`` on the right."""
    row = [*clear] * (SIDE // 2) + [*solid] * (SIDE // 2)
    raw = b"".join(b"\x00" + _row(row, depth) for _ in range(SIDE))
    header = struct.pack(">IIBBBBB", SIDE, SIDE, depth, colour_type, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)
    if plte is not None:
        data += _chunk(b"PLTE", plte)
    if trns is not None:
        data += _chunk(b"tRNS", trns)
    return data + _chunk(b"IDAT", zlib.compress(raw)) + _chunk(b"IEND", b"")


def key(*samples: int) -> bytes:
    return b"".join(struct.pack(">H", sample) for sample in samples)


RED_PALETTE = bytes([9, 9, 9, 200, 40, 30])  # entry 0 (made transparent), entry 1: red
# name -> (PNG bytes, the opaque half's colour as 8-bit RGB)
CASES: dict[str, tuple[bytes, tuple[int, int, int]]] = {
    "palette 8-bit": (png(PALETTE, 8, (0,), (1,), plte=RED_PALETTE, trns=b"\x00"), (200, 40, 30)),
    "palette 4-bit": (png(PALETTE, 4, (0,), (1,), plte=RED_PALETTE, trns=b"\x00"), (200, 40, 30)),
    "palette 2-bit": (png(PALETTE, 2, (0,), (1,), plte=RED_PALETTE, trns=b"\x00"), (200, 40, 30)),
    "palette 1-bit": (png(PALETTE, 1, (0,), (1,), plte=RED_PALETTE, trns=b"\x00"), (200, 40, 30)),
    "palette partial alpha": (
        png(PALETTE, 8, (0,), (1,), plte=RED_PALETTE, trns=b"\x00\xff"),
        (200, 40, 30),
    ),
    "RGB colour key": (png(COLOUR, 8, (1, 2, 3), (200, 40, 30), trns=key(1, 2, 3)), (200, 40, 30)),
    "RGB 16-bit colour key": (
        png(COLOUR, 16, (1000, 2000, 3000), (0xC8C8, 0x2828, 0x1E1E), trns=key(1000, 2000, 3000)),
        (200, 40, 30),
    ),
    "black as the colour key": (
        png(COLOUR, 8, (0, 0, 0), (200, 40, 30), trns=key(0, 0, 0)),
        (200, 40, 30),
    ),
    "grey colour key": (png(GREY, 8, (7,), (200,), trns=key(7)), (200, 200, 200)),
    "grey 16-bit colour key": (png(GREY, 16, (1234,), (0xC8C8,), trns=key(1234)), (200, 200, 200)),
    "grey 4-bit colour key": (png(GREY, 4, (3,), (12,), trns=key(3)), (204, 204, 204)),
    "grey 2-bit colour key": (png(GREY, 2, (0,), (3,), trns=key(0)), (255, 255, 255)),
    "grey 2-bit colour key 2": (png(GREY, 2, (2,), (1,), trns=key(2)), (85, 85, 85)),
    "grey 1-bit colour key": (png(GREY, 1, (0,), (1,), trns=key(0)), (255, 255, 255)),
    "grey 1-bit colour key 1": (png(GREY, 1, (1,), (0,), trns=key(1)), (0, 0, 0)),
    "grey+alpha": (png(GREY_ALPHA, 8, (90, 0), (200, 255)), (200, 200, 200)),
    "grey+alpha 16-bit": (png(GREY_ALPHA, 16, (9000, 0), (0xC8C8, 0xFFFF)), (200, 200, 200)),
    "RGBA": (png(COLOUR_ALPHA, 8, (5, 5, 5, 0), (200, 40, 30, 255)), (200, 40, 30)),
    "RGBA 16-bit": (
        png(COLOUR_ALPHA, 16, (500, 500, 500, 0), (0xC8C8, 0x2828, 0x1E1E, 0xFFFF)),
        (200, 40, 30),
    ),
}
CLEAR_AT, SOLID_AT = (3, 8), (12, 8)


def rgba(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return with_alpha(image).convert("RGBA")


def assert_close(actual: Sequence[int], expected: Sequence[int], tolerance: int) -> None:
    assert all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True)), (
        actual,
        expected,
    )


@pytest.mark.parametrize("case", sorted(CASES))
def test_pillow_reads_the_case_with_its_transparency(case: str) -> None:
    data, _ = CASES[case]
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        assert image.has_transparency_data, image.mode


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_stored_image_keeps_transparent_pixels_transparent(case: str) -> None:
    data, colour = CASES[case]
    checked = check_image(data, min_side=1)
    assert checked.format == "PNG"
    with Image.open(io.BytesIO(checked.data)) as stored:
        assert stored.mode in {"RGBA", "LA"}, stored.mode
        assert "transparency" not in stored.info  # the alpha is a channel now
    pixels = rgba(checked.data)
    assert pixels.getpixel(CLEAR_AT)[3] == 0  # type: ignore[index]
    solid = pixels.getpixel(SOLID_AT)
    assert solid[3] == 255  # type: ignore[index]
    assert_close(solid[:3], colour, 1)  # type: ignore[index]


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("from_bytes", [False, True], ids=["checked", "bytes"])
def test_a_webp_thumbnail_keeps_the_transparency(case: str, from_bytes: bool) -> None:
    data, colour = CASES[case]
    source = data if from_bytes else check_image(data, min_side=1)
    thumbnail = make_thumbnail(source, max_side=SIDE, image_format="WEBP")
    pixels = rgba(thumbnail)
    assert pixels.getpixel(CLEAR_AT)[3] < 10  # type: ignore[index]
    solid = pixels.getpixel(SOLID_AT)
    assert solid[3] > 245  # type: ignore[index]
    assert_close(solid[:3], colour, 12)  # type: ignore[index]  # WebP is lossy


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_jpeg_thumbnail_shows_transparent_pixels_as_white_not_black(case: str) -> None:
    data, colour = CASES[case]
    thumbnail = make_thumbnail(check_image(data, min_side=1), max_side=SIDE)
    with Image.open(io.BytesIO(thumbnail)) as image:
        pixels = image.convert("RGB")
    assert min(pixels.getpixel(CLEAR_AT)) > 240  # type: ignore[arg-type]
    assert_close(pixels.getpixel(SOLID_AT), colour, 12)  # type: ignore[arg-type]


def test_an_opaque_image_keeps_its_mode() -> None:
    opaque = png(COLOUR, 8, (1, 2, 3), (200, 40, 30))
    with Image.open(io.BytesIO(opaque)) as image:
        image.load()
        assert with_alpha(image) is image
    with Image.open(io.BytesIO(check_image(opaque, min_side=1).data)) as stored:
        assert stored.mode == "RGB"


def test_a_palette_with_alpha_in_memory_becomes_rgba() -> None:
    image = Image.new("PA", (2, 1))
    image.putpalette([200, 40, 30] * 256)
    image.putpixel((0, 0), (0, 0))
    image.putpixel((1, 0), (0, 255))
    converted = with_alpha(image)
    assert converted.mode == "RGBA"
    assert converted.getpixel((0, 0))[3] == 0  # type: ignore[index]
    assert converted.getpixel((1, 0)) == (200, 40, 30, 255)


def test_the_bit_depth_comes_from_the_png_header() -> None:
    assert png_bit_depth(png(COLOUR, 16, (1, 2, 3), (4, 5, 6))) == 16
    assert png_bit_depth(png(GREY, 4, (1,), (2,))) == 4
    assert png_bit_depth(b"\xff\xd8\xff\xe0 a JPEG") is None
    assert png_bit_depth(b"") is None
