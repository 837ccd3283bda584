"""The exception tree of image generation: bad requests and failing providers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from lumiku.errors import LumikuError, ServiceUnavailable, ValidationFailed

E = TypeVar("E", bound=BaseException)


def _restore(cls: type[E], args: tuple[Any, ...], state: dict[str, Any]) -> E:
    error = cls.__new__(cls)
    BaseException.__init__(error, *args)
    error.__dict__.update(state)
    return error


class _Picklable:
    """Pickle by state, not by ``__init__`` (whose keyword-only arguments pickle would lose).

    Provider errors cross process boundaries when generation runs in a process pool.
    """

    def __reduce__(self) -> tuple[Any, ...]:
        assert isinstance(self, BaseException)
        return (_restore, (type(self), self.args, dict(self.__dict__)))


class InvalidImageRequest(_Picklable, ValidationFailed):
    """An ``ImageRequest`` breaks a rule (size, seed, keypoints, colour); the message says which."""

    code = "INVALID_IMAGE_REQUEST"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, details={"fields": {field: message}})
        self.field = field


class ProviderError(_Picklable, LumikuError):
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
