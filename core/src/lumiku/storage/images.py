"""The upload check for images: sniffed by content, bounded, fully decoded and re-encoded.

What is stored is never the uploaded bytes but a fresh encode of the decoded pixels. That
strips EXIF, ICC, XMP, comments and text chunks, and anything appended after the image
(a ZIP or HTML payload turning the file into a polyglot), so a stored file is exactly one
image and nothing else.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Literal, cast

import attrs
from PIL import Image, ImageOps, UnidentifiedImageError

from lumiku.errors import PayloadTooLarge, UnsupportedMedia, ValidationFailed
from lumiku.storage.decode_errors import decode_problem
from lumiku.storage.decoding import DecodingBudget, process_budget
from lumiku.storage.errors import CorruptImage
from lumiku.storage.transparency import png_bit_depth, with_alpha

ImageFormat = Literal["JPEG", "PNG", "WEBP"]
ThumbnailFormat = Literal["JPEG", "WEBP"]

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_MIN_SIDE = 256
DEFAULT_MAX_SIDE = 4096
PREVIEW_SIDE = 1024
"""The longer side of the pixels a ``CheckedImage`` keeps for its thumbnail."""

_ACCEPTED: Mapping[str, tuple[str, str]] = MappingProxyType(
    {"JPEG": (".jpg", "image/jpeg"), "PNG": (".png", "image/png"), "WEBP": (".webp", "image/webp")}
)
# Modes each encoder writes without losing information; anything else is converted first.
_KEEP_MODES: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "JPEG": frozenset({"L", "RGB"}),
        "PNG": frozenset({"1", "L", "LA", "I", "I;16", "P", "RGB", "RGBA"}),
        "WEBP": frozenset({"RGB", "RGBA"}),
    }
)
_SAVE_OPTIONS: Mapping[str, Mapping[str, int]] = MappingProxyType(
    {"JPEG": {"quality": 90}, "PNG": {"compress_level": 6}, "WEBP": {"quality": 90}}
)
# Exceptions Pillow's parsers and decoders raise on malformed input. Pillow does not promise
# a narrower set, and any of these on untrusted bytes means "not a usable image".
_DECODE_ERRORS = (OSError, ValueError, SyntaxError, EOFError, IndexError, TypeError, KeyError)
# Pillow warns about damaged parts it can skip (corrupt EXIF, a malformed MPO). Normally that
# is a log line; where warnings are errors it aborts parsing, and the file is then refused
# as damaged rather than failing with a 500.
_UNREADABLE = (*_DECODE_ERRORS, Warning)
_BOMB = (Image.DecompressionBombError, Image.DecompressionBombWarning)


@attrs.frozen
class CheckedImage:
    """An upload that passed ``check_image``: its format, oriented size and re-encoded bytes."""

    format: ImageFormat
    width: int
    height: int
    data: bytes = attrs.field(repr=False)
    # A copy at most PREVIEW_SIDE pixels on its longer side, kept so a thumbnail does not
    # decode the image again; the full-size pixels are released within check_image, so a
    # burst of uploads holds megabytes, not a 64 MiB bitmap each. Treat as read-only.
    pixels: Image.Image = attrs.field(repr=False, eq=False)

    @property
    def suffix(self) -> str:
        """Return the storage suffix for this image, such as ``.png``."""
        return _ACCEPTED[self.format][0]

    @property
    def content_type(self) -> str:
        """Return the content type of ``data``, such as ``image/png``."""
        return _ACCEPTED[self.format][1]


def check_image(
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    min_side: int = DEFAULT_MIN_SIDE,
    max_side: int = DEFAULT_MAX_SIDE,
    budget: DecodingBudget | None = None,
) -> CheckedImage:
    """Check an uploaded image by its content and return it normalized and re-encoded.

    Raises ``PayloadTooLarge`` over ``max_bytes``, ``UnsupportedMedia`` for anything but
    JPEG, PNG or WebP (whatever the file name or declared content type), ``ValidationFailed``
    for a side outside ``min_side``..``max_side`` pixels, and ``CorruptImage`` for a file
    that does not decode completely. The decode takes its pixels from ``budget`` (the
    process's by default) and raises ``DecodingBusy`` (503) when they do not come free in
    time.
    """
    if len(data) > max_bytes:
        raise PayloadTooLarge(
            f"The image is {len(data)} bytes and the limit is {max_bytes} bytes "
            f"({max_bytes // (1024 * 1024)} MB); upload a smaller or more compressed file.",
            details={"size": len(data), "limit": max_bytes},
        )
    with contextlib.ExitStack() as held:
        image, image_format = _decode(
            data, min_side=min_side, max_side=max_side, admit=_admit(held, budget)
        )
        pixels = _prepare(image, image_format, png_bit_depth(data))
        encoded = io.BytesIO()
        pixels.save(encoded, format=image_format, **_SAVE_OPTIONS[image_format])
        width, height = pixels.size
        preview = _preview(pixels)
        if preview is not pixels:
            pixels.close()
            image.close()
        del image, pixels
    return CheckedImage(
        format=image_format, width=width, height=height, data=encoded.getvalue(), pixels=preview
    )


def make_thumbnail(
    source: bytes | CheckedImage, *, max_side: int = 256, image_format: ThumbnailFormat = "JPEG"
) -> bytes:
    """Return a JPEG or WebP thumbnail whose longer side is at most ``max_side`` pixels.

    Pass the ``CheckedImage`` of an upload to reuse its decoded pixels. Bytes (a generated
    output, a stored file) get the same content checks as an upload, without the minimum size.
    """
    if max_side < 1:
        raise ValueError(f"max_side must be at least 1 pixel, got {max_side}")
    if isinstance(source, CheckedImage) and max_side <= max(source.pixels.size):
        return _thumbnail(source.pixels, max_side, image_format)
    data = source.data if isinstance(source, CheckedImage) else source
    with contextlib.ExitStack() as held:
        image, _ = _decode(
            data,
            min_side=1,
            max_side=DEFAULT_MAX_SIDE,
            draft=max_side,
            admit=_admit(held, None),
        )
        pixels = with_alpha(_orient(image), bit_depth=png_bit_depth(data))
        return _thumbnail(pixels, max_side, image_format)


def _thumbnail(pixels: Image.Image, max_side: int, image_format: ThumbnailFormat) -> bytes:
    pixels = _thumbnail_mode(pixels)
    scale = min(1.0, max_side / max(pixels.width, pixels.height))
    size = (max(1, round(pixels.width * scale)), max(1, round(pixels.height * scale)))
    thumbnail = pixels.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    if image_format == "JPEG":
        thumbnail = _flatten(thumbnail)
    encoded = io.BytesIO()
    thumbnail.save(encoded, format=image_format, quality=85)
    return encoded.getvalue()


def _thumbnail_mode(pixels: Image.Image) -> Image.Image:
    """Return ``pixels`` in a mode a thumbnail is made in (L, RGB or RGBA)."""
    if pixels.mode.startswith("I"):
        # 16-bit greyscale: scale it down to 8 bits, where convert() would clip at 255.
        return pixels.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    if pixels.mode not in {"L", "RGB", "RGBA"}:
        return pixels.convert("RGBA" if pixels.has_transparency_data else "RGB")
    return pixels


def _preview(pixels: Image.Image) -> Image.Image:
    """Return ``pixels`` (small) or a copy at most ``PREVIEW_SIDE`` on its longer side."""
    if max(pixels.size) <= PREVIEW_SIDE:
        return pixels
    source = _thumbnail_mode(pixels)
    scale = PREVIEW_SIDE / max(source.size)
    size = (max(1, round(source.width * scale)), max(1, round(source.height * scale)))
    preview = source.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    if source is not pixels:
        source.close()
    return preview


def _admit(held: contextlib.ExitStack, budget: DecodingBudget | None) -> Callable[[int], None]:
    """Return what ``_decode`` calls with the pixel count: hold it until ``held`` closes."""

    def admit(pixels: int) -> None:
        held.enter_context((budget or process_budget()).hold(pixels))

    return admit


def _decode(
    data: bytes,
    *,
    min_side: int,
    max_side: int,
    draft: int | None = None,
    admit: Callable[[int], None] = lambda _pixels: None,
) -> tuple[Image.Image, ImageFormat]:
    """Open ``data`` as an accepted format, check its declared size, then decode it fully
    (after ``admit(width * height)``, which may wait for the decoding budget)."""
    try:
        image = Image.open(io.BytesIO(data), formats=tuple(_ACCEPTED))
    except _BOMB as exc:
        raise _too_many_pixels(max_side) from exc
    except UnidentifiedImageError:
        raise UnsupportedMedia(
            "The upload is not a JPEG, PNG or WebP image (checked by its content, not its "
            "name or content type); convert it to one of these formats and upload it again.",
            details={"accepted": ["image/jpeg", "image/png", "image/webp"]},
        ) from None
    except _UNREADABLE as exc:
        raise _corrupt(exc) from exc
    # Phone cameras write MPO: a JPEG with extra pictures appended; its first one is a JPEG.
    image_format = cast(ImageFormat, "JPEG" if image.format == "MPO" else image.format)
    # The header's size is checked before any pixel is decoded: this is the guard against
    # decompression bombs, independent of Pillow's process-wide MAX_IMAGE_PIXELS.
    width, height = image.size
    if not (min_side <= width <= max_side and min_side <= height <= max_side):
        image.close()
        raise ValidationFailed(
            f"The image is {width}x{height} pixels; each side must be between {min_side} and "
            f"{max_side} pixels. Resize it and upload it again.",
            details={"width": width, "height": height, "minSide": min_side, "maxSide": max_side},
        )
    try:
        admit(width * height)
    except BaseException:
        image.close()
        raise
    try:
        if draft is not None and image_format == "JPEG":
            image.draft("RGB", (draft, draft))
        image.load()
    except _BOMB as exc:
        raise _too_many_pixels(max_side) from exc
    except _UNREADABLE as exc:
        raise _corrupt(exc) from exc
    return image, image_format


def _prepare(image: Image.Image, image_format: ImageFormat, bit_depth: int | None) -> Image.Image:
    """Orient the pixels, convert them to a mode the encoder keeps, and drop all metadata.

    Transparency kept in ``info`` (a palette's alpha, a PNG colour key) becomes an alpha
    channel first (``lumiku.storage.transparency``): ``info`` is cleared below.
    """
    pixels = _orient(image)
    if image_format != "JPEG":
        pixels = with_alpha(pixels, bit_depth=bit_depth)
    if pixels.mode not in _KEEP_MODES[image_format]:
        target = "RGB"
        if image_format != "JPEG" and pixels.has_transparency_data:
            target = "RGBA"
        pixels = pixels.convert(target)
    # Encoders copy some of ``info`` (PNG: ICC profile, transparency; JPEG: comment).
    pixels.info = {}
    return pixels


def _orient(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation in place; a malformed EXIF block is ignored, not fatal."""
    # The metadata is dropped on re-encoding anyway; an unreadable block only means the
    # orientation is unknown, which is no reason to refuse the photo.
    with contextlib.suppress(*_UNREADABLE):
        ImageOps.exif_transpose(image, in_place=True)
    return image


def _flatten(image: Image.Image) -> Image.Image:
    """Return an RGB image, with any transparency composited over white."""
    if image.mode == "RGB":
        return image
    if image.mode == "RGBA":
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image, mask=image.getchannel("A"))
        return background
    return image.convert("RGB")


def _too_many_pixels(max_side: int) -> ValidationFailed:
    return ValidationFailed(
        f"The image declares far more pixels than allowed (each side at most {max_side}); "
        "it looks like a decompression bomb. Upload a normal photo.",
        details={"maxSide": max_side},
    )


_ADVICE: Mapping[str, str] = MappingProxyType(
    {
        "metadata_too_large": "Save it again without its metadata and upload the new file.",
        "truncated": "Upload the complete file (export it again from the original if needed).",
        "damaged": "Export it again from the original and upload the new file.",
    }
)


def _corrupt(exc: BaseException) -> CorruptImage:
    """Return the 400 for an image Pillow could not parse, in our words: the library's text
    (which names its internals) goes to the log, never into the answer."""
    reason, words = decode_problem(exc)
    return CorruptImage(
        f"{words[0].upper()}{words[1:]}. {_ADVICE[reason]}", details={"reason": reason}
    )
