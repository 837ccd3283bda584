"""Request bodies: the media type check (415), the size limit (413) and JSON parsing (400).

The media type is checked from the headers before any byte of the body is read; the size
limit from ``Content-Length`` first, then while the body streams in, so an oversized body
is never buffered past its limit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from starlette.requests import Request

from lumiku import errors
from lumiku.http.json_keys import DuplicateKey, loads_unique
from lumiku.http.text import check_json_text
from lumiku.metrics import Metrics

JSON_MEDIA_TYPE = "application/json"
MULTIPART_MEDIA_TYPE = "multipart/form-data"
URLENCODED_MEDIA_TYPE = "application/x-www-form-urlencoded"

JSON_BODY_LIMIT = 1024 * 1024
"""Default size limit of a JSON body, in bytes."""

ANONYMOUS_BODY_LIMIT = 16 * 1024
"""Default size limit of the body of an anonymous route without files, in bytes (sign-in,
sign-up, a webhook): at the server's minimum body rate it is read within seconds."""


def media_type(request: Request) -> str | None:
    """Return the request's media type, lowercased, without parameters (``None`` if unsent)."""
    header = request.headers.get("content-type")
    if header is None:
        return None
    return header.partition(";")[0].strip().lower() or None


def _unsupported(expected: Sequence[str], received: str | None) -> errors.UnsupportedMedia:
    wanted = " or ".join(expected)
    return errors.UnsupportedMedia(
        f"This route takes {wanted}; the request was sent as {received or 'no Content-Type'}. "
        f"Send the body with 'Content-Type: {expected[0]}'.",
        details={"expected": list(expected), "received": received},
    )


def require_json(request: Request) -> None:
    """Raise ``UnsupportedMedia`` (415) unless the body is JSON.

    ``application/json`` and ``application/<anything>+json`` are JSON; a request without a
    ``Content-Type`` is read as JSON too (what most HTTP clients send for ``-d '{...}'`` is
    ``application/x-www-form-urlencoded``, which is refused).
    """
    received = media_type(request)
    if received is None or received == JSON_MEDIA_TYPE:
        return
    if received.startswith("application/") and received.endswith("+json"):
        return
    raise _unsupported([JSON_MEDIA_TYPE], received)


def require_media_type(request: Request, accepted: Sequence[str]) -> str:
    """Return the request's media type; raise ``UnsupportedMedia`` (415) unless in ``accepted``."""
    received = media_type(request)
    if received not in accepted:
        raise _unsupported(accepted, received)
    assert received is not None
    return received


def too_large(limit: int) -> errors.PayloadTooLarge:
    """Return the 413 error for a body over ``limit`` bytes."""
    return errors.PayloadTooLarge(
        f"The request body is over the {limit} byte limit of this route; send less.",
        details={"limit": limit},
    )


def check_declared_length(request: Request, limit: int) -> None:
    """Raise ``PayloadTooLarge`` when the ``Content-Length`` header is over ``limit`` bytes.

    Reads headers only: call it before authenticating, so an oversized upload costs nothing.
    A body without (or with a false) ``Content-Length`` is cut while it streams instead.
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise too_large(limit)


async def stream_body(request: Request, limit: int) -> AsyncIterator[bytes]:
    """Yield the body's chunks; raise ``PayloadTooLarge`` as soon as ``limit`` bytes pass."""
    check_declared_length(request, limit)
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        if chunk:
            yield chunk


async def read_body(request: Request, limit: int) -> bytes:
    """Return the whole body, at most ``limit`` bytes (``PayloadTooLarge`` above)."""
    body = b"".join([chunk async for chunk in stream_body(request, limit)])
    request._body = body  # so that request.body() still works in the handler
    return body


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_json(raw: bytes, metrics: Metrics) -> Any:
    """Return the parsed JSON of ``raw``; raise ``BadRequest`` (``INVALID_JSON``) if it is not JSON.

    ``NaN`` and ``Infinity``, which Python's parser accepts, are not JSON and are refused;
    so is a key repeated in one object, at any depth (``BadRequest``, ``DUPLICATE_KEY``,
    ``details["key"]`` names it).
    A key or string that cannot be encoded as UTF-8 (a lone surrogate escape such as
    ``"\\ud800"``) raises ``BadRequest`` (``INVALID_TEXT``).
    """
    if not raw.strip():
        raise errors.BadRequest(
            "The request body is empty; send a JSON object.", code="INVALID_JSON"
        )
    try:
        data = loads_unique(raw, parse_constant=_no_constants)
    except DuplicateKey as exc:
        metrics.json_parse_errors.inc()
        raise errors.BadRequest(
            f"The request body sends the key {exc.key!r} more than once in one object; send "
            "each key once.",
            code="DUPLICATE_KEY",
            details={"key": exc.key},
        ) from None
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        metrics.json_parse_errors.inc()
        raise errors.BadRequest(
            f"The request body is not valid JSON: {exc}", code="INVALID_JSON"
        ) from None
    check_json_text(data)
    return data
