"""Text at the decoding boundaries: whatever a request carries must be encodable as UTF-8.

Python's decoders let two kinds of text through that no database, log or JSON encoder can
write back: JSON escapes of lone surrogates (``"\\ud800"``, in keys as well as values) and
header bytes that are not UTF-8 (Starlette decodes headers as Latin-1). Each boundary
refuses them here with 400 ``INVALID_TEXT`` (the common error shape) before anything else
sees them: JSON bodies (``check_json_text``), the path (``check_path_text``) and the
headers the app reads (``header_text``). Query strings and form bodies are decoded
strictly where they are parsed (``lumiku.http.forms``, ``lumiku.http.multipart``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_to_bytes

from starlette.requests import HTTPConnection

from lumiku import errors

INVALID_TEXT = "INVALID_TEXT"


def invalid_text(where: str, *, escaped: bool = False) -> errors.BadRequest:
    """Return the 400 ``INVALID_TEXT`` error for text in ``where`` that is not UTF-8.

    ``escaped`` says the text came from a JSON escape of a lone surrogate (``\\ud800``).
    """
    how = (
        "holds a lone surrogate escape such as \\ud800"
        if escaped
        else "is not valid UTF-8 (percent-encode UTF-8 bytes)"
    )
    return errors.BadRequest(
        f"Text in the {where} cannot be encoded as UTF-8: it {how}. Send valid Unicode text.",
        code=INVALID_TEXT,
        details={"where": where},
    )


def is_encodable(text: str) -> bool:
    """Return whether ``text`` can be encoded as UTF-8 (it holds no lone surrogate)."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_json_text(data: Any, where: str = "request body") -> None:
    """Raise ``BadRequest`` (``INVALID_TEXT``) if any key or string in ``data`` is not UTF-8.

    ``data`` is parsed JSON (dicts, lists, strings, numbers); it is walked without
    recursion, so a document as deep as the parser allowed is checked too.
    """
    pending: list[Any] = [data]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            if not is_encodable(value):
                raise invalid_text(where, escaped=True)
        elif isinstance(value, Mapping):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list | tuple):
            pending.extend(value)


def check_path_text(connection: HTTPConnection) -> None:
    """Raise ``BadRequest`` (``INVALID_TEXT``) if the percent-decoded path is not UTF-8.

    Servers decode ``%FF`` in a path to U+FFFD; the raw path still tells.
    """
    raw = connection.scope.get("raw_path")
    if not raw:
        return
    try:
        unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        raise invalid_text("path") from None


def header_text(connection: HTTPConnection, name: str) -> str | None:
    """Return the header ``name`` decoded as UTF-8, ``None`` when it was not sent.

    Raises ``BadRequest`` (``INVALID_TEXT``) when its bytes are not UTF-8.
    """
    value = connection.headers.get(name)
    if value is None or value.isascii():
        return value
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        raise invalid_text(f"{name} header") from None
