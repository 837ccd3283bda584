"""The 28 categories of the library: six roots and their 22 children, in display order."""

from __future__ import annotations

from typing import Final

import attrs


@attrs.frozen
class CategorySeed:
    """One category: ``slug`` is also its id; ``parent`` is the root's slug (``None`` for a
    root); ``color`` is ``#rrggbb``; ``icon`` names an icon of the web client's set."""

    slug: str
    name: str
    description: str
    icon: str
    color: str
    order: int
    parent: str | None = None


def _group(
    slug: str,
    name: str,
    description: str,
    icon: str,
    color: str,
    order: int,
    children: tuple[tuple[str, str, str, str], ...],
) -> list[CategorySeed]:
    root = CategorySeed(slug, name, description, icon, color, order)
    return [root] + [
        CategorySeed(child, title, text, child_icon, color, index, parent=slug)
        for index, (child, title, text, child_icon) in enumerate(children, start=1)
    ]


CATEGORIES: Final[tuple[CategorySeed, ...]] = tuple(
    _group(
        "professional",
        "Professional",
        "Poses for business profiles, corporate sites and talks.",
        "briefcase",
        "#3b82f6",
        1,
        (
            (
                "business-portraits",
                "Business Portraits",
                "Confident standing portraits.",
                "user-tie",
            ),
            (
                "corporate-headshots",
                "Corporate Headshots",
                "Head-and-shoulders framing.",
                "id-badge",
            ),
            ("conference-speaking", "Conference Speaking", "On stage, gesturing.", "microphone"),
            (
                "office-workspace",
                "Office & Workspace",
                "At the desk and around the office.",
                "laptop",
            ),
        ),
    )
    + _group(
        "e-commerce",
        "E-Commerce",
        "Poses that show a product: marketplaces, live selling, before and after.",
        "shopping-bag",
        "#f97316",
        2,
        (
            ("product-modeling", "Product Modeling", "Holding and presenting a product.", "box"),
            ("shopee-tiktok", "Shopee & TikTok", "Lively poses for short videos.", "video"),
            ("before-after", "Before & After", "Paired stances for comparisons.", "columns"),
            ("live-selling", "Live Selling", "Talking to the camera while selling.", "broadcast"),
        ),
    )
    + _group(
        "fashion",
        "Fashion",
        "Editorial, street and runway poses.",
        "shirt",
        "#ec4899",
        3,
        (
            ("editorial", "Editorial", "Magazine poses with strong lines.", "camera"),
            ("street-style", "Street Style", "Candid poses in the city.", "building"),
            ("runway-catwalk", "Runway & Catwalk", "Walks, turns and end poses.", "footprints"),
        ),
    )
    + _group(
        "hijab",
        "Hijab",
        "Modest poses for hijab fashion and occasions.",
        "sparkles",
        "#14b8a6",
        4,
        (
            ("casual-hijab", "Casual Hijab", "Everyday modest looks.", "sun"),
            ("professional-hijab", "Professional Hijab", "Modest business poses.", "briefcase"),
            ("fashion-hijab", "Fashion Hijab", "Styled modest fashion.", "star"),
            ("wedding-hijab", "Wedding Hijab", "Bridal and ceremony poses.", "heart"),
        ),
    )
    + _group(
        "casual",
        "Casual",
        "Relaxed everyday poses for social media and lifestyle shots.",
        "smile",
        "#eab308",
        5,
        (
            ("everyday-casual", "Everyday Casual", "Natural standing poses.", "coffee"),
            ("social-media", "Social Media", "Playful poses for posts and stories.", "hashtag"),
            ("outdoor-lifestyle", "Outdoor Lifestyle", "Outside, on the move.", "mountain"),
            ("sitting-relaxed", "Sitting & Relaxed", "Seated and lounging.", "sofa"),
        ),
    )
    + _group(
        "sports",
        "Sports",
        "Fitness, yoga and running poses.",
        "dumbbell",
        "#22c55e",
        6,
        (
            ("fitness-gym", "Fitness & Gym", "Strength poses.", "dumbbell"),
            ("yoga-wellness", "Yoga & Wellness", "Balance and stretch poses.", "lotus"),
            ("running-cardio", "Running & Cardio", "Running and jumping.", "running"),
        ),
    )
)
