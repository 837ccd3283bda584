"""Forms: multipart bodies declared as attrs classes with file fields, checked like JSON."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
import pytest
from starlette.requests import Request
from starlette.testclient import TestClient

from lumiku import Call, PayloadTooLarge, UploadedFile, field, post
from lumiku.http.forms import FormLayout, form_fingerprint
from lumiku.http.multipart import read_multipart

from .conftest import error_of, plugin_of

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 40


@attrs.frozen
class UploadForm:
    """A picture with a caption."""

    title: str = field(min_length=1, max_length=20)
    image: UploadedFile = field(max_bytes=1000, media_types=("image/png", "image/webp"))
    count: int = field(default=1, ge=1, le=5)
    public: bool = False
    tags: tuple[str, ...] = field(default=(), max_items=3)
    note: str | None = None
    thumbnail: UploadedFile | None = field(default=None, max_bytes=100)


@attrs.frozen
class NoteForm:
    """Text only: accepted urlencoded as well."""

    text: str = field(max_length=50)
    stars: int | None = field(default=None, ge=1, le=5)


@attrs.frozen
class WebhookForm:
    """What a third party posts; it may add fields."""

    text: str = field(max_length=50)
    stars: int | None = field(default=None, ge=1, le=5)


@attrs.frozen
class JsonBody:
    """A JSON body."""

    text: str


def form_routes(ctx: Any) -> list[Any]:
    def upload(call: Call[UploadForm, None]) -> dict[str, Any]:
        """Store a picture."""
        form = call.body
        return {
            "title": form.title,
            "count": form.count,
            "public": form.public,
            "tags": list(form.tags),
            "note": form.note,
            "image": [form.image.filename, form.image.content_type, form.image.size],
            "thumbnail": form.thumbnail.size if form.thumbnail else None,
        }

    def note(call: Call[NoteForm, None]) -> dict[str, Any]:
        """Store a note."""
        return {"text": call.body.text, "stars": call.body.stars}

    def json_route(call: Call[JsonBody, None]) -> dict[str, Any]:
        """Take JSON."""
        return {"text": call.body.text}

    return [
        post("/upload", upload, form=UploadForm),
        post("/note", note, form=NoteForm),
        post("/json", json_route, body=JsonBody),
        post("/webhook", note, form=WebhookForm, extra_fields="ignore", name="webhook"),
    ]


FORMS = plugin_of("lkt_forms", form_routes)
BASE = "/api/apps/lkt-forms"


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client([FORMS])


def image(data: bytes = PNG, content_type: str = "image/png") -> dict[str, Any]:
    return {"image": ("me.png", data, content_type)}


def test_a_form_reaches_the_handler_structured(client: TestClient) -> None:
    response = client.post(
        f"{BASE}/upload",
        data={"title": "Me", "count": " 3 ", "public": "true", "note": "hi"},
        files=image(),
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "title": "Me",
        "count": 3,
        "public": True,
        "tags": [],
        "note": "hi",
        "image": ["me.png", "image/png", len(PNG)],
        "thumbnail": None,
    }


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        (["a, b", "c"], ["a, b", "c"]),  # repeated fields: each item as sent
        ('["a, b", "c"]', ["a, b", "c"]),  # one JSON array
        ("a, b,,c", ["a", "b", "c"]),  # one comma-separated value
        ("", []),  # blank: the default
    ],
)
def test_a_tuple_field_takes_repeated_fields_a_json_array_or_a_comma_list(
    client: TestClient, tags: Any, expected: list[str]
) -> None:
    response = client.post(f"{BASE}/upload", data={"title": "x", "tags": tags}, files=image())
    assert response.status_code == 200, response.text
    assert response.json()["tags"] == expected


def test_every_failing_form_field_is_named_at_once(client: TestClient) -> None:
    response = client.post(
        f"{BASE}/upload",
        data={"title": "t" * 21, "count": "9", "public": "maybe", "tags": "a,b,c,d", "bogus": "1"},
        files={"image": ("x.gif", b"GIF89a", "image/gif")},
    )
    error = error_of(response, 422, "VALIDATION_ERROR")
    assert error["details"]["fields"] == {
        "title": "must be at most 20 characters",
        "image": "must be a file of type image/png, image/webp",
        "count": "must be at most 5",
        "public": "expected true or false, got 'maybe'",
        "tags": "must have at most 3 items",
        "bogus": "is not an accepted field",
    }
    missing = client.post(f"{BASE}/upload", files={"thumbnail": ("t.png", b"x", "image/png")})
    assert error_of(missing, 422, "VALIDATION_ERROR")["details"]["fields"] == {
        "title": "is required",
        "image": "is required",
    }


def test_text_and_files_go_where_declared(client: TestClient) -> None:
    swapped = client.post(
        f"{BASE}/upload",
        data={"image": "not a file"},
        files={"title": ("t.txt", b"text", "text/plain")},
    )
    assert error_of(swapped, 422, "VALIDATION_ERROR")["details"]["fields"] == {
        "title": "must be a text field, not a file",
        "image": "must be a file part (with a filename), not a text field",
    }
    twice = client.post(f"{BASE}/upload", data={"title": ["a", "b"]}, files=image())
    assert error_of(twice, 422, "VALIDATION_ERROR")["details"]["fields"] == {
        "title": "must be sent once, not 2 times"
    }


def test_an_empty_optional_file_input_counts_as_absent(client: TestClient) -> None:
    response = client.post(
        f"{BASE}/upload",
        data={"title": "x", "note": ""},
        files={**image(), "thumbnail": ("", b"", "application/octet-stream")},
    )
    assert response.status_code == 200, response.text
    assert response.json()["thumbnail"] is None
    assert response.json()["note"] is None


def test_nul_and_bad_utf8_in_form_text_are_refused(client: TestClient) -> None:
    nul = client.post(f"{BASE}/upload", data={"title": "a\u0000b"}, files=image())
    assert error_of(nul, 422, "VALIDATION_ERROR")["details"]["fields"] == {
        "title": "must not contain NUL characters"
    }
    body = b'--b\r\nContent-Disposition: form-data; name="title"\r\n\r\n\xff\xfe\r\n--b--\r\n'
    latin = client.post(
        f"{BASE}/upload", content=body, headers={"Content-Type": "multipart/form-data; boundary=b"}
    )
    error_of(latin, 400, "INVALID_TEXT")


def test_an_oversized_file_is_413_naming_the_field(client: TestClient) -> None:
    response = client.post(f"{BASE}/upload", data={"title": "x"}, files=image(PNG * 30))
    error = error_of(response, 413, "PAYLOAD_TOO_LARGE")
    assert error["details"]["fields"] == {"image": "must be at most 1000 bytes"}
    small = client.post(
        f"{BASE}/upload",
        data={"title": "x"},
        files={**image(), "thumbnail": ("t.png", b"x" * 101, "image/png")},
    )
    assert error_of(small, 413, "PAYLOAD_TOO_LARGE")["details"]["limit"] == 100


def test_malformed_multipart_is_400(client: TestClient) -> None:
    no_boundary = client.post(
        f"{BASE}/upload", content=b"--x\r\n", headers={"Content-Type": "multipart/form-data"}
    )
    error_of(no_boundary, 400, "INVALID_MULTIPART")
    truncated = client.post(
        f"{BASE}/upload",
        content=b'--abc\r\nContent-Disposition: form-data; name="title"\r\n\r\nvalue',
        headers={"Content-Type": "multipart/form-data; boundary=abc"},
    )
    error_of(truncated, 400, "INVALID_MULTIPART")
    nameless = client.post(
        f"{BASE}/upload",
        content=b"--abc\r\nContent-Disposition: form-data\r\n\r\nvalue\r\n--abc--\r\n",
        headers={"Content-Type": "multipart/form-data; boundary=abc"},
    )
    error_of(nameless, 400, "INVALID_MULTIPART")


def test_the_wrong_media_type_is_415_naming_the_expected_one(client: TestClient) -> None:
    as_json = client.post(f"{BASE}/upload", json={"title": "x"})
    error = error_of(as_json, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert error["details"] == {"expected": ["multipart/form-data"], "received": "application/json"}
    assert "multipart/form-data" in error["message"]
    urlencoded = client.post(f"{BASE}/upload", data={"title": "x"})  # no files: urlencoded
    error_of(urlencoded, 415, "UNSUPPORTED_MEDIA_TYPE")
    no_type = client.post(f"{BASE}/upload", content=b"title=x")
    assert error_of(no_type, 415, "UNSUPPORTED_MEDIA_TYPE")["details"]["received"] is None
    form_to_json = client.post(f"{BASE}/json", data={"text": "x"})
    error = error_of(form_to_json, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert error["details"]["expected"] == ["application/json"]
    assert "application/json" in error["message"]
    text_to_json = client.post(
        f"{BASE}/json", content=b'{"text": "x"}', headers={"Content-Type": "text/plain"}
    )
    error_of(text_to_json, 415, "UNSUPPORTED_MEDIA_TYPE")
    # JSON without a Content-Type, or with a +json or charset suffix, is still JSON.
    assert client.post(f"{BASE}/json", content=b'{"text": "x"}').status_code == 200
    for content_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
        sent = client.post(
            f"{BASE}/json", content=b'{"text": "x"}', headers={"Content-Type": content_type}
        )
        assert sent.status_code == 200, content_type


def test_the_media_type_is_checked_before_the_body_is_read(client: TestClient) -> None:
    huge = b"x" * (2 * 1024 * 1024)  # over the JSON limit: 415 wins, the body is never read
    response = client.post(f"{BASE}/json", content=huge, headers={"Content-Type": "text/csv"})
    error_of(response, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_a_form_without_files_also_takes_urlencoded(client: TestClient) -> None:
    response = client.post(f"{BASE}/note", data={"text": "hello", "stars": "4"})
    assert response.json() == {"text": "hello", "stars": 4}
    multipart = client.post(
        f"{BASE}/note", data={"text": "hello", "stars": ""}, files={"none": ("", b"")}
    )
    assert error_of(multipart, 422, "VALIDATION_ERROR")["details"]["fields"] == {
        "none": "is not an accepted field"
    }
    bad = client.post(
        f"{BASE}/note",
        content=b"text=%FF",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    error_of(bad, 400, "INVALID_TEXT")


def test_a_webhook_form_ignores_the_fields_it_does_not_declare(client: TestClient) -> None:
    response = client.post(f"{BASE}/webhook", data={"text": "hi", "vendorExtra": "x"})
    assert response.json() == {"text": "hi", "stars": None}
    error_of(client.post(f"{BASE}/webhook", data={"stars": "9", "x": "1"}), 422, "VALIDATION_ERROR")
    schema = client.get("/openapi.json").json()["components"]["schemas"]["WebhookForm"]
    assert schema["additionalProperties"] is True
    with pytest.raises(ValueError, match="extra_fields='ignore' is for form= routes"):
        post("/x", lambda call: None, body=JsonBody, extra_fields="ignore")


# -- reading: limits hold while the body streams in ---------------------------------------


def _request(chunks: list[bytes], boundary: str, pulled: list[int]) -> Request:
    async def receive() -> dict[str, Any]:
        if not chunks:
            return {"type": "http.request", "body": b"", "more_body": False}
        chunk = chunks.pop(0)
        pulled.append(len(chunk))
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    headers = [(b"content-type", f"multipart/form-data; boundary={boundary}".encode())]
    return Request({"type": "http", "method": "POST", "headers": headers}, receive)


def _multipart(boundary: str, parts: list[tuple[str, str | None, bytes]]) -> bytes:
    out = b""
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode()
        if filename:
            out += b"Content-Type: image/png\r\n"
        out += b"\r\n" + data + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


async def test_an_oversized_file_is_refused_before_it_is_buffered() -> None:
    layout = FormLayout.of(UploadForm)
    body = _multipart("zz", [("title", None, b"x"), ("image", "a.png", b"\0" * 100_000)])
    chunks = [body[i : i + 256] for i in range(0, len(body), 256)]
    total = len(chunks)
    pulled: list[int] = []
    with pytest.raises(PayloadTooLarge, match="'image' is over its 1000 byte limit"):
        await read_multipart(_request(chunks, "zz", pulled), layout, limit=10**6)
    assert sum(pulled) <= 1000 + 2 * 256  # the limit plus the framing before it
    assert len(pulled) < total / 50


async def test_undeclared_parts_are_not_kept() -> None:
    layout = FormLayout.of(NoteForm)
    body = _multipart("q", [("text", None, b"hi"), ("junk", "big.bin", b"\0" * 500_000)])
    parts = await read_multipart(_request([body], "q", []), layout, limit=10**6)
    assert parts == [("text", "hi"), ("junk", UploadedFile("big.bin", "image/png", b""))]


async def test_the_fingerprint_ignores_the_boundary() -> None:
    layout = FormLayout.of(UploadForm)
    parts = [("title", None, b"x"), ("image", "a.png", PNG), ("tags", None, b"a")]
    first = await read_multipart(_request([_multipart("one", parts)], "one", []), layout, 10**6)
    second = await read_multipart(
        _request([_multipart("another-boundary", parts)], "another-boundary", []), layout, 10**6
    )
    assert form_fingerprint(first) == form_fingerprint(second)
    changed = [("title", None, b"x"), ("image", "a.png", PNG + b"!"), ("tags", None, b"a")]
    third = await read_multipart(_request([_multipart("one", changed)], "one", []), layout, 10**6)
    assert form_fingerprint(third) != form_fingerprint(first)


# -- declaration -------------------------------------------------------------------------


@attrs.frozen
class Inner:
    """Not a form field."""

    a: int


@attrs.frozen
class NestedForm:
    """Nested objects cannot come from form fields."""

    inner: Inner


@attrs.frozen
class LimitOnText:
    """max_bytes belongs to files."""

    text: str = field(max_bytes=10)


def test_a_form_that_cannot_be_read_fails_at_declaration() -> None:
    def handler(_call: Call[Any, None]) -> None:
        return None

    with pytest.raises(TypeError, match=r"NestedForm.inner: a form or query field is text"):
        post("/x", handler, form=NestedForm)
    with pytest.raises(TypeError, match="max_bytes and media_types are for UploadedFile"):
        post("/x", handler, form=LimitOnText)
    with pytest.raises(ValueError, match=r"either body= \(JSON\) or form="):
        post("/x", handler, form=NoteForm, body=JsonBody)
    with pytest.raises(TypeError, match="a query class has no UploadedFile fields"):
        post("/x", handler, query=UploadForm)


def test_a_forms_default_body_limit_covers_its_files() -> None:
    def handler(_call: Call[Any, None]) -> None:
        return None

    spec = post("/x", handler, form=UploadForm).endpoint_spec  # type: ignore[attr-defined]
    assert spec.body_limit == 1000 + 100 + 256 * 1024
    explicit = post("/x", handler, form=UploadForm, max_body=5000).endpoint_spec  # type: ignore[attr-defined]
    assert explicit.body_limit == 5000


def test_the_openapi_document_describes_the_form(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    operation = document["paths"][f"{BASE}/upload"]["post"]
    content = operation["requestBody"]["content"]
    assert set(content) == {"multipart/form-data"}
    assert content["multipart/form-data"]["encoding"] == {
        "image": {"contentType": "image/png, image/webp"}
    }
    ref = content["multipart/form-data"]["schema"]["$ref"]
    schema = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["title", "image"]
    assert schema["properties"]["image"] == {"type": "string", "format": "binary"}
    assert schema["properties"]["thumbnail"] == {"type": "string", "format": "binary"}
    assert schema["properties"]["count"] == {
        "type": "integer",
        "format": "int64",
        "minimum": 1,
        "maximum": 5,
    }
    assert schema["properties"]["tags"] == {
        "type": "array",
        "items": {"type": "string"},
        "maxItems": 3,
    }
    assert schema["properties"]["note"] == {"type": "string"}
    assert {"400", "413", "415", "422", "500", "503"} <= set(operation["responses"])
    note = document["paths"][f"{BASE}/note"]["post"]["requestBody"]["content"]
    # Served as either; documented as one, as client generators handle one media type.
    assert set(note) == {"application/x-www-form-urlencoded"}
