"""Schemathesis hooks of ``test_schemathesis.py``, loaded by the ``st`` command from this
file (the config's ``hooks``), not by pytest.

Uploads (``format: binary`` fields of multipart forms) get real images the servers accept
a third of the time: PNG, JPEG and WebP pictures of 256 x 256 pixels (the smallest an avatar
may be) and a PNG of 1024 x 1024; the rest is schemathesis's own (tiny sample
files, random bytes), which the servers refuse. Without real images every upload stops at
the decoder and the code behind it (storage, credits, the avatar rows) is never reached.
"""

from __future__ import annotations

import io
import itertools
import os
from typing import Any

import schemathesis
from hypothesis import strategies as st
from PIL import Image
from schemathesis.core.file_samples import FILE_SAMPLES
from schemathesis.transport.serialization import Binary


def _picture(size: int, image_format: str) -> bytes:
    picture = Image.new("RGB", (size, size), (40, 120, 200))
    picture.paste((150, 100, 70), (size // 3, size // 4, 2 * size // 3, size // 2))
    buffer = io.BytesIO()
    picture.save(buffer, format=image_format)
    return buffer.getvalue()


IMAGES = [_picture(256, kind) for kind in ("PNG", "JPEG", "WEBP")] + [_picture(1024, "PNG")]

schemathesis.openapi.format(
    "binary",
    st.one_of(
        st.sampled_from(IMAGES),
        st.sampled_from(list(FILE_SAMPLES.values())),
        st.binary(max_size=512),
    ).map(Binary),
)

FILE_KEY_MARKER = "signed-file"
"""The dictionary entry of ``GET /files/{key}`` that stands for the signed key: a key has
slashes, which schemathesis does not put in a path parameter drawn from a dictionary."""


@schemathesis.hook
def map_path_parameters(context: Any, path_parameters: dict[str, Any]) -> dict[str, Any]:
    """Put the signed file key (``LUMIKU_FUZZ_FILE_KEY``) in place of its marker."""
    if path_parameters and path_parameters.get("key") == FILE_KEY_MARKER:
        return {**path_parameters, "key": os.environ.get("LUMIKU_FUZZ_FILE_KEY", "")}
    return path_parameters


_keys = itertools.count()


@schemathesis.hook
def map_headers(context: Any, headers: dict[str, Any] | None) -> dict[str, Any] | None:
    """Make three of four valid ``Idempotency-Key`` values unique: schemathesis draws them
    from a small space ("0", "00"...), so nearly every case after the first reused a key
    with another body and stopped at the 422; the fourth keeps its key (replays happen)."""
    key = (headers or {}).get("Idempotency-Key")
    number = next(_keys)
    if isinstance(key, str) and 0 < len(key) <= 200 and key.isascii() and number % 4:
        return {**(headers or {}), "Idempotency-Key": f"{key}-{number}-{os.getpid()}"}
    return headers
