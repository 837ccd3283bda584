"""``GET /files/{key}`` through a real Starlette app: 200 when signed, 403 otherwise, 404 if gone.

The client is httpx over its ASGI transport, which is what Starlette's ``TestClient`` wraps;
the ``TestClient`` itself warns that httpx is deprecated in favour of httpx2 on import, and
warnings are errors here.
"""

from __future__ import annotations

import io
import time
from collections.abc import AsyncIterator
from urllib.parse import quote

import httpx
import pytest
from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from lumiku.errors import BadRequest, Forbidden, LumikuError, NotFound
from lumiku.storage.images import check_image
from lumiku.storage.keys import CONTENT_TYPES
from lumiku.storage.local import LocalStorage
from lumiku.storage.routes import file_route
from lumiku.storage.signing import UrlSigner

SECRET = b"s" * 32
MISSING = "avatar-creator/2025/03/0123456789abcdef0123456789abcdef.png"


async def render_error(request: Request, exc: Exception) -> Response:
    """Map the storage errors to statuses, standing in for the real HTTP edge."""
    assert isinstance(exc, LumikuError)
    status = 500
    for error, code in ((Forbidden, 403), (NotFound, 404), (BadRequest, 400)):
        if isinstance(exc, error):
            status = code
            break
    return JSONResponse({"error": {"code": exc.code, "message": exc.message}}, status)


@pytest.fixture
def signer() -> UrlSigner:
    """Return a URL signer with a test secret."""
    return UrlSigner(SECRET)


@pytest.fixture
async def client(storage: LocalStorage, signer: UrlSigner) -> AsyncIterator[httpx.AsyncClient]:
    """Return a client for an app serving nothing but the files route."""
    app = Starlette(
        routes=[file_route(storage, signer)],
        exception_handlers={LumikuError: render_error},
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture
def avatar(storage: LocalStorage) -> tuple[str, bytes]:
    """Store an avatar as an upload would and return its key and stored bytes."""
    buffer = io.BytesIO()
    Image.new("RGB", (300, 300), (10, 120, 200)).save(buffer, format="PNG")
    checked = check_image(buffer.getvalue())
    key = storage.scoped("avatar-creator").put(checked.data, suffix=checked.suffix)
    return key, checked.data


async def test_a_signed_url_serves_the_file(
    client: httpx.AsyncClient, signer: UrlSigner, avatar: tuple[str, bytes]
) -> None:
    key, data = avatar

    response = await client.get(signer.sign(key, expires_in=600))

    assert response.status_code == 200
    assert response.content == data
    assert response.headers["content-type"] == "image/png"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in response.headers["content-security-policy"]
    assert "content-disposition" not in response.headers
    cache_control = response.headers["cache-control"]
    assert cache_control.startswith("private, max-age=")
    assert 590 <= int(cache_control.removeprefix("private, max-age=")) <= 600


async def test_an_expired_url_is_403(
    client: httpx.AsyncClient, signer: UrlSigner, avatar: tuple[str, bytes]
) -> None:
    url = signer.sign(avatar[0], expires_in=60, now=time.time() - 120)

    response = await client.get(url)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "SIGNATURE_EXPIRED"


async def test_a_tampered_url_is_403(
    client: httpx.AsyncClient, signer: UrlSigner, avatar: tuple[str, bytes]
) -> None:
    url = signer.sign(avatar[0], expires_in=60)
    longer = url.replace("expires=", "expires=9")

    response = await client.get(longer)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "INVALID_SIGNATURE"


async def test_a_url_signed_for_another_file_is_403(
    client: httpx.AsyncClient, signer: UrlSigner, avatar: tuple[str, bytes]
) -> None:
    query = signer.sign(MISSING).split("?", 1)[1]

    response = await client.get(f"/files/{avatar[0]}?{query}")

    assert response.status_code == 403


async def test_an_unsigned_url_is_403(client: httpx.AsyncClient, avatar: tuple[str, bytes]) -> None:
    response = await client.get(f"/files/{avatar[0]}")

    assert response.status_code == 403
    assert "not signed" in response.json()["error"]["message"]


async def test_a_signed_url_for_a_missing_file_is_404(
    client: httpx.AsyncClient, signer: UrlSigner
) -> None:
    response = await client.get(signer.sign(MISSING))

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/files/../../etc/passwd", 404),  # the client collapses it to /etc/passwd: no route
        ("/files/..%2f..%2fetc%2fpasswd", 403),
        ("/files/%2e%2e/%2e%2e/etc/passwd", 403),
        ("/files/avatar-creator%5c..%5c..%5cetc%5cpasswd", 403),
        ("/files//etc/passwd", 403),
        ("/files/avatar-creator/2025/03/x.png%00.html", 403),
    ],
)
async def test_unsigned_traversal_attempts_never_reach_the_disk(
    client: httpx.AsyncClient, path: str, status: int
) -> None:
    response = await client.get(path)

    assert response.status_code == status
    assert b"root:" not in response.content


async def test_a_hostile_key_signed_by_mistake_is_still_refused(
    client: httpx.AsyncClient, signer: UrlSigner, outside: object
) -> None:
    key = "avatar-creator/../../outside/secret.png"
    expires_signature = signer.sign(key).split("?", 1)[1]

    # Escaping the slashes keeps the client from collapsing the dot segments on its side.
    response = await client.get(f"/files/{quote(key, safe='')}?{expires_signature}")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "UNSAFE_STORAGE_KEY"
    assert b"top secret" not in response.content


async def test_archives_are_served_as_attachments(
    client: httpx.AsyncClient, signer: UrlSigner, storage: LocalStorage
) -> None:
    key = storage.scoped("outputs").put(b"PK\x05\x06" + b"\x00" * 18, suffix=".zip")

    response = await client.get(signer.sign(key))

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["content-disposition"].startswith("attachment;")


async def test_the_document_lists_each_type_a_file_is_served_as(
    client: httpx.AsyncClient, signer: UrlSigner, storage: LocalStorage, avatar: tuple[str, bytes]
) -> None:
    # Found by schemathesis over HTTP: the 200 said application/octet-stream, the server
    # answered image/png (a client generated from the document refused the answer).
    archive = storage.scoped("outputs").put(b"PK\x05\x06" + b"\x00" * 18, suffix=".zip")
    declared = file_route(storage, signer).openapi_operation["responses"]["200"]["content"]  # type: ignore[attr-defined]

    served = {
        (await client.get(signer.sign(key))).headers["content-type"] for key in (avatar[0], archive)
    }

    assert served <= set(declared)
    assert set(declared) == set(CONTENT_TYPES.values())
