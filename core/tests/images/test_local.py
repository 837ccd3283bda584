"""The local renderer: deterministic, driven by attributes, exact sizes, posed figures."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from PIL import Image, ImageChops, ImageStat

from lumiku.images import ImageRequest, InvalidImageRequest, LocalImageProvider
from lumiku.images import skeleton as sk

BASE_ATTRIBUTES = {
    "gender": "female",
    "ageRange": "25-35",
    "skinTone": "medium",
    "hairColor": "black",
    "hairStyle": "long",
    "eyeColor": "brown",
    "bodyType": "average",
    "style": "realistic",
}
# A person standing, facing the camera, left arm raised (normalized x, y, confidence).
STANDING: list[tuple[float, float, float]] = [
    (0.50, 0.16, 1), (0.50, 0.26, 1), (0.42, 0.27, 1), (0.34, 0.40, 1), (0.28, 0.52, 1),
    (0.58, 0.27, 1), (0.68, 0.36, 1), (0.78, 0.28, 1), (0.45, 0.52, 1), (0.44, 0.70, 1),
    (0.43, 0.88, 1), (0.55, 0.52, 1), (0.60, 0.70, 1), (0.64, 0.87, 1), (0.48, 0.14, 1),
    (0.52, 0.14, 1), (0.46, 0.15, 1), (0.54, 0.15, 1),
]  # fmt: skip


def make(**changes: Any) -> ImageRequest:
    fields: dict[str, Any] = {
        "prompt": "studio portrait",
        "width": 256,
        "height": 256,
        "seed": 42,
        "attributes": BASE_ATTRIBUTES,
        "persona": {"name": "Sari", "personality": "cheerful"},
    }
    return ImageRequest(**(fields | changes))


def render(request: ImageRequest) -> Image.Image:
    result = LocalImageProvider().generate(request)
    image = Image.open(io.BytesIO(result.data))
    assert image.format == "PNG"
    return image.convert("RGB")


def distance(first: Image.Image, second: Image.Image) -> float:
    """Mean absolute difference per channel, 0..255."""
    return sum(ImageStat.Stat(ImageChops.difference(first, second)).mean) / 3


def test_the_same_request_gives_the_same_bytes() -> None:
    provider = LocalImageProvider()
    first = provider.generate(make())
    second = LocalImageProvider().generate(make())
    assert first.data == second.data
    assert (first.provider, first.seed, first.content_type) == ("local", 42, "image/png")


def test_another_seed_gives_another_image() -> None:
    assert distance(render(make()), render(make(seed=43))) > 1.0


@pytest.mark.parametrize(
    ("attribute", "value"),
    [
        ("skinTone", "deep"),
        ("hairColor", "blonde"),
        ("hairStyle", "afro"),
        ("eyeColor", "blue"),
        ("style", "cyberpunk"),
        ("bodyType", "plus size"),
        ("gender", "male"),
    ],
)
def test_each_visual_attribute_changes_the_picture(attribute: str, value: str) -> None:
    changed = make(attributes=BASE_ATTRIBUTES | {attribute: value})
    # Eyes are small: a mean over the whole picture is small but still far above zero.
    threshold = 0.1 if attribute == "eyeColor" else 2.0
    assert distance(render(make()), render(changed)) > threshold


def test_skin_tone_drives_the_face_colour() -> None:
    light = render(make(attributes=BASE_ATTRIBUTES | {"skinTone": "fair"}))
    dark = render(make(attributes=BASE_ATTRIBUTES | {"skinTone": "deep"}))
    cheek = (128 - 20, 128 + 5)  # left cheek, clear of eyes, nose and blush
    assert sum(light.getpixel(cheek)) > sum(dark.getpixel(cheek)) + 200  # type: ignore[arg-type]


def test_the_persona_changes_the_picture() -> None:
    serious = make(persona={"name": "Budi", "personality": "serious"})
    assert distance(render(make()), render(serious)) > 0.2


@pytest.mark.parametrize(("width", "height"), [(16, 16), (512, 768), (1024, 576), (1100, 1100)])
def test_the_output_has_exactly_the_requested_size(width: int, height: int) -> None:
    request = make(width=width, height=height)
    result = LocalImageProvider().generate(request)
    assert (result.width, result.height) == (width, height)
    assert render(request).size == (width, height)


def test_a_background_colour_fills_the_portrait_backdrop() -> None:
    image = render(make(background="#1e90ff"))
    assert image.getpixel((2, 2)) == (30, 144, 255)


def posed(**changes: Any) -> ImageRequest:
    fields: dict[str, Any] = {"width": 300, "height": 400, "keypoints": STANDING}
    return make(**(fields | {"background": "#ffffff"} | changes))


def limb_midpoint(a: int, b: int, size: tuple[int, int]) -> tuple[int, int]:
    (ax, ay, _), (bx, by, _) = STANDING[a], STANDING[b]
    return round((ax + bx) / 2 * size[0]), round((ay + by) / 2 * size[1])


@pytest.mark.parametrize(("a", "b"), list(sk.ARMS + sk.LEGS + sk.TRUNK[:4]))
def test_keypoints_draw_a_figure_along_each_limb(a: int, b: int) -> None:
    image = render(posed())
    assert image.getpixel(limb_midpoint(a, b, image.size)) != (255, 255, 255)


def test_the_figure_stays_on_its_skeleton() -> None:
    image = render(posed())
    assert image.getpixel((5, 5)) == (255, 255, 255)
    assert image.getpixel((290, 200)) == (255, 255, 255)  # right of the raised arm


def test_the_head_is_drawn_at_the_nose_in_the_skin_tone() -> None:
    image = render(posed())
    nose = STANDING[sk.NOSE]
    below_nose = (round(nose[0] * 300), round(nose[1] * 400) + 6)
    assert image.getpixel(below_nose) == (208, 163, 125)  # "medium" skin


def test_missing_keypoints_are_skipped() -> None:
    hidden = list(STANDING)
    for index in (sk.L_ELBOW, sk.L_WRIST):
        hidden[index] = (hidden[index][0], hidden[index][1], 0.0)
    image = render(posed(keypoints=hidden))
    assert image.getpixel(limb_midpoint(sk.L_ELBOW, sk.L_WRIST, image.size)) == (255, 255, 255)


def test_a_reference_image_becomes_the_face_of_the_figure() -> None:
    reference = io.BytesIO()
    Image.new("RGB", (200, 200), (0, 200, 0)).save(reference, format="JPEG")
    image = render(posed(reference_image=reference.getvalue()))
    nose = STANDING[sk.NOSE]
    red, green, blue = image.getpixel((round(nose[0] * 300), round(nose[1] * 400)))  # type: ignore[misc]
    assert green > 150
    assert max(red, blue) < 60


def test_an_unreadable_reference_image_is_refused() -> None:
    with pytest.raises(InvalidImageRequest, match="reference_image cannot be used"):
        LocalImageProvider().generate(posed(reference_image=b"not an image"))


def test_threads_sharing_one_provider_get_the_same_bytes() -> None:
    provider = LocalImageProvider()
    requests = [make(seed=seed % 3) for seed in range(9)]
    with ThreadPoolExecutor(3) as pool:
        results = [result.data for result in pool.map(provider.generate, requests)]
    assert results[:3] * 3 == results


@pytest.mark.slow
def test_the_bytes_do_not_depend_on_the_process_hash_seed() -> None:
    script = (
        "import hashlib, sys\n"
        "from lumiku.images import ImageRequest, LocalImageProvider\n"
        "request = ImageRequest(prompt='p', width=64, height=48, seed=9,\n"
        "    attributes={'style': 'fantasy', 'hairStyle': 'afro', 'hairColor': 'pink'})\n"
        "sys.stdout.write(hashlib.sha256(LocalImageProvider().generate(request).data).hexdigest())\n"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", script],
            env=os.environ | {"PYTHONHASHSEED": str(hash_seed)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for hash_seed in (1, 2)
    }
    assert len(digests) == 1


def _portrait(face: tuple[int, int, int], shirt: tuple[int, int, int]) -> bytes:
    """A 200px reference: a face-coloured middle and a shirt-coloured bottom edge."""
    picture = Image.new("RGB", (200, 200), (230, 230, 230))
    picture.paste(face, (60, 50, 140, 130))
    picture.paste(shirt, (0, 175, 200, 200))
    encoded = io.BytesIO()
    picture.save(encoded, format="PNG")
    return encoded.getvalue()


def test_the_figure_wears_the_reference_images_colours() -> None:
    reference = _portrait(face=(120, 80, 50), shirt=(200, 30, 40))
    image = render(posed(reference_image=reference))
    # Upper arm (clothing) and the middle of the forearm (skin) of the person's left side.
    shirt = image.getpixel(limb_midpoint(sk.L_SHOULDER, sk.L_ELBOW, image.size))
    skin = image.getpixel(limb_midpoint(sk.L_ELBOW, sk.L_WRIST, image.size))
    assert max(abs(a - b) for a, b in zip(shirt, (200, 30, 40), strict=True)) <= 8  # type: ignore[arg-type]
    assert max(abs(a - b) for a, b in zip(skin, (120, 80, 50), strict=True)) <= 8  # type: ignore[arg-type]


def test_a_transparent_request_cuts_the_figure_out() -> None:
    result = LocalImageProvider().generate(posed(transparent=True))
    image = Image.open(io.BytesIO(result.data))
    assert image.mode == "RGBA"
    assert image.getpixel((2, 2))[3] == 0  # type: ignore[index]
    assert image.getpixel(limb_midpoint(sk.NECK, sk.R_HIP, image.size))[3] == 255  # type: ignore[index]
    # The same figure as on an opaque canvas, where it is opaque.
    opaque = render(posed())
    at = limb_midpoint(sk.L_ELBOW, sk.L_WRIST, image.size)
    assert image.convert("RGB").getpixel(at) == opaque.getpixel(at)
