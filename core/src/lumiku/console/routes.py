"""Serve the console's files at ``/console/`` with a strict Content-Security-Policy."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PATH = "/console"


def content_security_policy(public_url: str | None) -> str:
    """Return the page's policy: its own scripts and styles only, the API on this origin
    (and on ``public_url``'s, where signed file links point), no frames, no inline script."""
    extra = ""
    if public_url:
        parts = urlsplit(public_url)
        if parts.scheme in ("http", "https") and parts.netloc:
            extra = f" {parts.scheme}://{parts.netloc}"
    return (
        "default-src 'self'; "
        "script-src 'self'; "
        "style-src 'self'; "
        f"img-src 'self' data: blob:{extra}; "
        f"connect-src 'self' ws: wss:{extra}; "
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
    """Return the mount of the files at ``/console/`` (the router redirects ``/console``).

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
    return [Mount(PATH, app=_Headed(files, headers), name="console")]
