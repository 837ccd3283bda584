"""``/avatars`` and uploads: list, read, edit, delete, usage history, upload a photo."""

from __future__ import annotations

from starlette.routing import BaseRoute

from lumiku import Call, PageQuery, RateLimit, delete, get, post, put
from lumiku_avatar_creator.bodies import AvatarQuery, AvatarUpdateBody
from lumiku_avatar_creator.services import Services
from lumiku_avatar_creator.uploads import AvatarUploadForm
from lumiku_avatar_creator.views import (
    AppUsageView,
    AvatarPage,
    AvatarUploadResult,
    AvatarView,
    UsageHistoryView,
)


def avatar_routes(services: Services, tags: tuple[str, ...]) -> list[BaseRoute]:
    """Return the avatar routes."""
    avatars, uploads, renderer = services.avatars, services.uploads, services.renderer

    def upload(call: Call[AvatarUploadForm, None]) -> AvatarUploadResult:
        """Upload a photo (multipart ``image`` + ``name`` + persona/attributes) as an avatar."""
        charged = uploads.upload(call, call.path["project_id"])
        return AvatarUploadResult(
            renderer.avatar(charged.avatar), charged.credit_used, charged.credit_balance
        )

    def list_avatars(call: Call[None, AvatarQuery]) -> AvatarPage:
        """List all of the caller's avatars (or one project's), newest first."""
        page = avatars.page(call.user_id, call.query, call.query.project_id)
        return AvatarPage(page.map(renderer.avatar).rows, page.next_cursor)

    def get_avatar(call: Call[None, None]) -> AvatarView:
        """Return one of the caller's avatars."""
        return renderer.avatar(avatars.get(call.user_id, call.path["avatar_id"]))

    def update_avatar(call: Call[AvatarUpdateBody, None]) -> AvatarView:
        """Change an avatar's name, persona or attributes (free unless priced)."""
        row = avatars.update(call, call.path["avatar_id"], call.body.name, call.body)
        return renderer.avatar(row)

    def delete_avatar(call: Call[None, None]) -> None:
        """Delete an avatar, its usage history and its files."""
        avatars.delete(call.user_id, call.path["avatar_id"])

    def usage_history(call: Call[None, PageQuery]) -> UsageHistoryView:
        """Return how apps used the avatar, newest first, with a summary per app."""
        page, summary = avatars.usage(call.user_id, call.path["avatar_id"], call.query)
        return UsageHistoryView(
            page.map(renderer.usage_record).rows,
            [AppUsageView(item.app_id, item.count, item.last_used_at) for item in summary],
            page.next_cursor,
        )

    one = "/avatars/{avatar_id}"
    return [
        post(
            "/projects/{project_id}/avatars/upload",
            upload,
            auth="user",
            form=AvatarUploadForm,
            errors=(402,),
            response=AvatarUploadResult,
            rate_limits=(RateLimit("10/minute"),),
            idempotent=True,
            tags=tags,
        ),
        get(
            "/avatars",
            list_avatars,
            auth="user",
            query=AvatarQuery,
            response=AvatarPage,
            tags=tags,
            errors=(404,),  # the projectId filter names no project of the caller
        ),
        get(one, get_avatar, auth="user", response=AvatarView, tags=tags),
        put(
            one,
            update_avatar,
            auth="user",
            body=AvatarUpdateBody,
            response=AvatarView,
            errors=(402,),
            idempotent=True,
            tags=tags,
        ),
        delete(one, delete_avatar, auth="user", status=204, tags=tags),
        get(
            one + "/usage-history",
            usage_history,
            auth="user",
            query=PageQuery,
            response=UsageHistoryView,
            tags=tags,
        ),
    ]
