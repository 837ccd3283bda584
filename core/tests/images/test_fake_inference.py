"""The fake inference server that provider and plugin tests share."""

from __future__ import annotations

import io

import httpx
from PIL import Image

from lumiku.testing.fake_inference import FakeResponse, fake_inference_server


def test_it_answers_programmed_responses_in_order_then_the_default() -> None:
    with fake_inference_server() as server, httpx.Client(base_url=server.base_url) as client:
        server.enqueue(FakeResponse.error(503, "loading", estimated_time=3))
        first = client.post("/models/a/b", json={"inputs": "x"})
        second = client.post("/models/a/b", json={"parameters": {"width": 20, "height": 10}})
        assert server.pending == 0
    assert first.status_code == 503
    assert first.json() == {"error": "loading", "estimated_time": 3}
    assert Image.open(io.BytesIO(second.content)).size == (20, 10)
    assert server.requests[0].json() == {"inputs": "x"}


def test_a_wrong_key_gets_401_and_keeps_the_queue() -> None:
    fake = fake_inference_server(api_key="right", responses=(FakeResponse(204),))
    with fake as server, httpx.Client(base_url=server.base_url) as client:
        refused = client.post("/models/m", headers={"Authorization": "Bearer wrong"})
        accepted = client.post("/models/m", headers={"Authorization": "Bearer right"})
    assert refused.status_code == 401
    assert accepted.status_code == 204
    assert len(server.requests) == 2


def test_a_custom_default_answers_every_request() -> None:
    fake = fake_inference_server(default=lambda request: FakeResponse(418))
    with fake as server, httpx.Client(base_url=server.base_url) as client:
        assert client.post("/anything").status_code == 418
