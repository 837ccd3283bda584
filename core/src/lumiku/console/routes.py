"""Serve the console's files at ``/console/`` with a strict Content-Security-Policy."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PATH = "/console"


def content_security_policy(public_url: str | None) -> str:
    """Return the page's policy: its own scripts and styles only, the API on this origin
    (and on ``public_url``'s, where signed file links point), no frames, no inline script."""
    extra = sockets = ""
    if public_url:
        parts = urlsplit(public_url)
        if parts.scheme in ("http", "https") and parts.netloc:
            extra = f" {parts.scheme}://{parts.netloc}"
            sockets = f" {parts.scheme.replace('http', 'ws')}://{parts.netloc}"
    # 'self' covers this origin's ws:/wss: too (CSP Level 3); no other host may be reached.
    return (
        "default-src 'self'; "
        "script-src 'self'; "
        "style-src 'self'; "
        f"img-src 'self' data: blob:{extra}; "
        f"connect-src 'self'{extra}{sockets}; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
    )


class _Headed:
    """Add fixed headers to every response of the wrapped app."""

    def __init__(self, app: ASGIApp, headers: dict[str, str]) -> None:
        self._app = app
        self._headers = [(k.lower().encode(), v.encode()) for k, v in headers.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_headed(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self._headers]
            await send(message)

        await self._app(scope, receive, send_headed)


def console_routes(public_url: str | None = None) -> list[BaseRoute]:
    """Return the mount of the files at ``/console/`` and the redirect of ``/console`` to it.

    Not in ``/openapi.json``: a page, not an API. The files come from this package
    (``lumiku.console/static``), so ``pip install`` ships them; they are revalidated on
    every load (``Cache-Control: no-cache``), so an upgrade is seen at once.
    """
    files = StaticFiles(packages=[("lumiku.console", "static")], html=True)
    headers = {
        "Content-Security-Policy": content_security_policy(public_url),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }
    return [
        Route(PATH, _to_folder, include_in_schema=False),
        Mount(PATH, app=_Headed(files, headers), name="console"),
    ]


async def _to_folder(request: Request) -> RedirectResponse:
    # A path, not a URL: the router's own slash redirect would name the request's Host
    # (anyone's) and always http://, dropping to plain http behind a TLS proxy.
    return RedirectResponse(request.scope.get("root_path", "") + PATH + "/", 308)
