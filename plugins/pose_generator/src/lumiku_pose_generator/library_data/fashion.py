"""Poses of the fashion groups."""

from __future__ import annotations

from typing import Final

from lumiku_pose_generator.library_data.seeds import PoseSeed

POSES: Final[tuple[PoseSeed, ...]] = ()
