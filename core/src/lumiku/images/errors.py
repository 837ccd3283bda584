"""The exception tree of image generation: bad requests and failing providers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lumiku.errors import LumikuError, ServiceUnavailable, ValidationFailed


class InvalidImageRequest(ValidationFailed):
    """An ``ImageRequest`` breaks a rule (size, seed, keypoints, colour); the message says which."""

    code = "INVALID_IMAGE_REQUEST"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, details={"fields": {field: message}})
        self.field = field


class ProviderError(LumikuError):
    """An image provider failed; ``retryable`` says whether the same request may succeed later."""

    code = "PROVIDER_ERROR"

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        retryable: bool,
        status: int | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(
            message,
            details={
                "provider": provider,
                "retryable": retryable,
                "status": status,
                **(details or {}),
            },
        )
        self.provider = provider
        self.retryable = retryable
        self.status = status


class ProviderRejected(ProviderError):
    """The provider refused the request (a 4xx); retrying the same request cannot help."""

    code = "PROVIDER_REJECTED"

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status: int | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(
            message, provider=provider, retryable=False, status=status, details=details
        )


class ProviderUnavailable(ProviderError, ServiceUnavailable):
    """The provider could not be reached or stayed busy through every retry; try again later."""

    code = "PROVIDER_UNAVAILABLE"

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status: int | None = None,
        retry_after: float | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(
            message,
            provider=provider,
            retryable=True,
            status=status,
            details={"retryAfter": retry_after, **(details or {})},
        )
        self.retry_after = retry_after


class ProviderBadOutput(ProviderError):
    """The provider answered with success but the body is not a usable image."""

    code = "PROVIDER_BAD_OUTPUT"

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status: int | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        # A garbled or truncated body is usually transient (a proxy page, a cut connection),
        # so the job layer may try again; the provider itself does not loop on it.
        super().__init__(message, provider=provider, retryable=True, status=status, details=details)
