"""Public library routes: ``GET /library``, ``/library/{poseId}``, its pictures, ``/categories``.

No sign-in is needed: the library is the app's catalog. Reading one pose counts a use.
"""

from __future__ import annotations

from typing import Final

from starlette.responses import Response
from starlette.routing import BaseRoute

from lumiku import Call, NotFound, PluginContext, RateLimit, get
from lumiku_pose_generator.library import (
    LibraryQuery,
    category_rows,
    find_pose,
    library_page,
    use_pose,
)
from lumiku_pose_generator.pictures import KINDS, Kind, PictureCache
from lumiku_pose_generator.views import (
    CategoryTree,
    PosePage,
    PoseView,
    category_tree,
    pose_view,
)

CACHE_SECONDS: Final = 86400
USE_LIMIT: Final = "120/minute"
"""Reads of one pose per client address: each counts a use, so the popularity order is
not free to inflate."""


def library_routes(ctx: PluginContext, tags: tuple[str, ...]) -> list[BaseRoute]:
    """Return the library routes of the plugin ``ctx``."""
    prefix = ctx.spec.prefix
    pictures: PictureCache | None = None

    def cache() -> PictureCache:
        nonlocal pictures
        if pictures is None:
            pictures = PictureCache(ctx.image_provider("local"))
        return pictures

    def list_library(call: Call[None, LibraryQuery]) -> PosePage:
        """List library poses, most used first, filtered by category, difficulty, gender,
        featured and a search in names and tags."""
        with ctx.engine.connect() as connection:
            page, total = library_page(connection, call.query)
        return PosePage([pose_view(row, prefix) for row in page.rows], page.next_cursor, total)

    def get_pose(call: Call[None, None]) -> PoseView:
        """Return one library pose and count a use of it."""
        return pose_view(use_pose(ctx.engine, call.path["pose_id"]), prefix)

    def get_picture(call: Call[None, None]) -> Response:
        """Return a pose's picture: preview, reference, control (OpenPose map) or thumbnail."""
        kind = call.path["kind"]
        with ctx.engine.connect() as connection:
            row = find_pose(connection, call.path["pose_id"])
        if row is None or kind not in KINDS:
            raise NotFound("No such pose picture.", details={"kinds": list(KINDS)})
        data, tag = cache().get(row["keypoints"], _kind(kind), row["gender_suitability"])
        etag = f'"{tag}"'
        headers = {"ETag": etag, "Cache-Control": f"public, max-age={CACHE_SECONDS}"}
        if call.request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        return Response(data, media_type="image/png", headers=headers)

    def list_categories(call: Call[None, None]) -> CategoryTree:
        """Return the category tree with the number of public poses in each."""
        del call
        with ctx.engine.connect() as connection:
            rows, counts = category_rows(connection)
        return category_tree(rows, counts)

    return [
        get("/library", list_library, query=LibraryQuery, response=PosePage, tags=tags),
        get(
            "/library/{pose_id}",
            get_pose,
            response=PoseView,
            tags=tags,
            errors=(404,),
            rate_limits=(RateLimit(USE_LIMIT, per="ip"),),
        ),
        get(
            "/library/{pose_id}/images/{kind}.png",
            get_picture,
            produces="image/png",
            tags=tags,
            errors=(404,),
            summary="Return a pose's picture (PNG).",
        ),
        get("/categories", list_categories, response=CategoryTree, tags=tags),
    ]


def _kind(value: str) -> Kind:
    for kind in KINDS:
        if kind == value:
            return kind
    raise NotFound("No such pose picture.")
