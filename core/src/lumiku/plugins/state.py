"""Lifecycle states of a plugin, with a human reason and a machine reason code."""

from __future__ import annotations

import enum
from typing import Any

import attrs

from lumiku.plugins.spec import PluginSpec


class PluginState(enum.StrEnum):
    """Where a plugin stands: only ``running`` and ``degraded`` plugins serve requests."""

    DISABLED = "disabled"
    FAILED = "failed"
    MIGRATIONS_PENDING = "migrations_pending"
    DEGRADED = "degraded"
    RUNNING = "running"

    @property
    def serving(self) -> bool:
        """Return whether a plugin in this state serves its routes and jobs."""
        return self in (PluginState.RUNNING, PluginState.DEGRADED)


class ReasonCode(enum.StrEnum):
    """Why a plugin is not simply running."""

    OK = "ok"
    DISABLED_BY_ENV = "disabled_by_env"
    DISABLED_BY_CONFIG = "disabled_by_config"
    NOT_ALLOWED = "not_in_allowlist"
    SAFE_MODE = "safe_mode"
    MISSING_CONFIG = "missing_config"
    REDIS_UNAVAILABLE = "redis_unavailable"
    DATABASE_UNAVAILABLE = "database_unavailable"
    DEPENDENCY_UNAVAILABLE = "dependency_unavailable"
    IMPORT_ERROR = "import_error"
    INVALID_SPEC = "invalid_spec"
    INVALID_HOOK = "invalid_hook"
    HOOK_ERROR = "hook_error"
    STARTUP_ERROR = "startup_error"
    DUPLICATE_ID = "duplicate_id"
    MIGRATIONS_PENDING = "migrations_pending"


@attrs.define
class PluginRecord:
    """One discovered plugin and its current state. Mutable: states change at runtime."""

    id: str
    spec: PluginSpec | None
    distribution: str | None = None
    state: PluginState = PluginState.RUNNING
    reason: str = ""
    reason_code: ReasonCode = ReasonCode.OK
    hooks: list[str] = attrs.field(factory=list)
    routes: list[str] = attrs.field(factory=list)
    settings: Any = None
    credits: dict[str, int] = attrs.field(factory=dict)
    loaded: bool = False
    # Soft requirements missing right now; recomputed when capabilities change.
    missing_soft: list[str] = attrs.field(factory=list)
    # The installed distribution's version (from its metadata), used when the spec gives
    # none or was not imported.
    dist_version: str | None = None
    # Its distribution declares it shipped with Lumiku (kept by safe mode).
    bundled: bool = False
    # The top-level package of its entry point, found without importing it.
    package: str | None = None

    @property
    def version(self) -> str:
        """Return the spec's version, else the distribution's, else ``?``."""
        if self.spec is not None and self.spec.version:
            return self.spec.version
        return self.dist_version or "?"

    def set(self, state: PluginState, code: ReasonCode, reason: str = "") -> None:
        """Move to ``state`` with a reason."""
        self.state = state
        self.reason_code = code
        self.reason = reason

    def describe(self) -> str:
        """Return ``state`` or ``state (reason)`` for listings."""
        return f"{self.state} ({self.reason})" if self.reason else str(self.state)

    def to_json(self) -> dict[str, Any]:
        """Return the public view used by ``/api/plugins`` and the CLI; never settings values."""
        return {
            "id": self.id,
            "title": self.spec.display_title if self.spec else self.id,
            "version": self.version,
            "distribution": self.distribution,
            "state": str(self.state),
            "reason": self.reason,
            "reasonCode": str(self.reason_code),
            "routePrefix": self.spec.prefix if self.spec else None,
            "hooks": sorted(self.hooks),
            "routes": list(self.routes),
            "credits": dict(self.credits),
        }
