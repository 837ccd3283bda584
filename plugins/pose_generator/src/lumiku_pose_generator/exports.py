"""Export formats (placeholder until the pose-lib branch lands with the real module).

The pose-lib branch owns this module: the one list of export formats, its parser and the
cover-crop renderer. This stand-in has the same names so the generation code runs.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from types import MappingProxyType

import attrs
from PIL import Image, ImageOps

from lumiku import ValidationFailed


@attrs.frozen
class ExportFormat:
    """One export: its name, pixel size (None: as generated) and file type."""

    name: str
    size: tuple[int, int] | None
    extension: str


EXPORT_FORMATS: Mapping[str, ExportFormat] = MappingProxyType(
    {
        f.name: f
        for f in (
            ExportFormat("instagram_story", (1080, 1920), "jpg"),
            ExportFormat("instagram_feed", (1080, 1080), "jpg"),
            ExportFormat("instagram_portrait", (1080, 1350), "jpg"),
            ExportFormat("tiktok", (1080, 1920), "jpg"),
            ExportFormat("shopee_product", (1000, 1000), "jpg"),
            ExportFormat("tokopedia_product", (1200, 1200), "jpg"),
            ExportFormat("lazada_product", (1000, 1000), "jpg"),
            ExportFormat("facebook_post", (1200, 630), "jpg"),
            ExportFormat("twitter_post", (1200, 675), "jpg"),
            ExportFormat("linkedin_post", (1200, 627), "jpg"),
            ExportFormat("print_a4", (2480, 3508), "png"),
            ExportFormat("print_4x6", (1800, 1200), "png"),
            ExportFormat("original", None, "png"),
        )
    }
)


def parse_formats(values: Iterable[str], *, field: str = "outputFormats") -> list[str]:
    """Return the format names, deduplicated in order; 422 naming each unknown one."""
    names = list(values)
    errors = {
        f"{field}[{index}]": f"must be one of {', '.join(EXPORT_FORMATS)}"
        for index, name in enumerate(names)
        if name not in EXPORT_FORMATS
    }
    if errors:
        raise ValidationFailed("Unknown export format.", details={"fields": errors})
    return list(dict.fromkeys(names))


def render_export(png: bytes, name: str) -> bytes:
    """Return ``png`` cover-cropped and centred to the format's size, in its file type."""
    export = EXPORT_FORMATS[name]
    image: Image.Image = Image.open(io.BytesIO(png))
    image.load()
    if export.size is not None:
        image = ImageOps.fit(image.convert("RGB"), export.size, Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if export.extension == "jpg":
        image.convert("RGB").save(out, format="JPEG", quality=90)
    else:
        image.save(out, format="PNG")
    return out.getvalue()
