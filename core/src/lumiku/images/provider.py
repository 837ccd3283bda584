"""The image-provider contract: what a generation asks for, what it returns, who makes it.

``ImageProvider`` is an abstract base class rather than a ``Protocol``: providers come
from plugins (``register_image_providers``), and a base class lets the core add optional
methods with safe defaults (``health``, ``close``) without breaking them, and makes a
provider that forgot ``generate`` fail when it is built instead of at its first job.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

import attrs

from lumiku.images.errors import InvalidImageRequest
from lumiku.images.palette import parse_hex
from lumiku.images.skeleton import KEYPOINT_COUNT

if TYPE_CHECKING:
    from PIL import Image

MIN_SIDE: Final = 16
MAX_SIDE: Final = 4096
MAX_SEED: Final = 2**32 - 1
ATTRIBUTE_KEYS: Final = (
    "gender",
    "ageRange",
    "ethnicity",
    "bodyType",
    "hairStyle",
    "hairColor",
    "eyeColor",
    "skinTone",
    "style",
)
"""Visual attributes providers understand; others are passed on to prompts as they are."""
PERSONA_KEYS: Final = ("name", "age", "personality", "background")
"""Persona fields providers understand."""

Keypoint = tuple[float, float, float]


def _text_map(field: str, value: Mapping[str, str] | None) -> Mapping[str, str]:
    items = dict(value or {})
    for key, text in items.items():
        if not isinstance(key, str) or not isinstance(text, str):
            raise InvalidImageRequest(
                field,
                f"{field}[{key!r}] must be text, got {type(text).__name__}; "
                "convert values to strings before building the request",
            )
    return MappingProxyType(items)


def _attributes(value: Mapping[str, str] | None) -> Mapping[str, str]:
    return _text_map("attributes", value)


def _persona(value: Mapping[str, str] | None) -> Mapping[str, str]:
    return _text_map("persona", value)


def _point(index: int, point: Iterable[float]) -> Keypoint:
    try:
        numbers = tuple(float(n) for n in point)
    except (TypeError, ValueError):
        numbers = ()
    if len(numbers) != 3 or not all(math.isfinite(n) for n in numbers):
        raise InvalidImageRequest(
            "keypoints", f"keypoint {index} must be three finite numbers (x, y, c)"
        )
    x, y, confidence = numbers
    if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0 and 0.0 <= confidence <= 1.0):
        raise InvalidImageRequest(
            "keypoints",
            f"keypoint {index} is {numbers}; x and y must be normalized to 0..1 "
            "(divide pixels by the image size) and confidence must be 0..1",
        )
    return (x, y, confidence)


def _keypoint_tuple(value: Iterable[Iterable[float]] | None) -> tuple[Keypoint, ...] | None:
    if value is None:
        return None
    points = tuple(_point(index, point) for index, point in enumerate(value))
    if len(points) != KEYPOINT_COUNT:
        raise InvalidImageRequest(
            "keypoints",
            f"keypoints must list {KEYPOINT_COUNT} points in COCO-18 / OpenPose order, "
            f"got {len(points)}; use confidence 0 for points that are not visible",
        )
    return points


def _check_side(_: Any, attribute: attrs.Attribute[int], value: int) -> None:
    if not MIN_SIDE <= value <= MAX_SIDE:
        raise InvalidImageRequest(
            attribute.name,
            f"{attribute.name} is {value}px; it must be between {MIN_SIDE} and {MAX_SIDE}",
        )


def _check_seed(_: Any, __: attrs.Attribute[int], value: int) -> None:
    if not 0 <= value <= MAX_SEED:
        raise InvalidImageRequest("seed", f"seed is {value}; it must be between 0 and {MAX_SEED}")


def _check_background(_: Any, __: attrs.Attribute[str | None], value: str | None) -> None:
    if value is not None and parse_hex(value) is None:
        raise InvalidImageRequest(
            "background", f"background is {value!r}; give a hex colour such as '#1e90ff' or '#fff'"
        )


@attrs.frozen
class ImageRequest:
    """Describe one image to generate.

    ``attributes`` are visual attributes (``ATTRIBUTE_KEYS``: gender, ageRange, ethnicity,
    bodyType, hairStyle, hairColor, eyeColor, skinTone, style) and ``persona`` the
    character (``PERSONA_KEYS``: name, age, personality, background); both are copied
    into read-only mappings. ``keypoints``, when given, are the 18 points of a pose
    skeleton in COCO-18 / OpenPose order (see ``lumiku.images.skeleton``), each
    ``(x, y, confidence)`` with ``x``, ``y`` normalized to 0..1 and confidence 0 for a
    missing point. ``background`` is a hex colour (``#rrggbb`` or ``#rgb``) and
    ``reference_image`` the encoded bytes of an image to stay close to (the avatar).
    """

    prompt: str
    width: int = attrs.field(validator=_check_side)
    height: int = attrs.field(validator=_check_side)
    seed: int = attrs.field(validator=_check_seed)
    negative_prompt: str = ""
    attributes: Mapping[str, str] = attrs.field(factory=dict, converter=_attributes, hash=False)
    persona: Mapping[str, str] = attrs.field(factory=dict, converter=_persona, hash=False)
    keypoints: tuple[Keypoint, ...] | None = attrs.field(default=None, converter=_keypoint_tuple)
    background: str | None = attrs.field(default=None, validator=_check_background)
    reference_image: bytes | None = attrs.field(default=None, repr=False)
    transparent: bool = False


@attrs.frozen
class GeneratedImage:
    """Hold one generated image: encoded ``data`` and what it is (``content_type``, size).

    ``pixels`` is the decoded picture when the provider had it anyway (the local provider
    draws it), so a caller making a thumbnail or a composition need not decode ``data``
    again; ``None`` otherwise. Treat it as read-only; it takes no part in equality.
    """

    data: bytes = attrs.field(repr=lambda data: f"<{len(data)} bytes>")
    width: int
    height: int
    provider: str
    seed: int
    content_type: str = "image/png"
    pixels: Image.Image | None = attrs.field(default=None, eq=False, repr=False)


class ImageProvider(abc.ABC):
    """Generate images for requests; subclasses set ``name`` and implement ``generate``.

    ``generate`` is synchronous and is called from worker threads and processes, so an
    implementation must be safe to call from several threads at once and must not rely
    on an event loop.
    """

    name: str
    """Stable identifier: the value of the setting that selects this provider."""

    @abc.abstractmethod
    def generate(self, request: ImageRequest) -> GeneratedImage:
        """Generate the image ``request`` describes, or raise a ``ProviderError``."""

    def health(self) -> bool | Mapping[str, Any]:
        """Report whether the provider can serve (a mapping adds details); ``True`` by default."""
        return True

    def close(self) -> None:  # noqa: B027 - an optional hook that does nothing by default
        """Release what the provider holds (connections); the default holds nothing."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {getattr(self, 'name', '?')!r}>"
