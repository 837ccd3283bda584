"""Read form bodies into parts, within the limits of their form class.

``multipart/form-data`` is parsed while it streams in (python-multipart): each part is held
to the limit of its field (a file field's ``max_bytes``, ``TEXT_PART_LIMIT`` for text), so
an oversized file is 413 as soon as its limit passes, never buffered whole; the bytes of a
field the form does not declare are not kept at all (the field is reported as unknown).
``application/x-www-form-urlencoded`` is accepted for forms without files.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

import python_multipart
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import parse_options_header
from starlette.requests import Request

from lumiku import errors
from lumiku.http.bodies import MULTIPART_MEDIA_TYPE, read_body, stream_body
from lumiku.http.files import UploadedFile
from lumiku.http.forms import MAX_PARTS, TEXT_PART_LIMIT, FormLayout, Part

_OCTET_STREAM = "application/octet-stream"


def _invalid(message: str) -> errors.BadRequest:
    return errors.BadRequest(message, code="INVALID_MULTIPART")


def _decode(raw: bytes, what: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise errors.BadRequest(
            f"The {what} is not UTF-8 text; send form fields encoded as UTF-8.",
            code="INVALID_TEXT",
        ) from None


class _PartReader:
    """python-multipart callbacks that collect the parts of one body."""

    def __init__(self, layout: FormLayout) -> None:
        self.layout = layout
        self.parts: list[Part] = []
        self.ended = False
        self._header_name = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._name = ""
        self._filename: str | None = None
        self._data = bytearray()
        self._limit = 0
        self._keep = True

    def on_part_begin(self) -> None:
        self._headers = {}
        self._data = bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[self._header_name.strip().lower()] = self._header_value.strip()
        self._header_name = self._header_value = b""

    def on_headers_finished(self) -> None:
        if len(self.parts) >= MAX_PARTS:
            raise _invalid(f"The form has more than {MAX_PARTS} parts.")
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        if b"name" not in options:
            raise _invalid("Each part needs 'Content-Disposition: form-data; name=\"...\"'.")
        self._name = _decode(options[b"name"], "name of a form field")
        filename = options.get(b"filename")
        self._filename = (
            None if filename is None else _decode(filename, "filename").replace("\0", "")
        )
        field = self.layout.fields.get(self._name)
        self._keep = field is not None
        if field is not None and field.is_file and self._filename is not None:
            self._limit = field.part_limit
        else:
            self._limit = TEXT_PART_LIMIT

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if not self._keep:
            return
        if len(self._data) + (end - start) > self._limit:
            kind = "file" if self._filename is not None else "text field"
            raise errors.PayloadTooLarge(
                f"The {kind} {self._name!r} is over its {self._limit} byte limit; send less.",
                details={
                    "fields": {self._name: f"must be at most {self._limit} bytes"},
                    "limit": self._limit,
                },
            )
        self._data += data[start:end]

    def on_part_end(self) -> None:
        value: str | UploadedFile
        if self._filename is not None:
            content_type = self._headers.get(b"content-type", b"").decode("latin-1")
            value = UploadedFile(self._filename, content_type or _OCTET_STREAM, bytes(self._data))
        elif self._keep:
            value = _decode(bytes(self._data), f"form field {self._name!r}")
        else:
            value = ""  # undeclared: reported as "is not an accepted field", bytes never kept
        self.parts.append((self._name, value))

    def on_end(self) -> None:
        self.ended = True


async def read_multipart(request: Request, layout: FormLayout, limit: int) -> list[Part]:
    """Return the parts of a ``multipart/form-data`` body of at most ``limit`` bytes.

    Raises ``BadRequest`` (``INVALID_MULTIPART``) for a body that is not well-formed
    multipart (no boundary, a part without a name, truncated, over ``MAX_PARTS``),
    ``BadRequest`` (``INVALID_TEXT``) for text that is not UTF-8, and ``PayloadTooLarge``
    for a body over ``limit`` or a part over its field's limit.
    """
    _, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if not boundary:
        raise _invalid(f"The Content-Type {MULTIPART_MEDIA_TYPE} needs a boundary parameter.")
    reader = _PartReader(layout)
    try:
        parser = python_multipart.MultipartParser(
            boundary,
            {
                "on_part_begin": reader.on_part_begin,
                "on_part_data": reader.on_part_data,
                "on_part_end": reader.on_part_end,
                "on_header_field": reader.on_header_field,
                "on_header_value": reader.on_header_value,
                "on_header_end": reader.on_header_end,
                "on_headers_finished": reader.on_headers_finished,
                "on_end": reader.on_end,
            },
        )
        async for chunk in stream_body(request, limit):
            parser.write(chunk)
        parser.finalize()
    except FormParserError as exc:
        raise _invalid(f"The multipart body cannot be read: {exc}") from None
    if not reader.ended:
        raise _invalid("The multipart body ends before its closing boundary.")
    return reader.parts


async def read_urlencoded(request: Request, limit: int) -> list[Part]:
    """Return the fields of a urlencoded form body of at most ``limit`` bytes."""
    raw = await read_body(request, limit)
    text = _decode(raw, "form body")
    try:
        items = parse_qsl(
            text,
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=MAX_PARTS,
        )
    except UnicodeDecodeError:
        raise errors.BadRequest(
            "A form field is not UTF-8 text; send form fields encoded as UTF-8.",
            code="INVALID_TEXT",
        ) from None
    except ValueError:
        raise _invalid(f"The form has more than {MAX_PARTS} fields.") from None
    return list(items)
