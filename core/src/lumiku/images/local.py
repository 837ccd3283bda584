"""The local provider: a deterministic Pillow renderer, the embedded default (no network).

Everything random is drawn from one ``random.Random`` seeded with a hash of the composed
prompt, the negative prompt, the size and the seed, so the same request gives the same
PNG bytes (for one Pillow build) and a change to any attribute changes the picture.
"""

from __future__ import annotations

import hashlib
import random
from typing import Final

import attrs
from PIL import Image

from lumiku.images.backdrop import paint_backdrop, plain_backdrop
from lumiku.images.errors import InvalidImageRequest
from lumiku.images.figure import draw_figure
from lumiku.images.look import resolve_look
from lumiku.images.palette import parse_hex
from lumiku.images.png import decode_image, encode_png
from lumiku.images.portrait import draw_portrait
from lumiku.images.prompt import build_prompt
from lumiku.images.provider import GeneratedImage, ImageProvider, ImageRequest
from lumiku.images.reference import reference_colours

SUPERSAMPLE_PIXELS: Final = 1024 * 1024
"""Images up to this many pixels are drawn at twice the size and shrunk, for smooth edges."""


def request_rng(request: ImageRequest) -> random.Random:
    """Return the random generator of ``request``: equal requests get equal sequences."""
    key = "\x00".join(
        (
            build_prompt(request),
            request.negative_prompt,
            f"{request.width}x{request.height}",
            str(request.seed),
        )
    )
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return random.Random(int.from_bytes(digest[:16], "big"))


def _reference(reference: bytes) -> Image.Image:
    try:
        return decode_image(reference, draft=(256, 256)).convert("RGB")
    except ValueError as error:
        raise InvalidImageRequest(
            "reference_image",
            f"reference_image cannot be used: {error}; send a PNG, JPEG or WebP image",
        ) from error


def _face(image: Image.Image) -> Image.Image:
    """Cut the face region out of a reference portrait (centred, upper half)."""
    side = min(image.size) * 0.5
    cx, cy = image.width / 2, image.height * 0.42
    return image.crop(
        (round(cx - side / 2), round(cy - side / 2), round(cx + side / 2), round(cy + side / 2))
    )


class LocalImageProvider(ImageProvider):
    """Render portraits and posed figures locally with Pillow; safe to share between threads.

    Without keypoints it draws a head-and-shoulders portrait; with keypoints, a figure on
    the skeleton, whose head shows the face of ``reference_image`` when one is given and
    whose skin and clothing take that image's colours (portraits do not use the
    reference). ``background`` replaces the style's backdrop with that solid colour;
    ``transparent`` draws the figure alone on a transparent canvas (an RGBA PNG: the
    figure cut out, to compose onto another background). ``compress_level`` trades PNG
    size for speed (1 is fastest).
    """

    name = "local"

    def __init__(self, *, compress_level: int = 1) -> None:
        self._compress_level = compress_level

    def generate(self, request: ImageRequest) -> GeneratedImage:
        """Render ``request``: a figure when it has keypoints, else a portrait."""
        rng = request_rng(request)
        look = resolve_look(request, rng)
        size = (request.width, request.height)
        reference = None
        if request.keypoints is not None and request.reference_image:
            reference = _reference(request.reference_image)
            skin, clothing = reference_colours(reference)
            look = attrs.evolve(look, skin=skin, clothing=clothing)
        solid = parse_hex(request.background) if request.background is not None else None
        if request.transparent:
            canvas = Image.new("RGBa", size, (0, 0, 0, 0))
        elif solid is not None:
            canvas = plain_backdrop(size, solid)
        else:
            canvas = paint_backdrop(size, look.palette, rng)
        # The backdrop is smooth at 1x; only the drawn shapes need supersampled edges. A
        # nearest-neighbour upscale followed by reduce() gives the backdrop back unchanged.
        scale = 2 if request.width * request.height <= SUPERSAMPLE_PIXELS else 1
        if scale > 1:
            canvas = canvas.resize((size[0] * scale, size[1] * scale), Image.Resampling.NEAREST)
        if request.keypoints is not None:
            face = _face(reference) if reference is not None else None
            draw_figure(canvas, request.keypoints, look, face)
        else:
            draw_portrait(canvas, look, rng)
        if scale > 1:
            canvas = canvas.reduce(scale)
        if canvas.mode == "RGBa":
            canvas = canvas.convert("RGBA")
        return GeneratedImage(
            data=encode_png(canvas, compress_level=self._compress_level),
            width=request.width,
            height=request.height,
            provider=self.name,
            seed=request.seed,
            pixels=canvas,
        )
