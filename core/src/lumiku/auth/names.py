"""Display names: optional, trimmed, at most 100 printable characters."""

from __future__ import annotations

import unicodedata
from typing import Final

from lumiku.errors import ValidationFailed

MAX_LENGTH: Final = 100


def name_problem(name: str) -> str | None:
    """Return why the trimmed ``name`` is not acceptable, or ``None``."""
    if len(name) > MAX_LENGTH:
        return f"must be at most {MAX_LENGTH} characters"
    if any(unicodedata.category(char) in {"Cc", "Cf", "Cs", "Co", "Cn"} for char in name):
        return "must not contain control or invisible formatting characters"
    return None


def clean_name(name: str | None, *, field: str = "name") -> str | None:
    """Return ``name`` trimmed (``None`` when empty); raise ``ValidationFailed`` if bad."""
    if name is None:
        return None
    trimmed = name.strip()
    problem = name_problem(trimmed)
    if problem is not None:
        raise ValidationFailed(f"The name {problem}.", details={"fields": {field: problem}})
    return trimmed or None
