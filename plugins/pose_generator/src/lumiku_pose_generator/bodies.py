"""Request bodies, with the names existing clients send (camelCase on the wire)."""

from __future__ import annotations

import attrs

from lumiku import UploadedFile, field

_HEX = r"#[0-9A-Fa-f]{6}"


@attrs.frozen
class ProjectBody:
    """A new project and its avatar: an Avatar Creator avatar, or an uploaded image URL."""

    project_name: str = field(min_length=1, max_length=100, strip=True)
    avatar_source: str = field(choices=("AVATAR_CREATOR", "UPLOAD"))
    description: str | None = field(default=None, max_length=500)
    avatar_id: str | None = field(default=None, max_length=64)
    avatar_image_url: str | None = field(default=None, max_length=2000)


@attrs.frozen
class ProjectUpdateBody:
    """What to change in a project; absent fields stay as they are."""

    project_name: str | None = field(default=None, min_length=1, max_length=100, strip=True)
    description: str | None = field(default=None, max_length=500)
    status: str | None = field(default=None, choices=("active", "archived"))
    avatar_source: str | None = field(default=None, choices=("AVATAR_CREATOR", "UPLOAD"))
    avatar_id: str | None = field(default=None, max_length=64)
    avatar_image_url: str | None = field(default=None, max_length=2000)


@attrs.frozen
class GenerateBody:
    """A generation: gallery poses (x batch) or a text prompt (x variations), options."""

    project_id: str = field(min_length=1, max_length=64)
    generation_type: str = field(choices=("GALLERY_REFERENCE", "TEXT_DESCRIPTION"))
    selected_pose_ids: list[str] | None = field(default=None, min_items=1, max_items=200)
    batch_size: int = field(default=1, ge=1, le=10)
    text_prompt: str | None = field(default=None, min_length=3, max_length=500, strip=True)
    variation_count: int | None = field(default=None, ge=1, le=20)
    use_background_changer: bool = False
    background_mode: str | None = field(
        default=None, choices=("solid_color", "upload", "ai_generate")
    )
    background_color: str | None = field(default=None, pattern=_HEX)
    background_image_url: str | None = field(default=None, max_length=2000)
    background_prompt: str | None = field(default=None, min_length=1, max_length=300, strip=True)
    output_formats: list[str] = field(factory=list, max_items=10)


@attrs.frozen
class BackgroundBody:
    """A background change of one generated pose (10 credits)."""

    background_mode: str = field(choices=("solid_color", "upload", "ai_generate"))
    background_color: str | None = field(default=None, pattern=_HEX)
    background_image_url: str | None = field(default=None, max_length=2000)
    background_prompt: str | None = field(default=None, min_length=1, max_length=300, strip=True)


@attrs.frozen
class ImageUploadForm:
    """An image to use as a project's avatar or as a background (JPEG, PNG or WebP)."""

    image: UploadedFile = field(
        max_bytes=10 * 1024 * 1024, media_types=("image/jpeg", "image/png", "image/webp")
    )


@attrs.frozen
class ExportBody:
    """Formats to (re)make for one generated pose."""

    formats: list[str] = field(min_items=1, max_items=13)
