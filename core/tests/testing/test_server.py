"""``serve_in_thread``: an ASGI app over real HTTP, on a port chosen beforehand if need be."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

import lumiku.testing
from lumiku.testing import free_port, serve_in_thread


def _echo(request: Request) -> PlainTextResponse:
    return PlainTextResponse(f"port {request.url.port}")


def test_an_app_is_served_on_the_port_chosen_beforehand() -> None:
    port = free_port()
    with serve_in_thread(Starlette(routes=[Route("/", _echo)]), port=port) as base_url:
        assert base_url == f"http://127.0.0.1:{port}"
        assert httpx.get(base_url, timeout=5).text == f"port {port}"


def test_every_name_of_the_kit_resolves() -> None:
    for name in lumiku.testing.__all__:
        assert getattr(lumiku.testing, name) is not None, name
