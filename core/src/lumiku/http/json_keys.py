"""JSON decoding that refuses a key sent twice in one object.

Python's parser keeps the last of repeated keys silently, so ``{"amount": 1, "amount":
1000000}`` would read as a million where a proxy, a log or a signature saw 1. Every
decoder of request data (bodies, JSON arrays in form fields, page cursors) goes through
``loads_unique``, which refuses such an object at any depth. Keys that differ only in
case (``"Amount"`` and ``"amount"``) are different keys and are allowed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any


class DuplicateKey(ValueError):
    """A JSON object sent the same key more than once; ``key`` names it."""

    def __init__(self, key: str) -> None:
        super().__init__(f"the key {key!r} is sent more than once in one object")
        self.key = key


def unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Return the object of ``pairs``; raise ``DuplicateKey`` when a key repeats."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise DuplicateKey(key)
        result[key] = value
    return result


def loads_unique(raw: str | bytes, *, parse_constant: Callable[[str], Any] | None = None) -> Any:
    """Return ``json.loads(raw)``, refusing repeated keys (``DuplicateKey``, a ``ValueError``).

    Raises what ``json.loads`` raises (``ValueError``, ``UnicodeDecodeError``,
    ``RecursionError``) for text that is not JSON.
    """
    if parse_constant is None:
        return json.loads(raw, object_pairs_hook=unique_object)
    return json.loads(raw, object_pairs_hook=unique_object, parse_constant=parse_constant)
