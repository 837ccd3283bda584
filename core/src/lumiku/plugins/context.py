"""``PluginContext``: everything a plugin may use from the core, one per plugin.

No service locator, no globals: hooks receive the context and pass it down. Importing this
module imports none of the services (nor the core's settings): they are types only here,
and the composition root hands the instances in.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from lumiku.clock import Clock, utc_now
from lumiku.errors import ServiceUnavailable
from lumiku.plugins.spec import PluginSpec
from lumiku.plugins.state import PluginRecord

if TYPE_CHECKING:
    import sqlalchemy as sa

    from lumiku.charges import Charges
    from lumiku.heldjobs import (
        HeldJobKinds,
        HeldJobs,
        JobLimits,
        JobServices,
        JobWork,
        ProgressEvents,
    )
    from lumiku.images.provider import ImageProvider
    from lumiku.jobs.enqueue import JobQueue
    from lumiku.ledger.service import Ledger
    from lumiku.metrics import Metrics
    from lumiku.ratelimit import RateLimiter
    from lumiku.realtime.publisher import Publisher
    from lumiku.settings import Settings
    from lumiku.storage.local import ScopedStorage
    from lumiku.storage.signing import UrlSigner


@attrs.frozen
class Capabilities:
    """Live capability flags (Redis can come and go at runtime)."""

    _redis: Callable[[], bool] = attrs.field(alias="redis")

    @property
    def redis(self) -> bool:
        """Return whether Redis answers right now."""
        return self._redis()


@attrs.frozen(kw_only=True)
class Host:
    """The few core settings a plugin may read: how and where the server runs.

    Secrets never appear here; build a link for a third party (a payment callback) from
    ``public_url``.
    """

    environment: str = "development"
    public_url: str = "http://127.0.0.1:3000"

    @property
    def is_production(self) -> bool:
        """Return whether the server runs with the production rules."""
        return self.environment == "production"


@attrs.frozen(kw_only=True)
class PluginContext:
    """The core services handed to one plugin's hooks."""

    id: str
    spec: PluginSpec
    record: PluginRecord = attrs.field(repr=False)
    settings: Any
    credits: Mapping[str, int]
    core_settings: Settings = attrs.field(repr=False)
    """The whole core settings, secrets included; a plugin needs ``host`` instead."""
    host: Host = attrs.field(factory=Host)
    engine: sa.Engine = attrs.field(repr=False)
    ledger: Ledger = attrs.field(repr=False)
    storage: ScopedStorage = attrs.field(repr=False)
    files: UrlSigner = attrs.field(repr=False)
    realtime: Publisher = attrs.field(repr=False)
    jobs: JobQueue = attrs.field(repr=False)
    limiter: RateLimiter = attrs.field(repr=False)
    metrics: Metrics = attrs.field(repr=False)
    capabilities: Capabilities = attrs.field(repr=False)
    image_providers: Mapping[str, ImageProvider] = attrs.field(repr=False)
    logger: logging.Logger = attrs.field(repr=False)
    charges: Charges = attrs.field(repr=False)
    """Charged work: spends undone on failure, holds for queued work (``lumiku.charges``)."""
    job_services: JobServices = attrs.field(repr=False)
    held_job_kinds: HeldJobKinds = attrs.field(repr=False)
    state: dict[str, Any] = attrs.field(factory=dict, repr=False)
    """The plugin's own runtime state (clients, caches); the core never reads it."""
    clock: Clock = attrs.field(default=utc_now, repr=False)
    """The time of the app: an aware UTC ``datetime`` per call; a ``ManualClock`` in tests,
    the same clock as the ledger's."""

    def cost(self, action: str) -> int:
        """Return the credit cost of ``action`` after deployer overrides."""
        try:
            return self.credits[action]
        except KeyError:
            raise KeyError(f"plugin {self.id!r} declares no credit cost for {action!r}") from None

    def held_jobs(
        self,
        name: str,
        *,
        table: sa.Table,
        work: JobWork[Any],
        action: str,
        reference_type: str | None = None,
        limits: JobLimits | None = None,
        events: ProgressEvents | None = None,
        describe: Callable[[Mapping[str, Any]], str] | None = None,
    ) -> HeldJobs:
        """Return the held jobs ``<plugin>.<name>`` working on rows of ``table``.

        ``action`` is the credit action one item costs; ``reference_type`` names the work
        in credit history (default: the table's name); ``describe(row)`` returns the
        history line of a job's charge from its row (``lambda row: f"Avatar generation
        {row['name']!r}"``; default: the reference type in words). The core's recovery
        covers them from now on. Declare the actor with ``.declare(broker)`` in
        ``register_actors``.
        """
        return self.held_job_kinds.declare(
            plugin=self.id,
            name=name,
            table=table,
            work=work,
            action=action,
            reference_type=reference_type or table.name,
            limits=limits,
            events=events,
            services=self.job_services,
            describe=describe,
        )

    def image_provider(self, name: str) -> ImageProvider:
        """Return the image provider called ``name``."""
        try:
            return self.image_providers[name]
        except KeyError:
            known = ", ".join(sorted(self.image_providers)) or "none"
            raise ServiceUnavailable(
                f"Image provider {name!r} is not registered (available: {known})."
            ) from None
