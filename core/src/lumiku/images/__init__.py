"""Image generation: the provider contract, the local renderer and the Hugging Face client."""

from __future__ import annotations

from lumiku.images.errors import (
    InvalidImageRequest,
    ProviderBadOutput,
    ProviderError,
    ProviderRejected,
    ProviderUnavailable,
)
from lumiku.images.huggingface import HuggingFaceConfig, HuggingFaceProvider
from lumiku.images.local import LocalImageProvider
from lumiku.images.prompt import build_prompt
from lumiku.images.provider import GeneratedImage, ImageProvider, ImageRequest
from lumiku.images.skeleton import KEYPOINT_NAMES

__all__ = [
    "KEYPOINT_NAMES",
    "GeneratedImage",
    "HuggingFaceConfig",
    "HuggingFaceProvider",
    "ImageProvider",
    "ImageRequest",
    "InvalidImageRequest",
    "LocalImageProvider",
    "ProviderBadOutput",
    "ProviderError",
    "ProviderRejected",
    "ProviderUnavailable",
    "build_prompt",
]
