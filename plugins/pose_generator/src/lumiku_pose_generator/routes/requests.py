"""Pose request routes: users' ``POST|GET /requests``; admins' ``/admin/requests...``.

Admin routes live under their own ``/admin`` prefix, so no user route with a parameter can
shadow them; the core's role check (``auth="admin"``) guards each.
"""

from __future__ import annotations

from typing import Any

from starlette.routing import BaseRoute

from lumiku import Call, PluginContext, get, post
from lumiku_pose_generator.requests import (
    CompleteBody,
    PoseRequestBody,
    RejectBody,
    RequestQuery,
    create_request,
    request_page,
    review,
)
from lumiku_pose_generator.views import PoseRequestPage, PoseRequestView, request_view


def request_routes(ctx: PluginContext, tags: tuple[str, ...]) -> list[BaseRoute]:
    """Return the pose request routes of the plugin ``ctx``."""

    def submit(call: Call[PoseRequestBody, None]) -> PoseRequestView:
        """Ask for a pose the library lacks (409 if you have an open request of that name)."""
        return request_view(create_request(ctx.engine, call.user_id, call.body, ctx.clock()))

    def list_mine(call: Call[None, RequestQuery]) -> PoseRequestPage:
        """List your pose requests, newest first."""
        with ctx.engine.connect() as connection:
            page = request_page(connection, call.query, call.user_id)
        return PoseRequestPage([request_view(row) for row in page.rows], page.next_cursor)

    def list_all(call: Call[None, RequestQuery]) -> PoseRequestPage:
        """List every user's pose requests, newest first (admins)."""
        with ctx.engine.connect() as connection:
            page = request_page(connection, call.query, None)
        return PoseRequestPage([request_view(row) for row in page.rows], page.next_cursor)

    def approve(call: Call[None, None]) -> PoseRequestView:
        """Approve a pending request (admins)."""
        return _review(call, "approved")

    def start(call: Call[None, None]) -> PoseRequestView:
        """Mark a pending or approved request as in progress (admins)."""
        return _review(call, "in_progress")

    def reject(call: Call[RejectBody, None]) -> PoseRequestView:
        """Reject an open request, saying why (admins)."""
        return _review(call, "rejected", notes=call.body.notes)

    def complete(call: Call[CompleteBody, None]) -> PoseRequestView:
        """Mark a request completed by a library pose (admins)."""
        return _review(call, "completed", notes=call.body.notes, pose_id=call.body.pose_id)

    def _review(
        call: Call[Any, None],
        status: str,
        *,
        notes: str | None = None,
        pose_id: str | None = None,
    ) -> PoseRequestView:
        row = review(
            ctx.engine,
            call.path["request_id"],
            status,
            admin_id=call.user_id,
            now=ctx.clock(),
            notes=notes,
            pose_id=pose_id,
        )
        return request_view(row)

    admin = "/admin/requests/{request_id}"
    review_errors = (404, 409)
    return [
        post(
            "/requests",
            submit,
            operation_id="submitPoseRequest",
            body=PoseRequestBody,
            response=PoseRequestView,
            status=201,
            auth="user",
            idempotent=True,
            errors=(409,),
            tags=tags,
        ),
        get(
            "/requests",
            list_mine,
            operation_id="listMyPoseRequests",
            query=RequestQuery,
            response=PoseRequestPage,
            auth="user",
            tags=tags,
        ),
        get(
            "/admin/requests",
            list_all,
            operation_id="listAllPoseRequests",
            query=RequestQuery,
            response=PoseRequestPage,
            auth="admin",
            tags=tags,
        ),
        post(
            f"{admin}/approve",
            approve,
            operation_id="approvePoseRequest",
            response=PoseRequestView,
            auth="admin",
            errors=review_errors,
            tags=tags,
        ),
        post(
            f"{admin}/in-progress",
            start,
            operation_id="startPoseRequest",
            response=PoseRequestView,
            auth="admin",
            errors=review_errors,
            tags=tags,
        ),
        post(
            f"{admin}/reject",
            reject,
            operation_id="rejectPoseRequest",
            body=RejectBody,
            response=PoseRequestView,
            auth="admin",
            errors=review_errors,
            tags=tags,
        ),
        post(
            f"{admin}/completed",
            complete,
            operation_id="completePoseRequest",
            body=CompleteBody,
            response=PoseRequestView,
            auth="admin",
            errors=review_errors,
            tags=tags,
        ),
    ]
