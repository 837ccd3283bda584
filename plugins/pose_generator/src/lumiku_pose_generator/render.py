"""Render one pose: the avatar's identity on a library pose's keypoints, any background.

With the local provider the avatar's image gives the figure its face (the head) and its
colours (skin and clothing), drawn on the pose's skeleton. A background change draws
``solid_color`` as the provider's backdrop; for ``upload`` and ``ai_generate`` the figure
is drawn alone on a transparent canvas (the provider cuts out what it drew) and composed
onto the uploaded image (cover-cropped) or onto a backdrop rendered from the background
prompt (a scene with no visible figure).
"""

from __future__ import annotations

import hashlib
import io

import attrs
from PIL import Image, ImageOps

from lumiku import GeneratedImage, ImageProvider, ImageRequest
from lumiku_pose_generator.poses import Keypoints

HIDDEN_FIGURE: Keypoints = tuple((0.5, 0.5, 0.0) for _ in range(18))
"""A skeleton with no visible point: the provider draws the backdrop only."""


@attrs.frozen
class Background:
    """A background change: ``mode`` with its colour, image bytes or prompt."""

    mode: str
    color: str | None = None
    image: bytes | None = None
    prompt: str | None = None


def seed_of(*parts: str) -> int:
    """Return a stable 32-bit seed from text parts."""
    digest = hashlib.sha256("\x00".join(parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big")


@attrs.frozen
class RenderedPose:
    """A rendered pose: its PNG, and its pixels when the provider or the composition had them."""

    png: bytes = attrs.field(repr=False)
    pixels: Image.Image | None = attrs.field(default=None, eq=False, repr=False)


def render_pose(
    provider: ImageProvider,
    *,
    prompt: str,
    keypoints: Keypoints,
    avatar: bytes,
    size: tuple[int, int],
    seed: int,
    background: Background | None,
) -> RenderedPose:
    """Return the avatar posed on ``keypoints`` with ``background`` applied."""
    request = ImageRequest(
        prompt=prompt,
        width=size[0],
        height=size[1],
        seed=seed,
        keypoints=keypoints,
        reference_image=avatar,
    )
    if background is None:
        return _rendered(provider.generate(request))
    if background.mode == "solid_color":
        return _rendered(provider.generate(attrs.evolve(request, background=background.color)))
    figure = _open(provider.generate(attrs.evolve(request, transparent=True)).data)
    if background.mode == "upload" and background.image is not None:
        backdrop = ImageOps.fit(_open(background.image).convert("RGB"), size)
    else:
        scene = ImageRequest(
            prompt=background.prompt or "studio backdrop",
            width=size[0],
            height=size[1],
            seed=seed_of(background.prompt or "", str(seed)),
            keypoints=HIDDEN_FIGURE,
        )
        backdrop = _open(provider.generate(scene).data).convert("RGB")
    backdrop.paste(figure, (0, 0), figure.convert("RGBA"))
    return RenderedPose(_png(backdrop), backdrop)


def thumbnail(rendered: RenderedPose | bytes, side: int) -> bytes:
    """Return a ``side`` x ``side`` JPEG of a rendered pose, cover-cropped and centred.

    Made from the pixels the render already has (no PNG decode) with a bilinear filter,
    which Pillow widens when shrinking, so it averages every source pixel: at 768x1024 to
    400x400 that is about a third of the cost of decoding the PNG and a Lanczos resize
    (docs/decisions.md, "Pose thumbnails").
    """
    if isinstance(rendered, bytes):
        rendered = RenderedPose(rendered)
    image = rendered.pixels if rendered.pixels is not None else _open(rendered.png)
    if image.mode != "RGB":
        image = image.convert("RGB")
    crop = min(image.width, image.height)
    left, top = (image.width - crop) / 2, (image.height - crop) / 2
    image = image.resize(
        (side, side),
        Image.Resampling.BILINEAR,
        box=(left, top, left + crop, top + crop),
    )
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85)
    return out.getvalue()


def _rendered(generated: GeneratedImage) -> RenderedPose:
    return RenderedPose(generated.data, generated.pixels)


def _open(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=1)
    return out.getvalue()
