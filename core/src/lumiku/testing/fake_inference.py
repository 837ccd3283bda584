"""A fake Hugging Face inference server over real HTTP, for provider and plugin tests.

    with fake_inference_server(api_key="hf_test") as server:
        server.enqueue(FakeResponse.error(503, "Model is loading", estimated_time=5))
        provider = HuggingFaceProvider(HuggingFaceConfig("hf_test", base_url=server.base_url))
        provider.generate(request)
        assert len(server.requests) == 2

Programmed responses are answered in order; once they run out, ``default`` answers (by
default a PNG of the width and height the request asked for). With ``api_key`` set, a
request without ``Authorization: Bearer <api_key>`` gets HF's 401 and does not consume a
programmed response.
"""

from __future__ import annotations

import io
import json
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import attrs
from PIL import Image


@attrs.frozen
class FakeResponse:
    """One programmed answer; ``delay`` holds it back (for timeouts), ``drop`` hangs up."""

    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = attrs.field(factory=dict)
    delay: float = 0.0
    drop: bool = False

    @classmethod
    def image(
        cls,
        width: int = 64,
        height: int = 64,
        *,
        colour: tuple[int, int, int] = (200, 120, 60),
        image_format: str = "PNG",
    ) -> FakeResponse:
        """Answer 200 with an image of one colour, encoded as ``image_format``."""
        buffer = io.BytesIO()
        Image.new("RGB", (width, height), colour).save(buffer, format=image_format)
        content_type = f"image/{image_format.lower()}"
        return cls(200, buffer.getvalue(), {"Content-Type": content_type})

    @classmethod
    def json(
        cls, payload: Any, *, status: int = 200, headers: Mapping[str, str] | None = None
    ) -> FakeResponse:
        """Answer with a JSON body."""
        return cls(
            status,
            json.dumps(payload).encode(),
            {"Content-Type": "application/json", **(headers or {})},
        )

    @classmethod
    def error(
        cls,
        status: int,
        message: str,
        *,
        estimated_time: float | None = None,
        retry_after: str | None = None,
    ) -> FakeResponse:
        """Answer like HF does when it fails: ``{"error": ..., "estimated_time": ...}``."""
        payload: dict[str, Any] = {"error": message}
        if estimated_time is not None:
            payload["estimated_time"] = estimated_time
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        return cls.json(payload, status=status, headers=headers)


@attrs.frozen
class RecordedRequest:
    """A request the fake received; header names are lower-case."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        """Return the body parsed as JSON."""
        return json.loads(self.body)


Responder = Callable[[RecordedRequest], FakeResponse]


class RecordedSleeps(list[float]):
    """A stand-in for ``time.sleep`` that returns at once and remembers each wait."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def render_requested_image(request: RecordedRequest) -> FakeResponse:
    """Answer with a PNG of the requested size, coloured by the seed (the default answer)."""
    try:
        parameters = request.json().get("parameters", {})
    except (ValueError, AttributeError):
        parameters = {}
    seed = int(parameters.get("seed", 0))
    colour = ((seed * 67) % 256, (seed * 131) % 256, (seed * 199 + 80) % 256)
    width, height = int(parameters.get("width", 64)), int(parameters.get("height", 64))
    return FakeResponse.image(width, height, colour=colour)


class FakeInferenceServer:
    """The state of a running fake: its address, what it received and what it will answer."""

    def __init__(self, base_url: str, *, api_key: str | None, default: Responder) -> None:
        self.base_url = base_url
        self.api_key = api_key
        self.default = default
        self.closing = threading.Event()
        self._lock = threading.Lock()
        self._queue: deque[FakeResponse] = deque()
        self._requests: list[RecordedRequest] = []

    def enqueue(self, *responses: FakeResponse) -> None:
        """Answer the next requests with ``responses``, in order."""
        with self._lock:
            self._queue.extend(responses)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Return a copy of the requests received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    @property
    def pending(self) -> int:
        """Return how many programmed responses have not been used yet."""
        with self._lock:
            return len(self._queue)

    def answer(self, request: RecordedRequest) -> FakeResponse:
        """Record ``request`` and choose its response."""
        with self._lock:
            self._requests.append(request)
            expected = f"Bearer {self.api_key}"
            if self.api_key is not None and request.headers.get("authorization") != expected:
                return FakeResponse.error(401, "Invalid credentials in Authorization header")
            if self._queue:
                return self._queue.popleft()
        return self.default(request)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        recorded = RecordedRequest(
            method=self.command,
            path=self.path,
            headers={name.lower(): value for name, value in self.headers.items()},
            body=self.rfile.read(length),
        )
        response = self.server.fake.answer(recorded)
        if response.delay and self.server.fake.closing.wait(response.delay):
            response = attrs.evolve(response, drop=True)
        if response.drop:
            self.close_connection = True
            return
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    fake: FakeInferenceServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore clients that hung up (a timed-out provider); that is what tests provoke."""


@contextmanager
def fake_inference_server(
    *,
    api_key: str | None = None,
    responses: tuple[FakeResponse, ...] = (),
    default: Responder = render_requested_image,
) -> Iterator[FakeInferenceServer]:
    """Serve a fake inference API on a free local port for the duration of the block."""
    server = _Server(("127.0.0.1", 0), _Handler)
    port = server.server_address[1]
    fake = FakeInferenceServer(f"http://127.0.0.1:{port}", api_key=api_key, default=default)
    fake.enqueue(*responses)
    server.fake = fake
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield fake
    finally:
        fake.closing.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


__all__ = [
    "FakeInferenceServer",
    "FakeResponse",
    "RecordedRequest",
    "RecordedSleeps",
    "fake_inference_server",
    "render_requested_image",
]
