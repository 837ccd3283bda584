"""The ``GET /files/{key:path}`` endpoint: verifies a signed URL, then streams the file.

A file on the local disk is sent with ``FileResponse``; one in a bucket is streamed from
the store (its size known from the store's answer), so the store stays private.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse
from starlette.routing import Route

from lumiku.errors import NotFound
from lumiku.storage.backend import StorageBackend
from lumiku.storage.keys import CONTENT_TYPES, StorageKey, parse_key
from lumiku.storage.local import LocalStorage
from lumiku.storage.signing import UrlSigner

Endpoint = Callable[[Request], Awaitable[Response]]

# Stored files are user content: never let a browser sniff them into HTML or run scripts.
_SAFETY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
}


def file_endpoint(storage: StorageBackend, signer: UrlSigner) -> Endpoint:
    """Return an endpoint serving ``key`` from ``storage`` to holders of a valid signed URL.

    An unsigned, expired or tampered URL raises ``Forbidden`` (before the file system is
    touched, so existence is not revealed); a valid URL for a missing file raises
    ``NotFound``. Browsers may cache the file privately until the URL expires.
    """

    async def serve_file(request: Request) -> Response:
        key: str = request.path_params["key"]
        now = time.time()
        expires_at = signer.verify(
            key,
            request.query_params.get("expires"),
            request.query_params.get("signature"),
            now=now,
        )
        parsed = parse_key(key)
        headers = {"Cache-Control": f"private, max-age={max(0, expires_at - int(now))}"}
        headers.update(_SAFETY_HEADERS)
        is_archive = parsed.suffix == ".zip"
        filename = f"{parsed.name}{parsed.suffix}" if is_archive else None
        if not isinstance(storage, LocalStorage):
            return await _streamed(storage, parsed, headers, filename)
        path, stat_result = await run_in_threadpool(_locate, storage, parsed)
        return FileResponse(
            path,
            headers=headers,
            media_type=parsed.content_type,
            stat_result=stat_result,
            filename=filename,
        )

    return serve_file


def file_route(storage: StorageBackend, signer: UrlSigner, *, path: str = "/files") -> Route:
    """Return the ``GET <path>/{key:path}`` route for ``file_endpoint``."""
    route = Route(
        f"{path.rstrip('/')}/{{key:path}}",
        file_endpoint(storage, signer),
        methods=["GET"],
        name="files",
    )
    # Read by lumiku.http.openapi (see lumiku.http.described; storage does not import http).
    route.openapi_operation = {  # type: ignore[attr-defined]
        "operationId": "getFile",
        "summary": "Download a stored file through the signed link the API returned.",
        "security": [],
        "parameters": [
            {
                "name": "expires",
                "in": "query",
                "required": True,
                "schema": {"type": "integer", "minimum": 0},
                "description": "When the link expires, in Unix seconds (as signed)",
            },
            {
                "name": "signature",
                "in": "query",
                "required": True,
                "schema": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                "description": "The link's signature (as signed)",
            },
        ],
        "responses": {
            "200": {
                "description": "The file (an image, or a ZIP archive as an attachment)",
                "content": {  # each type a stored file is served as (its key's suffix)
                    media_type: {"schema": {"type": "string", "format": "binary"}}
                    for media_type in sorted(set(CONTENT_TYPES.values()))
                },
            },
            "400": {"$ref": "#/components/responses/BadRequest"},
            "403": {"$ref": "#/components/responses/Forbidden"},
            "404": {"$ref": "#/components/responses/NotFound"},
            "503": {"$ref": "#/components/responses/Unavailable"},  # the store is unreachable
        },
    }
    return route


async def _streamed(
    storage: StorageBackend, key: StorageKey, headers: dict[str, str], filename: str | None
) -> Response:
    try:
        stored = await run_in_threadpool(storage.stream, key)
    except FileNotFoundError:
        raise _missing(key) from None
    headers = {**headers, "Content-Length": str(stored.size)}
    if filename is not None:
        headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return StreamingResponse(
        stored.chunks,
        headers=headers,
        media_type=key.content_type,
        background=BackgroundTask(stored.close),
    )


def _locate(storage: LocalStorage, key: StorageKey) -> tuple[Path, os.stat_result]:
    path = storage.resolve(key)
    try:
        stat_result = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        stat_result = None
    if stat_result is None or not stat.S_ISREG(stat_result.st_mode):
        raise _missing(key)
    return path, stat_result


def _missing(key: StorageKey) -> NotFound:
    return NotFound(
        f"No file is stored under key {str(key)!r}; it was deleted or never existed.",
        details={"key": str(key)},
    )
