"""Settings of the Hugging Face provider, checked as a whole when they are built."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

import attrs

from lumiku.errors import ConfigurationError


@attrs.frozen
class HuggingFaceConfig:
    """Settings of the Hugging Face provider; every rule is checked when it is built.

    ``timeout`` is seconds per HTTP attempt; a failed attempt is retried ``max_retries``
    times, waiting ``backoff_base * 2**n`` seconds (spread by ``± backoff_jitter``), or what
    the server asks for, never more than ``backoff_max``. Bodies over ``max_response_bytes``
    and images over ``max_image_pixels`` are refused.
    """

    api_key: str = attrs.field(repr=False)
    model: str = "black-forest-labs/FLUX.1-schnell"
    base_url: str = "https://api-inference.huggingface.co"
    timeout: float = 120.0
    max_retries: int = 4
    backoff_base: float = 2.0
    backoff_max: float = 60.0
    backoff_jitter: float = 0.1
    max_response_bytes: int = 50 * 1024 * 1024
    max_image_pixels: int = 4096 * 4096

    def __attrs_post_init__(self) -> None:
        problems = []
        if not self.api_key.strip():
            problems.append(
                "HUGGINGFACE_API_KEY is empty: create a token at huggingface.co/settings/tokens"
            )
        if urlsplit(self.base_url).scheme not in {"http", "https"}:
            problems.append(f"base_url {self.base_url!r} must start with https:// (or http://)")
        if not self.model.strip() or self.model.startswith("/"):
            problems.append(f"model {self.model!r} must be a repository id such as 'owner/name'")
        if self.timeout <= 0:
            problems.append(f"timeout must be positive, got {self.timeout}")
        if self.max_retries < 0:
            problems.append(f"max_retries must be 0 or more, got {self.max_retries}")
        if not 0 < self.backoff_base <= self.backoff_max:
            problems.append("backoff_base must be positive and not above backoff_max")
        if not 0 <= self.backoff_jitter < 1:
            problems.append(
                f"backoff_jitter must be a fraction in [0, 1), got {self.backoff_jitter}"
            )
        if problems:
            raise ConfigurationError(
                "Hugging Face provider settings are invalid: " + "; ".join(problems),
                details={"problems": problems},
            )

    @property
    def url(self) -> str:
        """Return the inference URL of the configured model."""
        return f"{self.base_url.rstrip('/')}/models/{quote(self.model.strip(), safe='/')}"
