"""Text checks at the decoding boundaries (``lumiku.http.text``) and error rendering that
never fails on text a request echoed."""

from __future__ import annotations

import json

import pytest

from lumiku import errors
from lumiku.http.errors import error_response
from lumiku.http.text import check_json_text, is_encodable


@pytest.mark.parametrize(
    "data",
    [
        "\ud800",
        {"\udfff": 1},
        {"a": ["ok", {"b": "x\udc00"}]},
        [[[[["\ud83d"]]]]],
    ],
)
def test_a_lone_surrogate_anywhere_is_invalid_text(data: object) -> None:
    with pytest.raises(errors.BadRequest) as caught:
        check_json_text(data)
    assert caught.value.code == "INVALID_TEXT"


@pytest.mark.parametrize(
    "data", ["plain", "\U0001f600 emoji", {"ключ": ["значение", 1, 2.5, None, True]}, []]
)
def test_valid_unicode_passes(data: object) -> None:
    check_json_text(data)


def test_a_document_deeper_than_the_recursion_limit_is_walked() -> None:
    deep: object = "\ud800"
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(errors.BadRequest):
        check_json_text(deep)


def test_is_encodable() -> None:
    assert is_encodable("abc")
    assert is_encodable("é\U0001f600")
    assert not is_encodable("a\ud800")


def test_an_error_echoing_a_surrogate_still_renders() -> None:
    response = error_response(errors.NotFound("No item 'x\ud800'", details={"id": "\udfff"}))
    assert response.status_code == 404
    body = json.loads(response.body)
    assert body["error"]["code"] == "NOT_FOUND"
    assert body["error"]["message"] == "No item 'x?'"
