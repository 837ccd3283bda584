"""Export formats: the one list, the parser, and each format's exact pixel size."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from lumiku_pose_generator.exports import (
    FORMATS,
    MAX_FORMATS,
    cover,
    export_name,
    parse_formats,
    render_export,
)

REFERENCE = {
    "instagram_story": (1080, 1920, "jpg"),
    "instagram_feed": (1080, 1080, "jpg"),
    "instagram_portrait": (1080, 1350, "jpg"),
    "tiktok": (1080, 1920, "jpg"),
    "shopee_product": (1000, 1000, "jpg"),
    "tokopedia_product": (1200, 1200, "jpg"),
    "lazada_product": (1000, 1000, "jpg"),
    "facebook_post": (1200, 630, "jpg"),
    "twitter_post": (1200, 675, "jpg"),
    "linkedin_post": (1200, 627, "jpg"),
    "print_a4": (2480, 3508, "png"),
    "print_4x6": (1800, 1200, "png"),
}


def _picture(width: int = 768, height: int = 1024, mode: str = "RGB") -> Image.Image:
    image = Image.new(mode, (width, height), (200, 30, 30, 255)[: len(mode)])
    # a marker column in the centre: a centred crop keeps it in the middle
    for y in range(height):
        for x in range(width // 2 - 4, width // 2 + 4):
            image.putpixel((x, y), (0, 0, 250, 255)[: len(mode)])
    return image


def test_the_list_is_the_reference_table() -> None:
    assert list(FORMATS) == [*REFERENCE, "original"]
    for name, (width, height, kind) in REFERENCE.items():
        assert FORMATS[name].size == (width, height)
        assert FORMATS[name].file_type == kind
    assert FORMATS["original"].size is None
    assert FORMATS["original"].file_type == "png"


@pytest.mark.parametrize("name", list(FORMATS))
def test_each_format_renders_at_its_exact_size_and_type(name: str) -> None:
    export = FORMATS[name]
    data = render_export(_picture(), export)
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (export.size or (768, 1024))
        assert image.format == ("PNG" if export.file_type == "png" else "JPEG")
        middle = image.convert("RGB").getpixel((image.width // 2, image.height // 2))
        assert isinstance(middle, tuple)
        assert middle[2] > 150  # the centre stays the centre
        assert middle[0] < 100


def test_jpeg_exports_flatten_transparency() -> None:
    data = render_export(_picture(mode="RGBA"), FORMATS["instagram_feed"])
    with Image.open(io.BytesIO(data)) as image:
        assert image.mode == "RGB"
        assert image.size == (1080, 1080)


@pytest.mark.parametrize("size", [(1, 1), (3000, 10), (10, 3000), (1080, 1920)])
def test_cover_gives_the_exact_size_for_any_input(size: tuple[int, int]) -> None:
    assert cover(Image.new("RGB", size), (1200, 627)).size == (1200, 627)


def test_the_parser_folds_duplicates_and_keeps_the_order() -> None:
    parsed = parse_formats(" tiktok, original ,tiktok,,instagram_feed ")
    assert [f.name for f in parsed] == ["tiktok", "original", "instagram_feed"]
    assert [f.name for f in parse_formats(["print_a4", "print_a4"])] == ["print_a4"]


@pytest.mark.parametrize("value", ["tiktok,Instagram_Feed", "jpg", "tiktok,%", "tiktok,print-a4"])
def test_unknown_names_are_refused_with_the_allowed_ones(value: str) -> None:
    with pytest.raises(ValueError, match="unknown export format") as error:
        parse_formats(value)
    assert "allowed: instagram_story" in str(error.value)
    assert "original" in str(error.value)


@pytest.mark.parametrize("value", ["", " , ", []])
def test_no_format_is_refused(value: str | list[str]) -> None:
    with pytest.raises(ValueError, match="at least one"):
        parse_formats(value)


def test_at_most_ten_formats() -> None:
    names = list(FORMATS)
    assert len(parse_formats(names[:MAX_FORMATS])) == 10
    with pytest.raises(ValueError, match="at most 10"):
        parse_formats(names[: MAX_FORMATS + 1])


def test_zip_member_names() -> None:
    assert export_name(FORMATS["print_a4"], "p1") == "print_a4/p1.png"
    assert export_name(FORMATS["tiktok"], "p1") == "tiktok/p1.jpg"
