"""What a generation reads from the pose library: names, tags and keypoints of poses.

Text mode picks its poses from the prompt deterministically: the public library poses are
ranked by how many words their name and tags share with the prompt (ties in an order fixed
by a hash of the prompt and the pose), and variation ``n`` takes the ``n``-th, so the same
prompt always gives the same poses and variations differ while the library allows.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence

import attrs
import sqlalchemy as sa

from lumiku_pose_generator.models import pose_library

_library = pose_library
_WORD = re.compile(r"[a-z0-9]+")

Keypoints = tuple[tuple[float, float, float], ...]


@attrs.frozen
class LibraryPose:
    """One library pose as the renderer needs it."""

    id: str
    name: str
    tags: tuple[str, ...]
    keypoints: Keypoints


def _pose(row: sa.RowMapping) -> LibraryPose:
    points = tuple(
        (float(point[0]), float(point[1]), float(point[2])) for point in row["keypoints"]
    )
    return LibraryPose(row["id"], row["name"], tuple(row["tags"] or ()), points)


def find_poses(connection: sa.Connection, pose_ids: Iterable[str]) -> dict[str, LibraryPose]:
    """Return the library poses of ``pose_ids`` that exist, by id."""
    wanted = sorted(set(pose_ids))
    if not wanted:
        return {}
    rows = connection.execute(sa.select(_library).where(_library.c.id.in_(wanted))).mappings()
    return {row["id"]: _pose(row) for row in rows}


def all_poses(connection: sa.Connection) -> list[LibraryPose]:
    """Return every library pose, ordered by id."""
    rows = connection.execute(
        sa.select(_library).where(_library.c.is_public).order_by(_library.c.id)
    ).mappings()
    return [_pose(row) for row in rows]


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def pick_for_prompt(poses: Sequence[LibraryPose], prompt: str, variation: int) -> LibraryPose:
    """Return the pose of text-mode variation ``variation`` (0-based) for ``prompt``.

    Raise ``LookupError`` when the library is empty.
    """
    if not poses:
        raise LookupError("the pose library is empty")
    words = _words(prompt)

    def score(pose: LibraryPose) -> int:
        return len(words & (_words(pose.name) | _words(" ".join(pose.tags))))

    def tiebreak(pose: LibraryPose) -> str:
        return hashlib.sha256(f"{prompt}\x00{pose.id}".encode()).hexdigest()

    ranked = sorted(poses, key=lambda pose: (-score(pose), tiebreak(pose)))
    return ranked[variation % len(ranked)]
