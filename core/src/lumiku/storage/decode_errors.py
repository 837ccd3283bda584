"""What to tell a client about image bytes Pillow could not decode, in our own words.

Pillow's messages name its internals ("Decompressed data too large for
PngImagePlugin.MAX_TEXT_CHUNK", "could not create decoder object") and are not meant for
users; they go to the log, and the answer says one of three things (``reason``):
``metadata_too_large``, ``truncated`` or ``damaged``.
"""

from __future__ import annotations

import logging
from typing import Final, Literal

Reason = Literal["metadata_too_large", "truncated", "damaged"]

logger = logging.getLogger("lumiku.storage.images")

_WORDS: Final[dict[Reason, str]] = {
    "metadata_too_large": "the image carries more embedded text (metadata) than is allowed",
    "truncated": "the image file ends before its picture does: it is truncated",
    "damaged": "the image could not be decoded: the file is damaged or incomplete",
}


def decode_problem(exc: BaseException) -> tuple[Reason, str]:
    """Return ``(reason, words)`` for ``exc`` raised by Pillow on untrusted bytes; log its
    text (at info) for the operator. ``words`` is a lower-case clause without a final stop."""
    text = str(exc)
    logger.info("image refused: %s: %s", type(exc).__name__, text[:200])
    lowered = text.lower()
    reason: Reason
    if "max_text" in lowered or "text chunk" in lowered:
        reason = "metadata_too_large"
    elif isinstance(exc, EOFError) or "truncated" in lowered:
        reason = "truncated"
    else:
        reason = "damaged"
    return reason, _WORDS[reason]
