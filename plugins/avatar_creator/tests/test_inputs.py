"""Forged cursors and hostile form fields are 4xx, never 500s."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from starlette.testclient import TestClient


def forged(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps({"v": 1, "k": value}).encode()).decode()


LISTS = ["/presets", "/persona-examples", "/projects", "/avatars", "/generations"]
CURSORS = {
    "2^31 in a 32-bit sort order": forged([2**31, "x"]),
    "a timestamp before datetime.min in UTC": forged(["0001-01-01T00:00:00+14:00", "x"]),
    "a timestamp after datetime.max in UTC": forged(["9999-12-31T23:59:59-14:00", "x"]),
    "a NUL in an id": forged(["2020-01-01T00:00:00Z", "x\u0000"]),
    "10^30": forged([10**30, "x"]),
    "a boolean": forged([True, "x"]),
    "nested brackets": "[" * 200,
    "not a cursor": "not-a-cursor",
}


@pytest.mark.parametrize("path", LISTS)
def test_a_forged_cursor_is_a_400_on_every_list(client: TestClient, kit: Any, path: str) -> None:
    api = kit.sign_up(client)
    for name, cursor in CURSORS.items():
        response = api.get(path, params={"cursor": cursor})
        assert response.status_code == 400, (name, response.text)
        assert response.json()["error"]["code"] == "INVALID_CURSOR", name


@pytest.mark.parametrize("personality", ["[" * 50_000, "[" * 3000 + "]" * 3000, "[1, 2", '["a"] x'])
def test_a_hostile_personality_field_is_a_validation_error(
    client: TestClient, kit: Any, personality: str
) -> None:
    api = kit.sign_up(client)
    refused = api.upload(api.project(), personaPersonality=personality)

    assert refused.status_code == 422, refused.text
    assert set(refused.json()["error"]["details"]["fields"]) == {"personaPersonality"}
    assert api.balance()["balance"] == 100
