"""Reading untrusted image bytes and writing PNG."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from lumiku.images.png import decode_image, encode_png, to_png


def encoded(image_format: str, size: tuple[int, int] = (40, 30), mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, (10, 200, 30, 128)[: len(mode)]).save(buffer, format=image_format)
    return buffer.getvalue()


def test_png_input_is_kept_as_it_is() -> None:
    data = encoded("PNG")
    assert to_png(data) == (data, 40, 30)


@pytest.mark.parametrize(("image_format", "mode"), [("JPEG", "RGB"), ("WEBP", "RGBA")])
def test_other_formats_are_converted_to_png(image_format: str, mode: str) -> None:
    data, width, height = to_png(encoded(image_format, mode=mode))
    image = Image.open(io.BytesIO(data))
    assert (image.format, image.mode, width, height) == ("PNG", mode, 40, 30)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "empty"),
        (b'{"error": "oops"}', "not an image in one of"),
        (encoded("PNG")[:60], "truncated|damaged"),
    ],
)
def test_bad_bytes_are_refused_with_the_reason(data: bytes, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        decode_image(data)


def test_images_over_the_pixel_limit_are_refused_before_decoding() -> None:
    with pytest.raises(ValueError, match="40x30, over the limit of 1000 pixels"):
        decode_image(encoded("PNG"), max_pixels=1000)


def test_encoding_is_deterministic() -> None:
    image = Image.new("RGB", (32, 32), (1, 2, 3))
    assert encode_png(image) == encode_png(image.copy())
