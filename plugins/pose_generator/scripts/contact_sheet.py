"""Draw the library's 84 poses on one contact sheet, to look at them all at once.

Usage: ``python plugins/pose_generator/scripts/contact_sheet.py [out.png] [--map]
[--columns=12] [--cell=220] [--first=1] [--count=84]``; each cell shows the mannequin (or,
with ``--map``, the OpenPose control map), its index, name and category.
"""

from __future__ import annotations

import io
import sys

from PIL import Image, ImageDraw

from lumiku.images import LocalImageProvider
from lumiku_pose_generator import pictures
from lumiku_pose_generator.library_data import POSES


def _option(argv: list[str], name: str, default: int) -> int:
    for arg in argv:
        if arg.startswith(f"--{name}="):
            return int(arg.split("=", 1)[1])
    return default


def main(argv: list[str]) -> int:
    """Write the sheet; return 0."""
    out = next((a for a in argv if not a.startswith("--")), "pose-contact-sheet.png")
    use_map = "--map" in argv
    columns, cell = _option(argv, "columns", 12), _option(argv, "cell", 220)
    first = _option(argv, "first", 1) - 1
    poses = POSES[first : first + _option(argv, "count", len(POSES))]
    provider = LocalImageProvider()
    rows = (len(poses) + columns - 1) // columns
    sheet = Image.new("RGB", (columns * cell, rows * (cell + 28)), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for index, pose in enumerate(poses):
        points = pose.keypoints()
        data = (
            pictures.control_map(points, cell)
            if use_map
            else pictures.figure(
                provider, points, size=cell, background="#f4f4f4", gender=pose.gender
            )
        )
        tile = Image.open(io.BytesIO(data)).convert("RGB")
        x, y = (index % columns) * cell, (index // columns) * (cell + 28)
        sheet.paste(tile, (x, y))
        draw.text((x + 3, y + cell + 2), f"{first + index + 1}. {pose.name[:30]}", (0, 0, 0))
        draw.text((x + 3, y + cell + 14), pose.category[:34], (90, 90, 90))
    sheet.save(out)
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
