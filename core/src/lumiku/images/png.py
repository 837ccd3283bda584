"""Read untrusted image bytes safely and write PNG, the one format providers return."""

from __future__ import annotations

import io
from typing import Final

from PIL import Image, UnidentifiedImageError

from lumiku.storage.decode_errors import decode_problem

READABLE_FORMATS: Final = ("PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF")
DEFAULT_MAX_PIXELS: Final = 4096 * 4096


class _TooManyPixels(ValueError):
    """Our own refusal, raised inside the block that translates Pillow's errors."""


_OUR_OWN = _TooManyPixels


def encode_png(image: Image.Image, *, compress_level: int = 6) -> bytes:
    """Encode ``image`` as PNG without metadata, so equal pixels give equal bytes."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=compress_level)
    return buffer.getvalue()


def decode_image(
    data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS, draft: tuple[int, int] | None = None
) -> Image.Image:
    """Decode ``data`` fully, refusing non-images, unknown formats and oversized pictures.

    ``draft`` lets a JPEG decode at a reduced scale no smaller than that size (much faster
    when only a thumbnail is needed); other formats ignore it. Raises ``ValueError`` with a
    message that says what is wrong with the bytes, in our words (never Pillow's).
    """
    if not data:
        raise ValueError("the body is empty")
    try:
        image = Image.open(io.BytesIO(data), formats=READABLE_FORMATS)
        if image.width * image.height > max_pixels:
            raise _TooManyPixels(
                f"the image is {image.width}x{image.height}, over the limit of {max_pixels} pixels"
            )
        if draft is not None:
            image.draft("RGB", draft)
        image.load()
    except UnidentifiedImageError as error:
        raise ValueError(
            f"the body is not an image in one of {', '.join(READABLE_FORMATS)}"
        ) from error
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ValueError(f"the image declares over {max_pixels} pixels") from error
    except _OUR_OWN:
        raise
    except (OSError, SyntaxError, ValueError, EOFError) as error:  # Pillow: bad bytes
        raise ValueError(decode_problem(error)[1]) from error
    return image


def to_png(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[bytes, int, int]:
    """Return ``data`` as PNG bytes with its width and height, converting other formats.

    PNG input that decodes cleanly is returned unchanged.
    """
    image = decode_image(data, max_pixels=max_pixels)
    if image.format == "PNG":
        return data, image.width, image.height
    has_alpha = image.mode in {"RGBA", "LA", "PA"} or "transparency" in image.info
    converted = image.convert("RGBA" if has_alpha else "RGB")
    return encode_png(converted), image.width, image.height
