"""The exception tree of the core. Mapping to HTTP statuses lives in ``lumiku.http.errors``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class LumikuError(Exception):
    """Base of every error the core raises on purpose."""

    code = "INTERNAL_ERROR"

    def __init__(self, message: str, *, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = dict(details or {})


class ConfigurationError(LumikuError):
    """Settings are missing or break a rule; ``details["problems"]`` lists every one."""

    code = "CONFIGURATION_ERROR"


class PluginError(LumikuError):
    """A plugin could not be loaded, validated or started."""

    code = "PLUGIN_ERROR"

    def __init__(self, plugin_id: str, message: str, *, hook: str | None = None) -> None:
        where = f"plugin {plugin_id!r}" + (f", hook {hook!r}" if hook else "")
        super().__init__(f"{where}: {message}", details={"plugin": plugin_id, "hook": hook})
        self.plugin_id = plugin_id
        self.hook = hook


class BadRequest(LumikuError):
    """The request cannot be read (malformed JSON, wrong content type)."""

    code = "BAD_REQUEST"

    def __init__(
        self, message: str, *, code: str | None = None, details: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(message, details=details)
        if code:
            self.code = code


class ValidationFailed(LumikuError):
    """The request is well-formed but breaks the schema; ``details["fields"]`` says where."""

    code = "VALIDATION_ERROR"


class Unauthorized(LumikuError):
    """No valid credentials were presented."""

    code = "UNAUTHORIZED"


class Forbidden(LumikuError):
    """The caller is known but may not do this."""

    code = "FORBIDDEN"


class NotFound(LumikuError):
    """The resource does not exist, or belongs to someone else."""

    code = "NOT_FOUND"


class Conflict(LumikuError):
    """The request conflicts with the current state (a taken email, a reused key)."""

    code = "CONFLICT"


class PayloadTooLarge(LumikuError):
    """The request body or an uploaded file is over its size limit."""

    code = "PAYLOAD_TOO_LARGE"


class UnsupportedMedia(LumikuError):
    """An upload is not one of the accepted formats."""

    code = "UNSUPPORTED_MEDIA_TYPE"


class RateLimited(LumikuError):
    """Too many requests; ``retry_after`` says in how many seconds to try again."""

    code = "RATE_LIMITED"

    def __init__(
        self, message: str, *, retry_after: int, details: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(message, details={"retryAfter": retry_after, **(details or {})})
        self.retry_after = retry_after


class InsufficientCredits(LumikuError):
    """The account's available credits do not cover the action."""

    code = "INSUFFICIENT_CREDITS"

    def __init__(self, *, required: int, available: int, purpose: str | None = None) -> None:
        """``purpose`` is what the user tried, as a verb phrase ("generate an avatar")."""
        doing = f"to {purpose}" if purpose else "for this action"
        super().__init__(
            f"Not enough credits {doing}: {required} needed, {available} available.",
            details={"required": required, "available": available},
        )
        self.required = required
        self.available = available
        self.purpose = purpose

    def for_purpose(self, purpose: str | None) -> InsufficientCredits:
        """Return the same shortfall told as ``purpose`` (this one when ``None``)."""
        if purpose is None:
            return self
        return InsufficientCredits(
            required=self.required, available=self.available, purpose=purpose
        )


class ServiceUnavailable(LumikuError):
    """A dependency (database, Redis, an image provider) cannot be reached right now."""

    code = "SERVICE_UNAVAILABLE"


class ServerBusy(ServiceUnavailable):
    """The server is at one of its capacity limits; ``retry_after`` says when to try again."""

    code = "SERVER_BUSY"

    def __init__(
        self, message: str, *, retry_after: int, details: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(message, details={"retryAfter": retry_after, **(details or {})})
        self.retry_after = retry_after
