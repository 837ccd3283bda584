"""What the library and request routes answer: attrs classes rendered as camelCase JSON."""

from __future__ import annotations

from datetime import datetime

import attrs

from lumiku_pose_generator.models import Record
from lumiku_pose_generator.pictures import KINDS


@attrs.frozen(kw_only=True)
class PoseView:
    """A library pose: texts, flags, counters, COCO-18 keypoints (``[x, y, confidence]``,
    normalized to a square frame) and the URLs of its pictures (PNG, no sign-in needed)."""

    id: str
    category_id: str
    name: str
    description: str
    tags: list[str]
    difficulty: str
    gender_suitability: str
    is_premium: bool
    is_featured: bool
    usage_count: int
    keypoints: list[list[float]]
    preview_url: str
    reference_url: str
    control_map_url: str
    thumbnail_url: str
    created_at: datetime


@attrs.frozen
class PosePage:
    """Poses, most used first; pass ``nextCursor`` as ``cursor`` for more. ``total`` counts
    every pose that matches the filters."""

    poses: list[PoseView]
    next_cursor: str | None
    total: int


@attrs.frozen(kw_only=True)
class CategoryView:
    """A category with its public poses counted (a root counts its children's too)."""

    id: str
    slug: str
    name: str
    description: str
    icon: str
    color: str
    display_order: int
    parent_id: str | None
    pose_count: int
    children: list[CategoryView]


@attrs.frozen
class CategoryTree:
    """The six root categories, each with its children, in display order."""

    categories: list[CategoryView]
    total_poses: int


def picture_urls(prefix: str, pose_id: str) -> dict[str, str]:
    """Return the URLs of a pose's pictures under the plugin's ``prefix``."""
    base = f"{prefix}/library/{pose_id}/images"
    names = {"preview": "preview_url", "reference": "reference_url"}
    names |= {"control": "control_map_url", "thumbnail": "thumbnail_url"}
    return {names[kind]: f"{base}/{kind}.png" for kind in KINDS}


def pose_view(row: Record, prefix: str) -> PoseView:
    """Return the view of a ``pose_library`` row."""
    return PoseView(
        id=row["id"],
        category_id=row["category_id"],
        name=row["name"],
        description=row["description"],
        tags=list(row["tags"]),
        difficulty=row["difficulty"],
        gender_suitability=row["gender_suitability"],
        is_premium=bool(row["is_premium"]),
        is_featured=bool(row["is_featured"]),
        usage_count=int(row["usage_count"]),
        keypoints=[[float(v) for v in point] for point in row["keypoints"]],
        created_at=row["created_at"],
        **picture_urls(prefix, row["id"]),
    )


def category_tree(rows: list[Record], counts: dict[str, int]) -> CategoryTree:
    """Return the tree of ``rows`` (roots first level) with pose counts."""

    def node(row: Record, children: list[CategoryView]) -> CategoryView:
        own = counts.get(row["id"], 0)
        return CategoryView(
            id=row["id"],
            slug=row["slug"],
            name=row["name"],
            description=row["description"],
            icon=row["icon"],
            color=row["color"],
            display_order=int(row["display_order"]),
            parent_id=row["parent_id"],
            pose_count=own + sum(child.pose_count for child in children),
            children=children,
        )

    roots = [
        node(root, [node(child, []) for child in rows if child["parent_id"] == root["id"]])
        for root in rows
        if root["parent_id"] is None
    ]
    return CategoryTree(roots, sum(counts.values()))


@attrs.frozen(kw_only=True)
class PoseRequestView:
    """A user's request for a pose; ``category`` is a category slug, ``completedPoseId``
    the library pose that fulfilled it."""

    id: str
    user_id: str
    pose_name: str
    description: str
    category: str | None
    use_case: str | None
    reference_image_url: str | None
    status: str
    admin_notes: str | None
    reviewed_at: datetime | None
    completed_pose_id: str | None
    created_at: datetime
    updated_at: datetime


@attrs.frozen
class PoseRequestPage:
    """Requests, newest first; pass ``nextCursor`` as ``cursor`` for more."""

    requests: list[PoseRequestView]
    next_cursor: str | None


def request_view(row: Record) -> PoseRequestView:
    """Return the view of a ``pose_requests`` row."""
    return PoseRequestView(
        id=row["id"],
        user_id=row["user_id"],
        pose_name=row["pose_name"],
        description=row["description"],
        category=row["category_id"],
        use_case=row["use_case"],
        reference_image_url=row["reference_image_url"],
        status=row["status"],
        admin_notes=row["admin_notes"],
        reviewed_at=row["reviewed_at"],
        completed_pose_id=row["completed_pose_id"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )
