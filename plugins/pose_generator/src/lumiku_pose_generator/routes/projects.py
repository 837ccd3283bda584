"""``/projects``: create, list, read, change and delete projects; ``/uploads`` for images."""

from __future__ import annotations

from typing import Any

from starlette.routing import BaseRoute

from lumiku import Call, PageQuery, RateLimit, check_image, delete, get, post, put
from lumiku_pose_generator.bodies import ImageUploadForm, ProjectBody, ProjectUpdateBody
from lumiku_pose_generator.projects import ProjectChanges
from lumiku_pose_generator.results import iso
from lumiku_pose_generator.services import Services
from lumiku_pose_generator.tables import Record
from lumiku_pose_generator.wire import PoseProjectPage, PoseProjectView, UploadedImage


def project_view(services: Services, row: Record, poses: int | None = None) -> dict[str, Any]:
    """Return the wire view of a project (the avatar image as a signed URL)."""
    if poses is None:
        poses = services.projects.pose_counts([row["id"]])[row["id"]]
    ctx = services.ctx
    return {
        "id": row["id"],
        "projectName": row["project_name"],
        "description": row["description"],
        "avatarSource": row["avatar_source"],
        "avatarId": row["avatar_id"],
        "avatarImageUrl": ctx.files.sign(
            row["avatar_image_key"], expires_in=ctx.settings.url_expires_in
        ),
        "status": row["status"],
        "totalGenerations": row["total_generations"],
        "totalPoses": poses,
        "createdAt": iso(row["created_at"]),
        "updatedAt": iso(row["updated_at"]),
    }


def project_routes(services: Services, tags: tuple[str, ...]) -> list[BaseRoute]:
    """Return the project and upload routes."""
    projects, ctx = services.projects, services.ctx

    def list_projects(call: Call[None, PageQuery]) -> dict[str, Any]:
        """List the caller's projects, newest first."""
        page = projects.page(call.user_id, call.query)
        counts = projects.pose_counts([row["id"] for row in page.rows])
        return {
            "projects": [project_view(services, row, counts[row["id"]]) for row in page.rows],
            "nextCursor": page.next_cursor,
        }

    def create_project(call: Call[ProjectBody, None]) -> dict[str, Any]:
        """Create a project for an Avatar Creator avatar or an uploaded image."""
        body = call.body
        row = projects.create(
            call.user_id,
            project_name=body.project_name,
            description=body.description,
            avatar_source=body.avatar_source,
            avatar_id=body.avatar_id,
            avatar_image_url=body.avatar_image_url,
        )
        return project_view(services, row)

    def get_project(call: Call[None, None]) -> dict[str, Any]:
        """Return one of the caller's projects."""
        return project_view(services, projects.get(call.user_id, call.path["project_id"]))

    def update_project(call: Call[ProjectUpdateBody, None]) -> dict[str, Any]:
        """Change a project's name, description, status or avatar."""
        body = call.body
        changes = ProjectChanges(
            project_name=body.project_name,
            description=body.description,
            status=body.status,
            avatar_source=body.avatar_source,
            avatar_id=body.avatar_id,
            avatar_image_url=body.avatar_image_url,
        )
        row = projects.update(call.user_id, call.path["project_id"], changes)
        return project_view(services, row)

    def delete_project(call: Call[None, None]) -> None:
        """Delete a project with its generations and files (409 while one runs)."""
        projects.delete(call.user_id, call.path["project_id"])

    def upload_image(call: Call[ImageUploadForm, None]) -> dict[str, Any]:
        """Store an image (an avatar photo or a background) and return its signed URL."""
        checked = check_image(call.body.image.data, min_side=64)
        key = ctx.storage.put(checked.data, suffix=checked.suffix)
        url = ctx.files.sign(key, expires_in=ctx.settings.url_expires_in)
        return {"imageUrl": url, "width": checked.width, "height": checked.height}

    one = "/projects/{project_id}"
    return [
        get(
            "/projects",
            list_projects,
            auth="user",
            query=PageQuery,
            response=PoseProjectPage,
            tags=tags,
        ),
        post(
            "/projects",
            create_project,
            response=PoseProjectView,
            auth="user",
            idempotent=True,
            body=ProjectBody,
            status=201,
            rate_limits=(RateLimit("30/hour"),),
            tags=tags,
        ),
        get(one, get_project, auth="user", response=PoseProjectView, tags=tags),
        put(
            one,
            update_project,
            auth="user",
            body=ProjectUpdateBody,
            response=PoseProjectView,
            tags=tags,
        ),
        delete(one, delete_project, auth="user", status=204, errors=(409,), tags=tags),
        post(
            "/uploads",
            upload_image,
            response=UploadedImage,
            auth="user",
            idempotent=True,
            form=ImageUploadForm,
            status=201,
            rate_limits=(RateLimit("60/hour"),),
            tags=tags,
        ),
    ]
