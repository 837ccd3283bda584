"""Export formats: the one list of names, the ``formats=`` parser and the renderer.

``FORMATS`` maps a name to its size and file type; ``original`` has no size (the image as
generated, as PNG). Images are cover-cropped, centred: scaled until they cover the target,
then the overflow is cut equally from both sides.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final, Literal

import attrs
from PIL import Image

FileType = Literal["jpg", "png"]
MAX_FORMATS: Final = 10
JPEG_QUALITY: Final = 90


@attrs.frozen
class ExportFormat:
    """One export format: ``size`` is ``(width, height)`` in pixels, ``None`` for the
    original size; ``file_type`` is the file's extension and encoding."""

    name: str
    size: tuple[int, int] | None
    file_type: FileType

    @property
    def media_type(self) -> str:
        """The file's media type."""
        return "image/png" if self.file_type == "png" else "image/jpeg"


def _formats(*rows: tuple[str, tuple[int, int] | None, FileType]) -> Mapping[str, ExportFormat]:
    return MappingProxyType({name: ExportFormat(name, size, kind) for name, size, kind in rows})


FORMATS: Final[Mapping[str, ExportFormat]] = _formats(
    ("instagram_story", (1080, 1920), "jpg"),
    ("instagram_feed", (1080, 1080), "jpg"),
    ("instagram_portrait", (1080, 1350), "jpg"),
    ("tiktok", (1080, 1920), "jpg"),
    ("shopee_product", (1000, 1000), "jpg"),
    ("tokopedia_product", (1200, 1200), "jpg"),
    ("lazada_product", (1000, 1000), "jpg"),
    ("facebook_post", (1200, 630), "jpg"),
    ("twitter_post", (1200, 675), "jpg"),
    ("linkedin_post", (1200, 627), "jpg"),
    ("print_a4", (2480, 3508), "png"),
    ("print_4x6", (1800, 1200), "png"),
    ("original", None, "png"),
)
"""Every export format by name, in the order the API lists them."""


def parse_formats(value: str | list[str] | tuple[str, ...]) -> tuple[ExportFormat, ...]:
    """Return the formats named in ``value`` (``"a,b"`` or a list of names), in the order
    given, duplicates folded, blanks and spaces ignored.

    Raise ``ValueError`` naming the unknown names and the allowed ones, when none is given,
    or when more than ``MAX_FORMATS`` distinct formats are asked for.
    """
    items = value.split(",") if isinstance(value, str) else list(value)
    names = list(dict.fromkeys(name.strip() for name in items if name.strip()))
    unknown = [name for name in names if name not in FORMATS]
    if unknown:
        raise ValueError(
            f"unknown export format(s): {', '.join(unknown)}; allowed: {', '.join(FORMATS)}"
        )
    if not names:
        raise ValueError(f"name at least one export format; allowed: {', '.join(FORMATS)}")
    if len(names) > MAX_FORMATS:
        raise ValueError(f"at most {MAX_FORMATS} export formats, got {len(names)}")
    return tuple(FORMATS[name] for name in names)


def cover(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Return ``image`` scaled to cover ``size`` (width, height) and centre-cropped to it."""
    width, height = size
    scale = max(width / image.width, height / image.height)
    scaled = (max(width, round(image.width * scale)), max(height, round(image.height * scale)))
    resized = image.resize(scaled, Image.Resampling.LANCZOS)
    left, top = (scaled[0] - width) // 2, (scaled[1] - height) // 2
    return resized.crop((left, top, left + width, top + height))


def render_export(image: Image.Image, export: ExportFormat) -> bytes:
    """Return ``image`` in ``export``'s size and file type, encoded (JPEG without alpha,
    transparency flattened on white; PNG keeps it)."""
    picture = image if export.size is None else cover(image, export.size)
    buffer = io.BytesIO()
    if export.file_type == "jpg":
        if picture.mode in ("RGBA", "LA", "P"):
            rgba = picture.convert("RGBA")
            flat = Image.new("RGB", rgba.size, (255, 255, 255))
            flat.paste(rgba, mask=rgba.getchannel("A"))
            picture = flat
        picture.convert("RGB").save(buffer, format="JPEG", quality=JPEG_QUALITY)
    else:
        picture.save(buffer, format="PNG")
    return buffer.getvalue()


def export_name(export: ExportFormat, pose_id: str) -> str:
    """Return the ZIP member name of a pose's export: ``<format>/<poseId>.<ext>``."""
    return f"{export.name}/{pose_id}.{export.file_type}"
