"""Memory stays bounded on a real ``lumiku serve``: anonymous uploads are refused before
their bodies are read, and a burst of legal 4096x4096 uploads stays within the decoding
budget and gives its memory back.

The figures are printed (``pytest -s``) for the record; the assertions are the issue's
bounds, not benchmarks.
"""

from __future__ import annotations

import concurrent.futures
import struct
import threading
import time
import uuid
import zlib
from collections.abc import Callable
from typing import Any

import httpx

from .conftest import LiveServer, peak_rss, reset_peak_rss, rss

MB = 1024 * 1024
UPLOAD = "/api/apps/avatar-creator/projects/{project}/avatars/upload"


def png_16bit_rgba(side: int = 4096) -> bytes:
    """Return a ``side`` x ``side`` 16-bit RGBA PNG of one colour (about 138 KB at 4096)."""
    row = b"\x00" + b"\x12\x34\x56\x78\x9a\xbc\xff\xff" * side
    raw = zlib.compress(row * side, 9)

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", side, side, 16, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def sign_up(server: LiveServer, client: httpx.Client) -> tuple[dict[str, str], str]:
    email = f"u-{uuid.uuid4().hex[:10]}@example.test"
    response = client.post(
        f"{server.url}/api/auth/register",
        json={"email": email, "password": "Burst-tests-pw-7f3kQ9xLm"},
    )
    assert response.status_code == 201, response.text
    headers = {"Authorization": f"Bearer {response.json()['token']}"}
    response = client.post(
        f"{server.url}/api/apps/avatar-creator/projects", json={"name": "p"}, headers=headers
    )
    assert response.status_code == 201, response.text
    return headers, response.json()["id"]


class RssSampler:
    """Sample a process's resident memory every 20 ms in a thread; ``peak`` is the highest."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss(self.pid))

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, peak_rss(self.pid))


def test_anonymous_uploads_get_401_without_their_bodies_being_read(
    live_server: Callable[..., LiveServer],
) -> None:
    server = live_server()
    body = b'--b\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n\r\n'
    body += b"\x00" * (10 * MB) + b"\r\n--b--\r\n"
    headers = {"Content-Type": "multipart/form-data; boundary=b"}
    url = server.url + UPLOAD.format(project="p1")
    start = rss(server.pid)
    reset_peak_rss(server.pid)

    def send(index: int) -> tuple[int, float]:
        forged = {**headers, "Authorization": "Bearer forged"} if index % 2 else headers
        started = time.perf_counter()
        try:
            status = httpx.post(url, content=body, headers=forged, timeout=60).status_code
        except httpx.TransportError:  # the server answered and closed while we still sent
            status = 401
        return status, time.perf_counter() - started

    with RssSampler(server.pid) as sampler, concurrent.futures.ThreadPoolExecutor(60) as pool:
        results = list(pool.map(send, range(60)))
    statuses = {status for status, _ in results}
    slowest = max(elapsed for _, elapsed in results)
    growth = sampler.peak - start
    print(
        f"\n60 anonymous 10 MB uploads: RSS {start / MB:.0f} MB -> peak "
        f"{sampler.peak / MB:.0f} MB (+{growth / MB:.0f} MB); slowest answer {slowest:.2f} s"
    )
    assert statuses == {401}
    # The bodies were never buffered: 60 x 10 MB would be 600 MB.
    assert growth < 100 * MB


def test_a_burst_of_large_uploads_stays_within_the_decoding_budget(
    live_server: Callable[..., LiveServer],
) -> None:
    # The uploads queue for the budget rather than being refused, so that every one of
    # them is decoded within the burst (the 503 path has its own tests).
    server = live_server(IMAGE_DECODE_WAIT="300")
    image = png_16bit_rgba()
    with httpx.Client(timeout=300) as client:
        accounts = [sign_up(server, client) for _ in range(4)]
        headers, project = accounts[0]
        warm = client.post(  # loads the codecs, so that the baseline includes them
            server.url + UPLOAD.format(project=project),
            files={"image": ("warm.png", image, "image/png")},
            data={"name": "warm"},
            headers=headers,
        )
        assert warm.status_code == 200, warm.text
    time.sleep(1.5)
    start = rss(server.pid)
    reset_peak_rss(server.pid)

    def upload(index: int) -> int:
        account_headers, account_project = accounts[index % 4]
        response = httpx.post(
            server.url + UPLOAD.format(project=account_project),
            files={"image": (f"{index}.png", image, "image/png")},
            data={"name": f"burst {index}"},
            headers=account_headers,
            timeout=300,
        )
        assert response.status_code == 200, response.text
        return response.status_code

    started = time.perf_counter()
    with RssSampler(server.pid) as sampler, concurrent.futures.ThreadPoolExecutor(36) as pool:
        statuses: list[Any] = list(pool.map(upload, range(36)))
    elapsed = time.perf_counter() - started
    time.sleep(2.0)
    end = rss(server.pid)
    print(
        f"\n36 uploads of {len(image)} bytes (4096x4096 16-bit RGBA) in {elapsed:.1f} s: "
        f"RSS {start / MB:.0f} MB -> peak {sampler.peak / MB:.0f} MB -> end {end / MB:.0f} MB"
    )
    assert statuses == [200] * 36
    assert sampler.peak < 1024 * MB
    assert end - start < 150 * MB
