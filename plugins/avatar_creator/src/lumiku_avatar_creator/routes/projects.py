"""``/projects``: create, list (with their newest avatars), read, rename, delete."""

from __future__ import annotations

from starlette.routing import BaseRoute

from lumiku import Call, PageQuery, RateLimit, delete, get, post, put
from lumiku_avatar_creator.bodies import AvatarProjectBody, AvatarProjectUpdateBody
from lumiku_avatar_creator.models import Record
from lumiku_avatar_creator.services import Services
from lumiku_avatar_creator.views import AvatarProjectPage, AvatarProjectView


def project_routes(services: Services, tags: tuple[str, ...]) -> list[BaseRoute]:
    """Return the project routes."""
    projects, renderer = services.projects, services.renderer

    def views(rows: list[Record]) -> list[AvatarProjectView]:
        """Return the views of project rows, each with its newest avatars."""
        newest, counts = projects.newest_avatars([row["id"] for row in rows])
        return [
            renderer.project(
                row, [renderer.avatar(a) for a in newest[row["id"]]], counts[row["id"]]
            )
            for row in rows
        ]

    def list_projects(call: Call[None, PageQuery]) -> AvatarProjectPage:
        """List the caller's projects, newest first, each with its newest avatars."""
        page = projects.page(call.user_id, call.query)
        return AvatarProjectPage(views(page.rows), page.next_cursor)

    def create_project(call: Call[AvatarProjectBody, None]) -> AvatarProjectView:
        """Create a project."""
        row = projects.create(call.user_id, call.body.name, call.body.description)
        return views([row])[0]

    def get_project(call: Call[None, None]) -> AvatarProjectView:
        """Return one of the caller's projects with its newest avatars."""
        return views([projects.get(call.user_id, call.path["project_id"])])[0]

    def update_project(call: Call[AvatarProjectUpdateBody, None]) -> AvatarProjectView:
        """Rename a project or change its description."""
        body = call.body
        row = projects.update(call.user_id, call.path["project_id"], body.name, body.description)
        return views([row])[0]

    def delete_project(call: Call[None, None]) -> None:
        """Delete a project with its avatars, generations, usage history and files."""
        projects.delete(call.user_id, call.path["project_id"])

    one = "/projects/{project_id}"
    return [
        get(
            "/projects",
            list_projects,
            auth="user",
            query=PageQuery,
            response=AvatarProjectPage,
            tags=tags,
        ),
        post(
            "/projects",
            create_project,
            auth="user",
            idempotent=True,
            body=AvatarProjectBody,
            response=AvatarProjectView,
            status=201,
            rate_limits=(RateLimit("20/hour"),),
            tags=tags,
        ),
        get(one, get_project, auth="user", response=AvatarProjectView, tags=tags),
        put(
            one,
            update_project,
            auth="user",
            body=AvatarProjectUpdateBody,
            response=AvatarProjectView,
            tags=tags,
        ),
        delete(one, delete_project, auth="user", status=204, tags=tags),
    ]
