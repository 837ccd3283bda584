"""Wire names: ``snake_case`` in Python, ``camelCase`` on the wire (bodies, query, paths)."""

from __future__ import annotations

import re

_CAMEL = re.compile(r"_([a-z0-9])")


def to_camel(name: str) -> str:
    """Return ``snake_case`` as ``camelCase`` (``project_id`` -> ``projectId``)."""
    return _CAMEL.sub(lambda m: m.group(1).upper(), name)
