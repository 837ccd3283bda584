"""Errors of the image check speak our words: never a library's message (Pillow names its
internals, e.g. ``PngImagePlugin.MAX_TEXT_CHUNK``), and a file is called truncated only
when it is."""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable

import pytest
from PIL import Image

from lumiku.errors import LumikuError
from lumiku.storage.errors import CorruptImage
from lumiku.storage.images import check_image

from .test_images import encode, gradient, halve, png_bomb, png_chunk

LIBRARY_WORDS = ("PngImagePlugin", "MAX_TEXT", "decoder", "PIL", "Pillow", "bytes not processed")


def png_with(chunk: bytes, *, after_pixels: bool = False) -> bytes:
    """Return a valid PNG with ``chunk`` inserted before (or after) its pixel data."""
    data = encode(gradient(), "PNG")
    marker = data.rfind(b"IEND") - 4 if after_pixels else data.find(b"IDAT") - 4
    return data[:marker] + chunk + data[marker:]


def big_ztxt() -> bytes:
    return png_chunk(b"zTXt", b"Comment\x00\x00" + zlib.compress(b"a" * (2 * 1024 * 1024)))


def big_itxt() -> bytes:
    text = zlib.compress(b"a" * (2 * 1024 * 1024))
    return png_chunk(b"iTXt", b"Comment\x00\x01\x00\x00\x00" + text)


def scrambled(data: bytes) -> bytes:
    """Return ``data`` with the middle of its pixel data overwritten (a damaged copy)."""
    start = data.find(b"IDAT") + 64
    return data[:start] + b"\xff" * 256 + data[start + 256 :]


CASES: dict[str, tuple[Callable[[], bytes], str]] = {
    "png-ztxt-too-large": (lambda: png_with(big_ztxt()), "metadata_too_large"),
    "png-ztxt-too-large-after-pixels": (
        lambda: png_with(big_ztxt(), after_pixels=True),
        "metadata_too_large",
    ),
    "png-itxt-too-large": (lambda: png_with(big_itxt()), "metadata_too_large"),
    "png-truncated": (lambda: encode(gradient(), "PNG")[:-200], "truncated"),
    "jpeg-truncated": (lambda: halve(encode(gradient(), "JPEG")), "truncated"),
    "webp-halved": (lambda: halve(encode(gradient(), "WEBP")), "damaged"),
    "png-scrambled-pixels": (lambda: scrambled(encode(gradient(), "PNG")), "damaged"),
}


@pytest.mark.parametrize("name", CASES)
def test_a_refused_image_is_explained_in_our_words(name: str) -> None:
    make, reason = CASES[name]
    with pytest.raises(CorruptImage) as caught:
        check_image(make())
    error = caught.value
    assert error.details == {"reason": reason}
    for word in LIBRARY_WORDS:
        assert word not in error.message, (word, error.message)
    if reason != "truncated":
        assert "truncated" not in error.message


@pytest.mark.parametrize("size", [(100_000, 100_000), (9_000, 9_000)])
def test_a_decompression_bomb_is_explained_in_our_words(size: tuple[int, int]) -> None:
    with pytest.raises(LumikuError) as caught:
        check_image(png_bomb(*size))
    for word in LIBRARY_WORDS:
        assert word not in caught.value.message
    assert all(str(value) != "" for value in caught.value.details.values())


def test_the_library_text_goes_to_the_log(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="lumiku.storage.images")
    with pytest.raises(CorruptImage):
        check_image(png_with(big_ztxt()))
    assert "MAX_TEXT_CHUNK" in caplog.text  # for the operator, not the client


def test_a_small_text_chunk_is_fine() -> None:
    data = png_with(png_chunk(b"tEXt", b"Comment\x00hello"))
    assert check_image(data).format == "PNG"
    with Image.open(io.BytesIO(check_image(data).data)) as stored:
        assert "Comment" not in stored.info  # metadata is dropped on re-encoding


@pytest.mark.parametrize("name", CASES)
def test_a_reference_image_is_refused_in_our_words_too(name: str) -> None:
    """``lumiku.images.png.decode_image`` (a provider's reference image) says the same."""
    from lumiku.images.png import decode_image

    make, reason = CASES[name]
    with pytest.raises(ValueError, match="image") as caught:
        decode_image(make())
    message = str(caught.value)
    for word in LIBRARY_WORDS:
        assert word not in message, (word, message)
    assert ("metadata" in message) == (reason == "metadata_too_large")
