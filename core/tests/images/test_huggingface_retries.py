"""The Hugging Face provider against a fake inference server: retries and giving up."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable

import pytest

from lumiku.errors import ServiceUnavailable
from lumiku.images import (
    HuggingFaceConfig,
    HuggingFaceProvider,
    ImageRequest,
    ProviderUnavailable,
)
from lumiku.testing.fake_inference import FakeInferenceServer, FakeResponse, RecordedSleeps

ProviderFactory = Callable[..., HuggingFaceProvider]


def test_a_loading_model_is_retried_after_its_estimated_time(
    server: FakeInferenceServer,
    sleeps: RecordedSleeps,
    provider_for: ProviderFactory,
    image_request: ImageRequest,
) -> None:
    server.enqueue(FakeResponse.error(503, "Model is currently loading", estimated_time=7.5))
    with provider_for() as provider:
        result = provider.generate(image_request)
    assert result.width == 96
    assert len(server.requests) == 2
    assert sleeps == [7.5]


def test_a_503_without_a_hint_backs_off_exponentially(
    server: FakeInferenceServer,
    sleeps: RecordedSleeps,
    provider_for: ProviderFactory,
    image_request: ImageRequest,
) -> None:
    server.enqueue(*[FakeResponse.error(503, "busy")] * 3)
    with provider_for() as provider:
        provider.generate(image_request)
    assert sleeps == [2.0, 4.0, 8.0]


@pytest.mark.parametrize(("retry_after", "waited"), [("3", 3.0), ("600", 30.0)])
def test_a_429_honours_retry_after_within_the_cap(
    server: FakeInferenceServer,
    sleeps: RecordedSleeps,
    provider_for: ProviderFactory,
    image_request: ImageRequest,
    retry_after: str,
    waited: float,
) -> None:
    server.enqueue(FakeResponse.error(429, "Rate limit reached", retry_after=retry_after))
    with provider_for() as provider:
        provider.generate(image_request)
    assert sleeps == [waited]
    assert len(server.requests) == 2


@pytest.mark.parametrize("status", [500, 502, 504])
def test_gateway_errors_are_retried_too(
    server: FakeInferenceServer,
    provider_for: ProviderFactory,
    image_request: ImageRequest,
    status: int,
) -> None:
    server.enqueue(FakeResponse.error(status, "upstream trouble"))
    with provider_for() as provider:
        provider.generate(image_request)
    assert len(server.requests) == 2


def test_a_persistent_503_gives_up_after_max_retries(
    server: FakeInferenceServer,
    sleeps: RecordedSleeps,
    provider_for: ProviderFactory,
    image_request: ImageRequest,
) -> None:
    server.enqueue(*[FakeResponse.error(503, "Model is overloaded", estimated_time=1.0)] * 10)
    with provider_for(max_retries=2) as provider:
        with pytest.raises(ProviderUnavailable) as caught:
            provider.generate(image_request)
        assert provider.health()["lastFailure"] == "PROVIDER_UNAVAILABLE"
    error = caught.value
    assert isinstance(error, ServiceUnavailable)
    assert (error.retryable, error.status, error.retry_after) == (True, 503, 1.0)
    assert "failed 3 times" in error.message
    assert "Model is overloaded" in error.message
    assert len(server.requests) == 3
    assert sleeps == [1.0, 1.0]


def test_a_timeout_is_retried(
    server: FakeInferenceServer,
    sleeps: RecordedSleeps,
    provider_for: ProviderFactory,
    image_request: ImageRequest,
) -> None:
    server.enqueue(FakeResponse(delay=10.0))
    with provider_for(timeout=0.5) as provider:
        result = provider.generate(image_request)
    assert result.width == 96
    assert sleeps == [2.0]


def test_timeouts_that_persist_make_the_provider_unavailable(
    server: FakeInferenceServer, provider_for: ProviderFactory, image_request: ImageRequest
) -> None:
    server.enqueue(*[FakeResponse(delay=10.0)] * 2)
    provider = provider_for(timeout=0.5, max_retries=1)
    with provider, pytest.raises(ProviderUnavailable, match="ReadTimeout"):
        provider.generate(image_request)


def test_a_dropped_connection_is_retried(
    server: FakeInferenceServer, provider_for: ProviderFactory, image_request: ImageRequest
) -> None:
    server.enqueue(FakeResponse(drop=True))
    with provider_for() as provider:
        provider.generate(image_request)
    assert len(server.requests) == 2


def test_an_unreachable_server_is_unavailable(
    sleeps: RecordedSleeps, image_request: ImageRequest, api_key: str
) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago, so nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = HuggingFaceConfig(api_key, base_url=f"http://127.0.0.1:{port}", max_retries=2)
    provider = HuggingFaceProvider(config, sleep=sleeps)
    with provider, pytest.raises(ProviderUnavailable, match="ConnectError"):
        provider.generate(image_request)
    assert len(sleeps) == 2


def test_the_key_never_reaches_logs_or_reprs(
    server: FakeInferenceServer,
    provider_for: ProviderFactory,
    image_request: ImageRequest,
    api_key: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server.enqueue(FakeResponse.error(503, f"echo: Bearer {api_key}"))
    caplog.set_level(logging.DEBUG)
    with provider_for() as provider:
        provider.generate(image_request)
    assert "retry 1/3" in caplog.text
    assert "[redacted]" in caplog.text
    assert api_key not in caplog.text
    assert api_key not in repr(HuggingFaceConfig(api_key))
