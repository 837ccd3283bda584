"""Colour lookups for free-text attribute values."""

from __future__ import annotations

import pytest

from lumiku.images.palette import HAIR_COLOURS, colour, lookup, mix, parse_hex, shade


@pytest.mark.parametrize(
    ("text", "rgb"),
    [("#1e90ff", (30, 144, 255)), ("#FFF", (255, 255, 255)), ("00ff00", (0, 255, 0))],
)
def test_hex_colours_are_parsed(text: str, rgb: tuple[int, int, int]) -> None:
    assert parse_hex(text) == rgb


@pytest.mark.parametrize("text", ["blue", "#12345", "#ggg", ""])
def test_other_text_is_not_a_hex_colour(text: str) -> None:
    assert parse_hex(text) is None


def test_names_are_normalized_and_the_longest_contained_name_wins() -> None:
    assert lookup(HAIR_COLOURS, "Dark_Brown") == HAIR_COLOURS["dark brown"]
    assert lookup(HAIR_COLOURS, "light ash dark-brown") == HAIR_COLOURS["dark brown"]
    assert lookup(HAIR_COLOURS, "strawberry blonde waves") == HAIR_COLOURS["strawberry blonde"]
    assert lookup(HAIR_COLOURS, "reddish") is None  # whole words only
    assert lookup(HAIR_COLOURS, None) is None


def test_a_hex_value_works_wherever_a_colour_is_expected() -> None:
    assert colour(HAIR_COLOURS, "#102030") == (16, 32, 48)


def test_mix_and_shade_stay_in_range() -> None:
    assert mix((0, 0, 0), (255, 255, 255), 0.5) == (128, 128, 128)
    assert shade((200, 100, 50), 0.0) == (0, 0, 0)
    assert shade((200, 100, 50), 5.0) == (255, 255, 255)
