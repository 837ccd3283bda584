"""``form=True``: the raw Starlette ``FormData`` in ``call.form`` (deprecated).

Kept only until the Avatar Creator's upload route moves to a form class (``form=Class``,
see ``lumiku.http.forms``); nothing else may use it. Delete this module then.
"""

from __future__ import annotations

import hashlib

from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request

from lumiku import errors
from lumiku.http.bodies import read_body


async def read_raw_form(request: Request, limit: int) -> FormData:
    """Return the form of at most ``limit`` bytes; 400 if malformed, 422 for NUL in text."""
    await read_body(request, limit)
    try:
        form = await request.form(max_files=4, max_fields=64)
    except (HTTPException, MultiPartException) as exc:
        detail = getattr(exc, "detail", None) or getattr(exc, "message", None) or str(exc)
        raise errors.BadRequest(
            f"The multipart form cannot be read: {detail}", code="INVALID_MULTIPART"
        ) from None
    bad = {
        name: "must not contain NUL characters"
        for name, value in form.multi_items()
        if isinstance(value, str) and "\x00" in value
    }
    if bad:
        await form.close()
        raise errors.ValidationFailed(
            "The form has NUL characters in text fields.", details={"fields": bad}
        )
    return form


async def raw_form_fingerprint(form: FormData) -> bytes:
    """Return a digest of the form's fields and file contents, independent of the boundary."""
    digest = hashlib.sha256()
    for name, value in sorted(form.multi_items(), key=lambda item: item[0]):
        digest.update(name.encode() + b"\0")
        if isinstance(value, UploadFile):
            content = await value.read()
            await value.seek(0)
            digest.update(b"file\0" + hashlib.sha256(content).digest())
        else:
            digest.update(b"text\0" + value.encode())
        digest.update(b"\0")
    return digest.hexdigest().encode()
