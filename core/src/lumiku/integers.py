"""Whole numbers from outside (requests, cursors, headers, settings), checked against the
range of where they are stored, so that no database refuses one with a 500.

Text is read as ASCII digits only: Python's ``int()`` also takes fullwidth and other Unicode
digits (``"\\uff11\\uff12"``), underscores (``"1_000"``) and spaces, which no client means as a
number. JSON numbers must be integers (``1e3`` and ``5.0`` are floats, ``true`` is not 1).
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa

INT16 = (-(2**15), 2**15 - 1)
INT32 = (-(2**31), 2**31 - 1)
"""The range of an ``INTEGER`` column on PostgreSQL."""
INT64 = (-(2**63), 2**63 - 1)
"""The range of a ``BIGINT`` column (and of every SQLite integer)."""

_DIGITS = re.compile(r"-?[0-9]{1,19}")


def parse_whole(text: str, low: int, high: int) -> int:
    """Return the whole number ``text`` spells (ASCII digits, an optional ``-``) if it lies
    in ``low..high``; raise ``ValueError`` saying what was expected otherwise."""
    if not isinstance(text, str) or not _DIGITS.fullmatch(text):
        shown = text[:40] if isinstance(text, str) else type(text).__name__
        raise ValueError(f"expected a whole number written in digits 0-9, got {shown!r}")
    return check_whole(int(text), low, high)


def check_whole(value: Any, low: int, high: int) -> int:
    """Return ``value`` if it is an ``int`` (not a bool or float) in ``low..high``; raise
    ``TypeError`` for another type and ``ValueError`` outside the range."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected a whole number, got {type(value).__name__}")
    if not low <= value <= high:
        raise ValueError(f"must be a whole number from {low} to {high}")
    return value


def column_range(kind: sa.types.TypeEngine[Any]) -> tuple[int, int]:
    """Return the range of integers a column of type ``kind`` holds on every database.

    ``SmallInteger`` is 16-bit, ``Integer`` 32-bit (PostgreSQL's ``INTEGER``), anything
    else 64-bit. A type with a dialect variant (``BigInteger().with_variant(Integer(),
    "sqlite")``) is held to its base type.
    """
    kind = getattr(kind, "impl", kind)
    if isinstance(kind, sa.SmallInteger):
        return INT16
    if isinstance(kind, sa.BigInteger):
        return INT64
    if isinstance(kind, sa.Integer):
        return INT32
    return INT64
