"""Form classes: attrs classes declared with ``form=`` whose fields are text or files.

A form class is checked when the route is declared (``FormLayout.of``): its fields must be
text (``str``, ``int``, ``float``, ``bool``, a ``Literal`` or enum of those, optional ones,
lists or tuples of those) or files (``UploadedFile``, optional, or a tuple of them). The
parts a client sent become the dict that the text converter structures into the class
(``form_values``): a field sent once is its value, a field sent several times is
``Repeated``; an empty text field, or an empty file input (no filename, no bytes), of a
field that has a default counts as absent, as HTML forms send them.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl

import attrs

from lumiku import errors
from lumiku.http.converter import Repeated
from lumiku.http.fields import field_rules, file_limits
from lumiku.http.files import UploadedFile
from lumiku.http.naming import to_camel

Part = tuple[str, "str | UploadedFile"]
"""One form part: its field name and its text or file."""

TEXT_PART_LIMIT = 64 * 1024
"""Size limit in bytes of one text part."""
FORM_OVERHEAD = 256 * 1024
"""Room in a form's default body limit for text fields and multipart framing, in bytes."""
MAX_PARTS = 256
"""Parts a form may have at most (400 ``INVALID_MULTIPART`` above)."""
_UNBOUNDED_FILES = 16  # file count assumed for a tuple of files without ``max_items``
_SCALARS = (str, int, float, bool)
_TEXT_TYPES = (*_SCALARS, dt.datetime)


@attrs.frozen
class FormField:
    """One field of a form class as the reader needs it."""

    name: str
    wire: str
    is_file: bool
    many: bool
    optional: bool
    part_limit: int
    max_parts: int


def _strip_optional(tp: Any) -> tuple[Any, bool]:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [arg for arg in typing.get_args(tp) if arg is not type(None)]
        if len(args) == 1:
            return args[0], len(args) < len(typing.get_args(tp))
    return tp, False


def _is_text(tp: Any) -> bool:
    if tp in _TEXT_TYPES:
        return True
    if typing.get_origin(tp) is typing.Literal:
        return all(isinstance(arg, _SCALARS) for arg in typing.get_args(tp))
    return isinstance(tp, type) and issubclass(tp, enum.Enum)


def _describe(cls: type, attribute: attrs.Attribute[Any]) -> FormField:
    tp = _strip_optional(attribute.type)[0]
    many = typing.get_origin(tp) in (list, tuple, Sequence)
    item = tp
    if many:
        args = typing.get_args(tp)
        if typing.get_origin(tp) is tuple and (len(args) != 2 or args[1] is not Ellipsis):
            raise TypeError(
                f"form {cls.__name__}.{attribute.name}: use tuple[X, ...] for a repeated field"
            )
        item = args[0] if args else str
    is_file = item is UploadedFile
    if not (is_file or _is_text(item)):
        raise TypeError(
            f"{cls.__name__}.{attribute.name}: a form or query field is text (str, int, "
            "float, bool, datetime, a Literal or enum; optional, or in a tuple) or, in a "
            f"form, UploadedFile; not {tp!r}"
        )
    rules = field_rules(attribute)
    if not is_file and ("maxBytes" in rules or "mediaTypes" in rules):
        raise TypeError(
            f"form {cls.__name__}.{attribute.name}: max_bytes and media_types are for "
            "UploadedFile fields"
        )
    max_parts = int(rules.get("maxItems", _UNBOUNDED_FILES if is_file else MAX_PARTS))
    return FormField(
        name=attribute.name,
        wire=to_camel(attribute.name),
        is_file=is_file,
        many=many,
        optional=attribute.default is not attrs.NOTHING,
        part_limit=file_limits(attribute).max_bytes if is_file else TEXT_PART_LIMIT,
        max_parts=max_parts if many else 1,
    )


@attrs.frozen
class FormLayout:
    """The fields of a form class by wire name, with their limits."""

    cls: type
    fields: Mapping[str, FormField]

    @classmethod
    def of(cls, form: type) -> FormLayout:
        """Return the layout of the attrs class ``form``; ``TypeError`` if it cannot be one."""
        if not (isinstance(form, type) and attrs.has(form)):
            raise TypeError(f"form= takes an attrs class, not {form!r}")
        attrs.resolve_types(form)
        fields = [_describe(form, a) for a in attrs.fields(form) if a.init]
        return cls(form, {f.wire: f for f in fields})

    @property
    def optional(self) -> frozenset[str]:
        """Return the wire names of the fields that have a default."""
        return frozenset(f.wire for f in self.fields.values() if f.optional)

    @property
    def has_files(self) -> bool:
        """Return whether any field is a file (then only ``multipart/form-data`` is accepted)."""
        return any(f.is_file for f in self.fields.values())

    def default_body_limit(self) -> int:
        """Return the body limit in bytes when the route declares none: every file at its
        limit, plus ``FORM_OVERHEAD``."""
        files = sum(f.part_limit * f.max_parts for f in self.fields.values() if f.is_file)
        return files + FORM_OVERHEAD


def form_values(layout: FormLayout, parts: Iterable[Part]) -> dict[str, Any]:
    """Return the parts (form fields or query parameters) as the dict the text converter
    structures into ``layout.cls``: one value per name, ``Repeated`` values for a name sent
    several times, blank values of fields with a default left out."""
    grouped: dict[str, list[str | UploadedFile]] = {}
    for name, value in parts:
        grouped.setdefault(name, []).append(value)
    optional = layout.optional
    values: dict[str, Any] = {}
    for name, items in grouped.items():
        if name in optional:
            items = [item for item in items if not _blank(item)]
            if not items:
                continue
        values[name] = items[0] if len(items) == 1 else Repeated(items)
    return values


def query_parts(query_string: bytes) -> list[Part]:
    """Return the parameters of a raw query string; ``BadRequest`` if it is not UTF-8."""
    try:
        pairs = parse_qsl(
            query_string.decode("utf-8"), keep_blank_values=True, encoding="utf-8", errors="strict"
        )
    except UnicodeDecodeError:
        raise errors.BadRequest(
            "The query string is not UTF-8 text; percent-encode UTF-8 bytes.",
            code="INVALID_TEXT",
        ) from None
    return [(name, value) for name, value in pairs]


def _blank(value: str | UploadedFile) -> bool:
    if isinstance(value, UploadedFile):
        return not value.filename and not value.data
    return value == ""


def form_fingerprint(parts: Iterable[Part]) -> bytes:
    """Return a digest of the parts' names, text and file contents, independent of the boundary.

    A client that retries a multipart upload re-encodes it with a new random boundary; the
    idempotency check must still see the same request.
    """
    digest = hashlib.sha256()
    for name, value in sorted(parts, key=lambda part: part[0]):
        digest.update(name.encode() + b"\0")
        if isinstance(value, UploadedFile):
            digest.update(b"file\0" + hashlib.sha256(value.data).digest())
        else:
            digest.update(b"text\0" + value.encode())
        digest.update(b"\0")
    return digest.hexdigest().encode()
