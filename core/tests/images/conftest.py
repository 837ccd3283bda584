"""Fixtures for the Hugging Face provider tests: a fake server, a fake sleep, a factory."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from lumiku.images import HuggingFaceConfig, HuggingFaceProvider, ImageRequest
from lumiku.testing.fake_inference import (
    FakeInferenceServer,
    RecordedSleeps,
    fake_inference_server,
)


@pytest.fixture
def api_key() -> str:
    """Return the token the fake server expects."""
    return "hf_test_0123456789abcdef"


@pytest.fixture
def image_request() -> ImageRequest:
    """Return a request with every kind of field filled in."""
    return ImageRequest(
        prompt="waving at the camera",
        width=96,
        height=64,
        seed=1234,
        negative_prompt="blurry",
        attributes={"gender": "woman", "hairColor": "red", "style": "anime"},
        persona={"name": "Sari", "personality": "cheerful"},
    )


@pytest.fixture
def server(api_key: str) -> Iterator[FakeInferenceServer]:
    """Serve the fake inference API, expecting ``api_key``."""
    with fake_inference_server(api_key=api_key) as fake:
        yield fake


@pytest.fixture
def sleeps() -> RecordedSleeps:
    """Return a fake ``time.sleep`` that records the waits."""
    return RecordedSleeps()


@pytest.fixture(scope="session")
def http_client() -> Iterator[httpx.Client]:
    """Share one client: building one loads the CA bundle (~50 ms)."""
    with httpx.Client() as client:
        yield client


@pytest.fixture
def provider_for(
    server: FakeInferenceServer, sleeps: RecordedSleeps, http_client: httpx.Client, api_key: str
) -> Callable[..., HuggingFaceProvider]:
    """Return a factory of providers aimed at ``server``; keywords override the config."""

    def make(**config: Any) -> HuggingFaceProvider:
        settings: dict[str, Any] = {
            "api_key": api_key,
            "base_url": server.base_url,
            "timeout": 5.0,
            "max_retries": 3,
            "backoff_base": 2.0,
            "backoff_max": 30.0,
            "backoff_jitter": 0.0,
        }
        return HuggingFaceProvider(
            HuggingFaceConfig(**(settings | config)), client=http_client, sleep=sleeps
        )

    return make
