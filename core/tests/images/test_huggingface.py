"""The Hugging Face provider against a fake inference server over real HTTP."""

from __future__ import annotations

import io
import logging
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import attrs
import httpx
import pytest
from PIL import Image

from lumiku.errors import ConfigurationError, ServiceUnavailable
from lumiku.images import (
    HuggingFaceConfig,
    HuggingFaceProvider,
    ImageRequest,
    ProviderBadOutput,
    ProviderError,
    ProviderRejected,
    ProviderUnavailable,
    build_prompt,
)
from lumiku.testing.fake_inference import FakeInferenceServer, FakeResponse, fake_inference_server

API_KEY = "hf_test_0123456789abcdef"
REQUEST = ImageRequest(
    prompt="waving at the camera",
    width=96,
    height=64,
    seed=1234,
    negative_prompt="blurry",
    attributes={"gender": "woman", "hairColor": "red", "style": "anime"},
    persona={"name": "Sari", "personality": "cheerful"},
)


class Sleeps(list[float]):
    """A fake ``time.sleep`` that remembers how long it was asked to wait."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def server() -> Iterator[FakeInferenceServer]:
    """Serve the fake inference API, expecting ``API_KEY``."""
    with fake_inference_server(api_key=API_KEY) as fake:
        yield fake


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture(scope="module")
def http_client() -> Iterator[httpx.Client]:
    # Building an httpx client loads the CA bundle (~50 ms); one per module keeps tests fast.
    with httpx.Client() as client:
        yield client


def provider_for(
    server: FakeInferenceServer,
    sleeps: Sleeps,
    client: httpx.Client | None = None,
    **config: Any,
) -> HuggingFaceProvider:
    settings: dict[str, Any] = {
        "api_key": API_KEY,
        "base_url": server.base_url,
        "timeout": 5.0,
        "max_retries": 3,
        "backoff_base": 2.0,
        "backoff_max": 30.0,
        "backoff_jitter": 0.0,
    }
    return HuggingFaceProvider(
        HuggingFaceConfig(**(settings | config)), client=client, sleep=sleeps
    )


def test_a_success_returns_the_png_of_the_requested_size(
    server: FakeInferenceServer, sleeps: Sleeps, http_client: httpx.Client
) -> None:
    with provider_for(server, sleeps, http_client) as provider:
        result = provider.generate(REQUEST)
    image = Image.open(io.BytesIO(result.data))
    assert (image.format, image.size) == ("PNG", (96, 64))
    assert (result.width, result.height, result.seed) == (96, 64, 1234)
    assert (result.provider, result.content_type) == ("huggingface", "image/png")
    assert sleeps == []


def test_the_request_follows_the_inference_api(
    server: FakeInferenceServer, sleeps: Sleeps, http_client: httpx.Client
) -> None:
    with provider_for(server, sleeps, http_client) as provider:
        provider.generate(REQUEST)
    [sent] = server.requests
    assert (sent.method, sent.path) == ("POST", "/models/black-forest-labs/FLUX.1-schnell")
    assert sent.headers["authorization"] == f"Bearer {API_KEY}"
    assert sent.headers["accept"] == "image/png"
    assert sent.headers["content-type"] == "application/json"
    assert sent.json() == {
        "inputs": build_prompt(REQUEST),
        "parameters": {"width": 96, "height": 64, "seed": 1234, "negative_prompt": "blurry"},
    }


def test_an_empty_negative_prompt_is_not_sent(
    server: FakeInferenceServer, sleeps: Sleeps, http_client: httpx.Client
) -> None:
    with provider_for(server, sleeps, http_client, model="owner/other-model") as provider:
        provider.generate(attrs.evolve(REQUEST, negative_prompt=""))
    [sent] = server.requests
    assert sent.path == "/models/owner/other-model"
    assert "negative_prompt" not in sent.json()["parameters"]


def test_a_jpeg_answer_is_converted_to_png(
    server: FakeInferenceServer, sleeps: Sleeps, http_client: httpx.Client
) -> None:
    server.enqueue(FakeResponse.image(48, 32, image_format="JPEG"))
    with provider_for(server, sleeps, http_client) as provider:
        result = provider.generate(REQUEST)
    assert Image.open(io.BytesIO(result.data)).format == "PNG"
    assert (result.width, result.height) == (48, 32)


def test_a_loading_model_is_retried_after_its_estimated_time(
    server: FakeInferenceServer, sleeps: Sleeps, http_client: httpx.Client
) -> None:
    server.enqueue(FakeResponse.error(503, "Model is currently loading", estimated_time=7.5))
    with provider_for(server, sleeps, http_client) as provider:
        result = provider.generate(REQUEST)
    assert result.width == 96
    assert len(server.requests) == 2
    assert sleeps == [7.5]


def test_a_503_without_a_hint_backs_off_exponentially(
    server: FakeInferenceServer, sleeps: Sleeps, http_client: httpx.Client
) -> None:
    server.enqueue(*[FakeResponse.error(503, "busy")] * 3)
    with provider_for(server, sleeps, http_client) as provider:
        provider.generate(REQUEST)
    assert sleeps == [2.0, 4.0, 8.0]


@pytest.mark.parametrize(("retry_after", "waited"), [("3", 3.0), ("600", 30.0)])
def test_a_429_honours_retry_after_within_the_cap(
    server: FakeInferenceServer,
    sleeps: Sleeps,
    http_client: httpx.Client,
    retry_after: str,
    waited: float,
) -> None:
    server.enqueue(FakeResponse.error(429, "Rate limit reached", retry_after=retry_after))
    with provider_for(server, sleeps, http_client) as provider:
        provider.generate(REQUEST)
    assert sleeps == [waited]
    assert len(server.requests) == 2


@pytest.mark.parametrize("status", [500, 502, 504])
def test_gateway_errors_are_retried_too(
    server: FakeInferenceServer, sleeps: Sleeps, http_client: httpx.Client, status: int
) -> None:
    server.enqueue(FakeResponse.error(status, "upstream trouble"))
    with provider_for(server, sleeps, http_client) as provider:
        provider.generate(REQUEST)
    assert len(server.requests) == 2


def test_a_wrong_key_is_rejected_at_once_without_leaking_it(
    server: FakeInferenceServer, sleeps: Sleeps, http_client: httpx.Client
) -> None:
    with provider_for(server, sleeps, http_client, api_key="hf_wrong_key_42") as provider:
        with pytest.raises(ProviderRejected) as caught:
            provider.generate(REQUEST)
        assert provider.health()["ok"] is False
    error = caught.value
    assert (error.status, error.retryable, error.code) == (401, False, "PROVIDER_REJECTED")
    assert "Invalid credentials in Authorization header" in error.message
    assert "HUGGINGFACE_API_KEY" in error.message
    assert "hf_wrong_key_42" not in str(error.details) + error.message
    assert len(server.requests) == 1
    assert sleeps == []


@pytest.mark.parametrize("status", [400, 403, 404, 422])
def test_client_errors_are_rejected_with_the_server_message(
    server: FakeInferenceServer, sleeps: Sleeps, http_client: httpx.Client, status: int
) -> None:
    server.enqueue(FakeResponse.error(status, f"the server says no ({status})"))
    with (
        provider_for(server, sleeps, http_client) as provider,
        pytest.raises(ProviderRejected) as caught,
    ):
        provider.generate(REQUEST)
    assert f"the server says no ({status})" in caught.value.message
    assert caught.value.status == status
    assert len(server.requests) == 1


def test_a_list_of_errors_is_joined_into_the_message(
    server: FakeInferenceServer, sleeps: Sleeps, http_client: httpx.Client
) -> None:
    server.enqueue(FakeResponse.json({"error": ["width too big", "seed bad"]}, status=422))
    with (
        provider_for(server, sleeps, http_client) as provider,
        pytest.raises(ProviderRejected) as caught,
    ):
        provider.generate(REQUEST)
    assert "width too big; seed bad" in caught.value.message


def test_a_persistent_503_gives_up_after_max_retries(
    server: FakeInferenceServer, sleeps: Sleeps, http_client: httpx.Client
) -> None:
    server.enqueue(*[FakeResponse.error(503, "Model is overloaded", estimated_time=1.0)] * 10)
    with provider_for(server, sleeps, http_client, max_retries=2) as provider:
        with pytest.raises(ProviderUnavailable) as caught:
            provider.generate(REQUEST)
        assert provider.health()["lastFailure"] == "PROVIDER_UNAVAILABLE"
    error = caught.value
    assert isinstance(error, ServiceUnavailable)
    assert (error.retryable, error.status, error.retry_after) == (True, 503, 1.0)
    assert "failed 3 times" in error.message
    assert "Model is overloaded" in error.message
    assert len(server.requests) == 3
    assert sleeps == [1.0, 1.0]


def test_a_timeout_is_retried(
    server: FakeInferenceServer, sleeps: Sleeps, http_client: httpx.Client
) -> None:
    server.enqueue(FakeResponse(delay=10.0))
    with provider_for(server, sleeps, http_client, timeout=0.3) as provider:
        result = provider.generate(REQUEST)
    assert result.width == 96
    assert sleeps == [2.0]


def test_timeouts_that_persist_make_the_provider_unavailable(
    server: FakeInferenceServer, sleeps: Sleeps, http_client: httpx.Client
) -> None:
    server.enqueue(*[FakeResponse(delay=10.0)] * 2)
    provider = provider_for(server, sleeps, http_client, timeout=0.3, max_retries=1)
    with provider, pytest.raises(ProviderUnavailable, match="ReadTimeout"):
        provider.generate(REQUEST)


def test_a_dropped_connection_is_retried(
    server: FakeInferenceServer, sleeps: Sleeps, http_client: httpx.Client
) -> None:
    server.enqueue(FakeResponse(drop=True))
    with provider_for(server, sleeps, http_client) as provider:
        provider.generate(REQUEST)
    assert len(server.requests) == 2


def test_an_unreachable_server_is_unavailable(sleeps: Sleeps) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago, so nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = HuggingFaceConfig(API_KEY, base_url=f"http://127.0.0.1:{port}", max_retries=2)
    provider = HuggingFaceProvider(config, sleep=sleeps)
    with provider, pytest.raises(ProviderUnavailable, match="ConnectError"):
        provider.generate(REQUEST)
    assert len(sleeps) == 2


@pytest.mark.parametrize(
    "response",
    [
        FakeResponse.json({"error": "Oops, not an image"}),
        FakeResponse(200, b"<html>gateway</html>", {"Content-Type": "text/html"}),
        FakeResponse(200, b""),
    ],
)
def test_a_success_without_an_image_is_bad_output(
    server: FakeInferenceServer, sleeps: Sleeps, http_client: httpx.Client, response: FakeResponse
) -> None:
    server.enqueue(response)
    with (
        provider_for(server, sleeps, http_client) as provider,
        pytest.raises(ProviderBadOutput) as caught,
    ):
        provider.generate(REQUEST)
    assert caught.value.retryable is True
    assert "answered 200 but" in caught.value.message
    assert len(server.requests) == 1


def test_an_oversized_answer_is_refused(
    server: FakeInferenceServer, sleeps: Sleeps, http_client: httpx.Client
) -> None:
    provider = provider_for(server, sleeps, http_client, max_response_bytes=100)
    with provider, pytest.raises(ProviderBadOutput, match="more than 100 bytes"):
        provider.generate(REQUEST)


def test_a_redirect_is_a_configuration_problem(
    server: FakeInferenceServer, sleeps: Sleeps, http_client: httpx.Client
) -> None:
    server.enqueue(FakeResponse(301, b"", {"Location": "https://elsewhere.example"}))
    with (
        provider_for(server, sleeps, http_client) as provider,
        pytest.raises(ProviderError) as caught,
    ):
        provider.generate(REQUEST)
    assert not caught.value.retryable
    assert "base_url" in caught.value.message


def test_the_key_never_reaches_logs_or_reprs(
    server: FakeInferenceServer,
    sleeps: Sleeps,
    http_client: httpx.Client,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server.enqueue(FakeResponse.error(503, f"echo: Bearer {API_KEY}"))
    caplog.set_level(logging.DEBUG)
    with provider_for(server, sleeps, http_client) as provider:
        provider.generate(REQUEST)
        assert API_KEY not in repr(provider) + repr(provider._config)
    assert "retry 1/3" in caplog.text
    assert "[redacted]" in caplog.text
    assert API_KEY not in caplog.text


def test_health_reports_the_model_and_recovers_after_a_success(
    server: FakeInferenceServer, sleeps: Sleeps, http_client: httpx.Client
) -> None:
    server.enqueue(FakeResponse.json({"error": "nope"}))
    with provider_for(server, sleeps, http_client) as provider:
        assert provider.health()["ok"] is True
        with pytest.raises(ProviderBadOutput):
            provider.generate(REQUEST)
        assert provider.health()["ok"] is False
        provider.generate(REQUEST)
        health = provider.health()
    assert health == {
        "ok": True,
        "model": "black-forest-labs/FLUX.1-schnell",
        "baseUrl": server.base_url,
        "lastFailure": None,
    }


def test_one_provider_serves_several_threads(
    server: FakeInferenceServer, sleeps: Sleeps, http_client: httpx.Client
) -> None:
    requests = [attrs.evolve(REQUEST, seed=seed) for seed in range(8)]
    with provider_for(server, sleeps, http_client) as provider, ThreadPoolExecutor(4) as pool:
        results = list(pool.map(provider.generate, requests))
    assert [result.seed for result in results] == list(range(8))
    assert len({result.data for result in results}) == 8


def test_a_shared_client_is_left_open(
    server: FakeInferenceServer, sleeps: Sleeps, http_client: httpx.Client
) -> None:
    config = HuggingFaceConfig(API_KEY, base_url=server.base_url)
    with HuggingFaceProvider(config, client=http_client, sleep=sleeps) as provider:
        provider.generate(REQUEST)
    assert not http_client.is_closed


def test_an_own_client_is_closed_with_the_provider(
    server: FakeInferenceServer, sleeps: Sleeps
) -> None:
    provider = HuggingFaceProvider(HuggingFaceConfig(API_KEY, base_url=server.base_url))
    with provider:
        provider.generate(REQUEST)
    with pytest.raises(RuntimeError, match="closed"):
        provider.generate(REQUEST)


def test_the_config_lists_every_problem_at_once() -> None:
    with pytest.raises(ConfigurationError) as caught:
        HuggingFaceConfig(" ", base_url="ftp://x", timeout=0, max_retries=-1, backoff_jitter=2)
    problems = caught.value.details["problems"]
    assert len(problems) == 5
    assert any("HUGGINGFACE_API_KEY is empty" in problem for problem in problems)
