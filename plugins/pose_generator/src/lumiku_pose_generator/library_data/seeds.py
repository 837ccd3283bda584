"""A library pose as seeded, and its stable id."""

from __future__ import annotations

import re

import attrs

from lumiku_pose_generator.posture import Keypoint, Posture, keypoints


def slugify(text: str) -> str:
    """Return ``text`` as a slug: lower-case ASCII letters and digits joined by ``-``."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def pose_id(category: str, name: str) -> str:
    """Return the id of the pose ``name`` of ``category``: ``"<category>.<name slug>"``."""
    return f"{category}.{slugify(name)}"


@attrs.frozen
class PoseSeed:
    """One library pose as seeded: its texts, flags and posture."""

    category: str
    name: str
    description: str
    tags: tuple[str, ...]
    difficulty: str
    gender: str
    posture: Posture
    premium: bool = False
    featured: bool = False

    @property
    def id(self) -> str:
        """The pose's stable id."""
        return pose_id(self.category, self.name)

    def keypoints(self) -> list[Keypoint]:
        """The 18 COCO-18 keypoints of the posture, normalized to a square frame."""
        return keypoints(self.posture)


BEGINNER, INTERMEDIATE, ADVANCED = "beginner", "intermediate", "advanced"
UNISEX, MALE, FEMALE = "unisex", "male", "female"
