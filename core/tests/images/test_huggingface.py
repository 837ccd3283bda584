"""The Hugging Face provider against a fake inference server: requests and answers."""

from __future__ import annotations

import io
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import attrs
import httpx
import pytest
from PIL import Image

from lumiku.errors import ConfigurationError
from lumiku.images import (
    HuggingFaceConfig,
    HuggingFaceProvider,
    ImageRequest,
    ProviderBadOutput,
    ProviderError,
    ProviderRejected,
    build_prompt,
)
from lumiku.testing.fake_inference import FakeInferenceServer, FakeResponse, RecordedSleeps

ProviderFactory = Callable[..., HuggingFaceProvider]


def test_a_success_returns_the_png_of_the_requested_size(
    sleeps: RecordedSleeps, provider_for: ProviderFactory, image_request: ImageRequest
) -> None:
    with provider_for() as provider:
        result = provider.generate(image_request)
    image = Image.open(io.BytesIO(result.data))
    assert (image.format, image.size) == ("PNG", (96, 64))
    assert (result.width, result.height, result.seed) == (96, 64, 1234)
    assert (result.provider, result.content_type) == ("huggingface", "image/png")
    assert sleeps == []


def test_the_request_follows_the_inference_api(
    server: FakeInferenceServer,
    provider_for: ProviderFactory,
    image_request: ImageRequest,
    api_key: str,
) -> None:
    with provider_for() as provider:
        provider.generate(image_request)
    [sent] = server.requests
    assert (sent.method, sent.path) == ("POST", "/models/black-forest-labs/FLUX.1-schnell")
    assert sent.headers["authorization"] == f"Bearer {api_key}"
    assert sent.headers["accept"] == "image/png"
    assert sent.headers["content-type"] == "application/json"
    assert sent.json() == {
        "inputs": build_prompt(image_request),
        "parameters": {"width": 96, "height": 64, "seed": 1234, "negative_prompt": "blurry"},
    }


def test_an_empty_negative_prompt_is_not_sent(
    server: FakeInferenceServer, provider_for: ProviderFactory, image_request: ImageRequest
) -> None:
    with provider_for(model="owner/other-model") as provider:
        provider.generate(attrs.evolve(image_request, negative_prompt=""))
    [sent] = server.requests
    assert sent.path == "/models/owner/other-model"
    assert "negative_prompt" not in sent.json()["parameters"]


def test_a_jpeg_answer_is_converted_to_png(
    server: FakeInferenceServer, provider_for: ProviderFactory, image_request: ImageRequest
) -> None:
    server.enqueue(FakeResponse.image(48, 32, image_format="JPEG"))
    with provider_for() as provider:
        result = provider.generate(image_request)
    assert Image.open(io.BytesIO(result.data)).format == "PNG"
    assert (result.width, result.height) == (48, 32)


def test_a_wrong_key_is_rejected_at_once_without_leaking_it(
    server: FakeInferenceServer,
    sleeps: RecordedSleeps,
    provider_for: ProviderFactory,
    image_request: ImageRequest,
    api_key: str,
) -> None:
    with provider_for(api_key="hf_wrong_key_42") as provider:
        with pytest.raises(ProviderRejected) as caught:
            provider.generate(image_request)
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
    server: FakeInferenceServer,
    provider_for: ProviderFactory,
    image_request: ImageRequest,
    status: int,
) -> None:
    server.enqueue(FakeResponse.error(status, f"the server says no ({status})"))
    with (
        provider_for() as provider,
        pytest.raises(ProviderRejected) as caught,
    ):
        provider.generate(image_request)
    assert f"the server says no ({status})" in caught.value.message
    assert caught.value.status == status
    assert len(server.requests) == 1


def test_a_list_of_errors_is_joined_into_the_message(
    server: FakeInferenceServer, provider_for: ProviderFactory, image_request: ImageRequest
) -> None:
    server.enqueue(FakeResponse.json({"error": ["width too big", "seed bad"]}, status=422))
    with (
        provider_for() as provider,
        pytest.raises(ProviderRejected) as caught,
    ):
        provider.generate(image_request)
    assert "width too big; seed bad" in caught.value.message


@pytest.mark.parametrize(
    "response",
    [
        FakeResponse.json({"error": "Oops, not an image"}),
        FakeResponse(200, b"<html>gateway</html>", {"Content-Type": "text/html"}),
        FakeResponse(200, b""),
    ],
)
def test_a_success_without_an_image_is_bad_output(
    server: FakeInferenceServer,
    provider_for: ProviderFactory,
    image_request: ImageRequest,
    response: FakeResponse,
) -> None:
    server.enqueue(response)
    with (
        provider_for() as provider,
        pytest.raises(ProviderBadOutput) as caught,
    ):
        provider.generate(image_request)
    assert caught.value.retryable is True
    assert "answered 200 but" in caught.value.message
    assert len(server.requests) == 1


def test_an_oversized_answer_is_refused(
    provider_for: ProviderFactory, image_request: ImageRequest
) -> None:
    provider = provider_for(max_response_bytes=100)
    with provider, pytest.raises(ProviderBadOutput, match="more than 100 bytes"):
        provider.generate(image_request)


def test_a_redirect_is_a_configuration_problem(
    server: FakeInferenceServer, provider_for: ProviderFactory, image_request: ImageRequest
) -> None:
    server.enqueue(FakeResponse(301, b"", {"Location": "https://elsewhere.example"}))
    with (
        provider_for() as provider,
        pytest.raises(ProviderError) as caught,
    ):
        provider.generate(image_request)
    assert not caught.value.retryable
    assert "base_url" in caught.value.message


def test_health_reports_the_model_and_recovers_after_a_success(
    server: FakeInferenceServer, provider_for: ProviderFactory, image_request: ImageRequest
) -> None:
    server.enqueue(FakeResponse.json({"error": "nope"}))
    with provider_for() as provider:
        assert provider.health()["ok"] is True
        with pytest.raises(ProviderBadOutput):
            provider.generate(image_request)
        assert provider.health()["ok"] is False
        provider.generate(image_request)
        health = provider.health()
    assert health == {
        "ok": True,
        "model": "black-forest-labs/FLUX.1-schnell",
        "baseUrl": server.base_url,
        "lastFailure": None,
    }


def test_one_provider_serves_several_threads(
    provider_for: ProviderFactory, image_request: ImageRequest
) -> None:
    requests = [attrs.evolve(image_request, seed=seed) for seed in range(8)]
    with provider_for() as provider, ThreadPoolExecutor(4) as pool:
        results = list(pool.map(provider.generate, requests))
    assert [result.seed for result in results] == list(range(8))
    assert len({result.data for result in results}) == 8


def test_a_shared_client_is_left_open(
    server: FakeInferenceServer,
    sleeps: RecordedSleeps,
    image_request: ImageRequest,
    api_key: str,
    http_client: httpx.Client,
) -> None:
    config = HuggingFaceConfig(api_key, base_url=server.base_url)
    with HuggingFaceProvider(config, client=http_client, sleep=sleeps) as provider:
        provider.generate(image_request)
    assert not http_client.is_closed


def test_an_own_client_is_closed_with_the_provider(
    server: FakeInferenceServer, image_request: ImageRequest, api_key: str
) -> None:
    provider = HuggingFaceProvider(HuggingFaceConfig(api_key, base_url=server.base_url))
    with provider:
        provider.generate(image_request)
    with pytest.raises(RuntimeError, match="closed"):
        provider.generate(image_request)


def test_the_config_lists_every_problem_at_once() -> None:
    with pytest.raises(ConfigurationError) as caught:
        HuggingFaceConfig(" ", base_url="ftp://x", timeout=0, max_retries=-1, backoff_jitter=2)
    problems = caught.value.details["problems"]
    assert len(problems) == 5
    assert any("HUGGINGFACE_API_KEY is empty" in problem for problem in problems)


def test_a_cut_out_is_refused_without_calling_the_api(
    server: FakeInferenceServer, provider_for: ProviderFactory, image_request: ImageRequest
) -> None:
    with provider_for() as provider, pytest.raises(ProviderError, match="cannot cut"):
        provider.generate(attrs.evolve(image_request, transparent=True))
    assert server.requests == []
