"""Forged cursors and hostile form fields are 422s, never 500s (pure functions, no app)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from starlette.datastructures import FormData

from lumiku import ValidationFailed
from lumiku_avatar_creator.pagination import (
    MAX_CURSOR_KEY,
    decode_cursor,
    encode_cursor,
)
from lumiku_avatar_creator.traits import traits_from_form


def forged(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("cursor", "timestamp"),
    [
        (forged(["0001-01-01T00:00:00+14:00", "x"]), True),  # before datetime.min in UTC
        (forged(["9999-12-31T23:59:59-14:00", "x"]), True),  # after datetime.max in UTC
        (forged([12, "x"]), True),
        (forged(["2020-01-01T00:00:00", "x\u0000"]), True),  # NUL: PostgreSQL refuses it
        (forged([10**30, "x"]), False),
        (forged([-(2**63), "x"]), False),
        (forged([True, "x"]), False),
        (forged([1, 2]), False),
        ("[" * 200, False),
        ("not-a-cursor", True),
    ],
)
def test_a_forged_cursor_is_a_validation_error(cursor: str, timestamp: bool) -> None:
    with pytest.raises(ValidationFailed):
        decode_cursor(cursor, timestamp=timestamp)


def test_cursors_this_api_hands_out_still_decode() -> None:
    at = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
    assert decode_cursor(encode_cursor(at, "id-1"), timestamp=True) == (at, "id-1")
    assert decode_cursor(encode_cursor(MAX_CURSOR_KEY, "id-2"), timestamp=False) == (
        MAX_CURSOR_KEY,
        "id-2",
    )


@pytest.mark.parametrize("personality", ["[" * 50_000, "[" * 3000 + "]" * 3000, "[1, 2", '["a"] x'])
def test_a_hostile_personality_field_is_a_validation_error(personality: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        traits_from_form(FormData([("personaPersonality", personality)]))

    assert set(refused.value.details["fields"]) == {"personaPersonality"}
