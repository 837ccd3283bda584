"""``loads_unique``: a key repeated in one JSON object is refused at any depth."""

from __future__ import annotations

import pytest

from lumiku.http.json_keys import DuplicateKey, loads_unique
from lumiku.pages import decode_cursor


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ('{"userId": "u", "amount": 1, "amount": 1000000}', "amount"),
        ('{"a": {"b": 1, "b": 2}}', "b"),
        ('[{"x": 1}, {"y": 1, "y": 1}]', "y"),
        ('{"": 1, "": 2}', ""),
    ],
)
def test_repeated_keys_are_refused(raw: str, key: str) -> None:
    with pytest.raises(DuplicateKey) as caught:
        loads_unique(raw)
    assert caught.value.key == key


def test_distinct_keys_are_read_as_sent() -> None:
    assert loads_unique('{"a": 1, "A": 2, "n": [{"a": 3}, {"a": 4}]}') == {
        "a": 1,
        "A": 2,
        "n": [{"a": 3}, {"a": 4}],
    }


def test_a_cursor_with_a_repeated_key_is_refused() -> None:
    import base64

    import sqlalchemy as sa

    from lumiku.errors import BadRequest

    raw = base64.urlsafe_b64encode(b'{"v": 1, "k": [1], "k": [2]}').decode().rstrip("=")
    with pytest.raises(BadRequest):
        decode_cursor(raw, [sa.Column("id", sa.Integer)])
