"""``UploadedFile``: a file part of a multipart form, as a form class's field receives it."""

from __future__ import annotations

import attrs


@attrs.frozen(repr=False)
class UploadedFile:
    """A file sent in a ``multipart/form-data`` body, read into memory within its limit.

    ``filename`` is what the client called it (never use it as a storage path),
    ``content_type`` the part's declared media type (``application/octet-stream`` when the
    client sent none; not checked against the bytes), ``data`` the bytes.
    """

    filename: str
    content_type: str
    data: bytes

    @property
    def size(self) -> int:
        """Return the size of ``data`` in bytes."""
        return len(self.data)

    def __repr__(self) -> str:
        return f"UploadedFile({self.filename!r}, {self.content_type!r}, {self.size} bytes)"
