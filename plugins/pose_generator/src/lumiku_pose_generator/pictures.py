"""The pictures of a library pose, drawn from its keypoints (PNG bytes).

- ``control``: the OpenPose control map (skeleton in OpenPose colours on black), 512x512;
- ``reference``: the posed mannequin on white, 768x768, the picture a person copies;
- ``preview``: the mannequin on the studio backdrop, 768x768;
- ``thumbnail``: the preview at 400x400.

Everything is deterministic (fixed prompt, attributes and seed), so a picture depends on
the keypoints only and can be cached by them.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Final, Literal

from PIL import Image

from lumiku import ImageProvider, ImageRequest, draw_pose_map

Kind = Literal["preview", "reference", "control", "thumbnail"]
KINDS: Final[tuple[Kind, ...]] = ("preview", "reference", "control", "thumbnail")
CONTROL_SIZE: Final = 512
FIGURE_SIZE: Final = 768
THUMBNAIL_SIZE: Final = 400
_MANNEQUIN: Final = {"style": "professional", "bodyType": "average", "hairStyle": "short"}
_MANNEQUINS: Final = {
    "unisex": _MANNEQUIN,
    "male": {**_MANNEQUIN, "gender": "male"},
    "female": {**_MANNEQUIN, "gender": "female", "hairStyle": "hijab"},
}
"""The mannequin drawn for a pose, by the pose's gender suitability (the female poses are
the hijab groups')."""
_SEED: Final = 8
Keypoints = Sequence[Sequence[float]]


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False, compress_level=6)
    return buffer.getvalue()


def _points(keypoints: Keypoints) -> list[tuple[float, float, float]]:
    return [(float(p[0]), float(p[1]), float(p[2])) for p in keypoints]


def control_map(keypoints: Keypoints, size: int = CONTROL_SIZE) -> bytes:
    """Return the OpenPose control map of ``keypoints`` as a ``size``-square PNG."""
    return _png(draw_pose_map(_points(keypoints), (size, size)))


def figure(
    provider: ImageProvider,
    keypoints: Keypoints,
    *,
    size: int = FIGURE_SIZE,
    background: str | None = None,
    gender: str = "unisex",
) -> bytes:
    """Return the mannequin posed by ``keypoints`` drawn by ``provider`` (the local one
    draws a figure on the skeleton), on ``background`` (a hex colour) or its backdrop;
    ``gender`` (a pose's suitability) picks the mannequin."""
    request = ImageRequest(
        prompt="a mannequin showing a pose from the library",
        width=size,
        height=size,
        seed=_SEED,
        attributes=_MANNEQUINS.get(gender, _MANNEQUIN),
        keypoints=_points(keypoints),
        background=background,
    )
    return provider.generate(request).data


def thumbnail(preview: bytes, size: int = THUMBNAIL_SIZE) -> bytes:
    """Return ``preview`` scaled to a ``size``-square PNG."""
    with Image.open(io.BytesIO(preview)) as image:
        return _png(image.convert("RGB").resize((size, size), Image.Resampling.LANCZOS))


def render(
    provider: ImageProvider, keypoints: Keypoints, kind: Kind, gender: str = "unisex"
) -> bytes:
    """Return the picture ``kind`` of a pose as PNG bytes."""
    if kind == "control":
        return control_map(keypoints)
    if kind == "reference":
        return figure(provider, keypoints, background="#ffffff", gender=gender)
    preview = figure(provider, keypoints, gender=gender)
    return preview if kind == "preview" else thumbnail(preview)


def picture_tag(keypoints: Keypoints, kind: Kind, gender: str = "unisex") -> str:
    """Return a short digest of what a picture is drawn from (its ETag)."""
    mannequin = _MANNEQUINS.get(gender, _MANNEQUIN)
    text = json.dumps([kind, _points(keypoints), mannequin, _SEED], separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class PictureCache:
    """Pictures drawn on first request and kept (least recently used out beyond
    ``max_items``); safe to share between threads. A picture is keyed by its tag, so a
    re-seeded pose with new keypoints gets a new picture."""

    def __init__(self, provider: ImageProvider, max_items: int = 400) -> None:
        self._provider = provider
        self._max_items = max_items
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, keypoints: Keypoints, kind: Kind, gender: str = "unisex") -> tuple[bytes, str]:
        """Return the PNG bytes of the picture and its tag."""
        tag = picture_tag(keypoints, kind, gender)
        with self._lock:
            found = self._items.get(tag)
            if found is not None:
                self._items.move_to_end(tag)
                return found, tag
        data = render(self._provider, keypoints, kind, gender)
        with self._lock:
            self._items[tag] = data
            while len(self._items) > self._max_items:
                self._items.popitem(last=False)
        return data, tag
