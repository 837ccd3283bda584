"""Find plugins through the ``lumiku.plugins`` entry-point group."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable

import attrs

ENTRY_POINT_GROUP = "lumiku.plugins"
BUILTIN_PLUGINS = frozenset({"avatar_creator", "pose_generator", "payments_duitku"})
"""The plugins shipped in this repository: the only ones ``LUMIKU_SAFE_MODE`` keeps."""


@attrs.frozen
class Candidate:
    """A plugin found but not yet imported: its entry-point name and how to load its spec."""

    name: str
    distribution: str | None
    load: Callable[[], object] = attrs.field(eq=False, repr=False)
    version: str | None = None


def discover(group: str = ENTRY_POINT_GROUP) -> list[Candidate]:
    """Return the installed plugins' entry points, sorted by name. Nothing is imported."""
    found = []
    for entry in importlib.metadata.entry_points(group=group):
        dist = entry.dist.name if entry.dist is not None else None
        version = entry.dist.version if entry.dist is not None else None
        found.append(Candidate(entry.name, dist, entry.load, version))
    return sorted(found, key=lambda candidate: candidate.name)
