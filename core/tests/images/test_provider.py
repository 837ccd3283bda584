"""The provider contract: request validation, result shape and the base class."""

from __future__ import annotations

import pickle
from typing import Any

import attrs
import pytest

from lumiku.errors import LumikuError
from lumiku.images import (
    KEYPOINT_NAMES,
    GeneratedImage,
    ImageProvider,
    ImageRequest,
    InvalidImageRequest,
    ProviderBadOutput,
    ProviderRejected,
    ProviderUnavailable,
)
from lumiku.images.provider import MAX_SEED

STANDING = [(0.5, 0.2, 1.0)] * 18


def make(**changes: Any) -> ImageRequest:
    fields: dict[str, Any] = {"prompt": "a portrait", "width": 64, "height": 64, "seed": 1}
    return ImageRequest(**(fields | changes))


def test_keypoint_names_are_coco_18_in_openpose_order() -> None:
    assert len(KEYPOINT_NAMES) == 18
    assert KEYPOINT_NAMES[:2] == ("nose", "neck")
    assert KEYPOINT_NAMES[-4:] == ("right_eye", "left_eye", "right_ear", "left_ear")


@pytest.mark.parametrize(("field", "value"), [("width", 15), ("height", 4097), ("width", 0)])
def test_sizes_outside_the_limits_are_refused(field: str, value: int) -> None:
    with pytest.raises(InvalidImageRequest, match=f"{field} is {value}px") as caught:
        make(**{field: value})
    assert caught.value.field == field
    assert caught.value.details == {"fields": {field: caught.value.message}}
    assert caught.value.code == "INVALID_IMAGE_REQUEST"


@pytest.mark.parametrize("seed", [-1, MAX_SEED + 1])
def test_seeds_outside_32_bits_are_refused(seed: int) -> None:
    with pytest.raises(InvalidImageRequest, match="seed"):
        make(seed=seed)


def test_keypoints_are_converted_to_tuples_of_floats() -> None:
    request = make(keypoints=[[0.5, 0.2, 1]] * 18)
    assert request.keypoints == ((0.5, 0.2, 1.0),) * 18


def test_keypoints_need_all_18_points() -> None:
    with pytest.raises(InvalidImageRequest, match="18 points in COCO-18 / OpenPose order, got 17"):
        make(keypoints=STANDING[:17])


@pytest.mark.parametrize("point", [(1.5, 0.2, 1.0), (0.5, -0.1, 1.0), (0.5, 0.5, 2.0)])
def test_keypoints_must_be_normalized(point: tuple[float, float, float]) -> None:
    with pytest.raises(InvalidImageRequest, match="normalized"):
        make(keypoints=[point, *STANDING[1:]])


@pytest.mark.parametrize("point", [(0.5, float("nan"), 1.0), ("x", 0.5, 1.0), (0.5, 0.5), 7])
def test_keypoints_must_be_triples_of_finite_numbers(point: Any) -> None:
    with pytest.raises(InvalidImageRequest, match="keypoint 0 must be three finite numbers"):
        make(keypoints=[point, *STANDING[1:]])


@pytest.mark.parametrize("background", ["#1e90ff", "#FFF", "1e90ff"])
def test_hex_backgrounds_are_accepted(background: str) -> None:
    assert make(background=background).background == background


def test_a_named_background_is_refused_with_an_example() -> None:
    with pytest.raises(InvalidImageRequest, match="hex colour such as '#1e90ff'"):
        make(background="blue")


def test_attribute_values_must_be_text() -> None:
    with pytest.raises(InvalidImageRequest, match=r"persona\['age'\] must be text, got int"):
        make(persona={"age": 30})


def test_attributes_are_copied_and_read_only() -> None:
    attributes = {"hairColor": "red"}
    request = make(attributes=attributes)
    attributes["hairColor"] = "blue"
    assert request.attributes["hairColor"] == "red"
    with pytest.raises(TypeError):
        request.attributes["hairColor"] = "green"  # type: ignore[index]


def test_equal_requests_are_equal_and_hashable() -> None:
    first, second = make(attributes={"style": "anime"}), make(attributes={"style": "anime"})
    assert first == second
    assert hash(first) == hash(second)
    assert first != make(attributes={"style": "cartoon"})


def test_reprs_leave_out_image_bytes() -> None:
    assert "reference_image" not in repr(make(reference_image=b"\x89PNG" * 1000))
    image = GeneratedImage(b"x" * 5000, 10, 10, provider="local", seed=1)
    assert "<5000 bytes>" in repr(image)


def test_a_provider_without_generate_cannot_be_built() -> None:
    class Incomplete(ImageProvider):
        name = "incomplete"

    with pytest.raises(TypeError, match="generate"):
        Incomplete()  # type: ignore[abstract]


def test_the_base_class_gives_health_and_close_defaults() -> None:
    class Stub(ImageProvider):
        name = "stub"

        def generate(self, request: ImageRequest) -> GeneratedImage:
            return GeneratedImage(b"", request.width, request.height, self.name, request.seed)

    provider = Stub()
    assert provider.health() is True
    provider.close()
    assert repr(provider) == "<Stub 'stub'>"
    assert attrs.asdict(provider.generate(make()))["provider"] == "stub"


@pytest.mark.parametrize(
    "error",
    [
        InvalidImageRequest("seed", "seed is -1"),
        ProviderRejected("no", provider="huggingface", status=401),
        ProviderUnavailable("busy", provider="huggingface", status=503, retry_after=2.0),
        ProviderBadOutput("garbage", provider="huggingface", status=200),
    ],
)
def test_errors_survive_pickling_for_process_pools(error: LumikuError) -> None:
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes, made one line above
    assert type(copy) is type(error)
    assert (copy.message, copy.details, str(copy)) == (error.message, error.details, str(error))
    assert vars(copy) == vars(error)
