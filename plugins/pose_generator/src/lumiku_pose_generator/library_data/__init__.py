"""The library's seed: 28 categories and 84 poses with their postures (keypoints).

Pose ids are stable and readable: ``"<category slug>.<name slug>"`` (``pose_id``), so a
re-seed updates the same rows and tests or clients may name a pose.
"""

from __future__ import annotations

from typing import Final

from lumiku_pose_generator.library_data.categories import CATEGORIES, CategorySeed
from lumiku_pose_generator.library_data.seeds import PoseSeed, pose_id, slugify


def _poses() -> tuple[PoseSeed, ...]:
    from lumiku_pose_generator.library_data import commerce, fashion, lifestyle, professional

    return (*professional.POSES, *commerce.POSES, *fashion.POSES, *lifestyle.POSES)


POSES: Final[tuple[PoseSeed, ...]] = _poses()

__all__ = ["CATEGORIES", "POSES", "CategorySeed", "PoseSeed", "pose_id", "slugify"]
