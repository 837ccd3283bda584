"""The composition root: build every core service once and wire plugins to them.

``build_runtime`` does no I/O beyond importing plugins: engines, clients and brokers are
created but not connected. The app's lifespan (``lumiku.app``) and the worker command
connect, start and stop them.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

import attrs
import dramatiq
import sqlalchemy as sa

from lumiku.auth.change_feed import ChangeFeed
from lumiku.auth.gate import AccountCache, TokenGate
from lumiku.auth.service import AuthService
from lumiku.auth.wiring import build_auth
from lumiku.charges import Charges
from lumiku.clock import Clock, utc_now
from lumiku.db.engine import create_engine
from lumiku.db.loop_reads import LoopReader
from lumiku.errors import ConfigurationError
from lumiku.heldjobs import (
    FailoverMarkers,
    HeldJobKinds,
    JobServices,
    QueuedMarkers,
    markers_for,
)
from lumiku.http.body_budget import BodyBudget
from lumiku.http.converter import make_json_converter, make_query_converter
from lumiku.http.services import EndpointServices
from lumiku.idempotency import IdempotencyStore
from lumiku.images.huggingface import HuggingFaceConfig, HuggingFaceProvider
from lumiku.images.local import LocalImageProvider
from lumiku.images.provider import ImageProvider
from lumiku.jobs.broker import build_broker, job_stats
from lumiku.jobs.enqueue import JobQueue
from lumiku.jobs.schedule import Schedule, ScheduledActor, declare_schedules
from lumiku.ledger.service import Ledger
from lumiku.memory import tune_allocator
from lumiku.metrics import Metrics
from lumiku.plugins.context import Capabilities, Host, PluginContext
from lumiku.plugins.discovery import discover
from lumiku.plugins.dispatch import FAIL_PLUGIN, LOG_AND_GO_ON, HookDispatcher, HookFailed
from lumiku.plugins.registry import PluginRegistry, PluginSource
from lumiku.plugins.state import PluginRecord
from lumiku.ratelimit import RateLimiter
from lumiku.realtime.credits import BalanceAnnouncer
from lumiku.realtime.publisher import SwitchablePublisher
from lumiku.realtime.revocations import SwitchableRevocations
from lumiku.settings import Settings
from lumiku.storage.backend import StorageBackend
from lumiku.storage.decoding import process_budget
from lumiku.storage.opening import open_storage
from lumiku.storage.signing import UrlSigner

logger = logging.getLogger("lumiku")


def builtin_image_providers(settings: Settings) -> dict[str, ImageProvider]:
    """Return the providers the core ships: ``local`` always, ``huggingface`` when keyed."""
    providers: dict[str, ImageProvider] = {"local": LocalImageProvider()}
    images = settings.images
    if images.huggingface_api_key:
        providers["huggingface"] = HuggingFaceProvider(
            HuggingFaceConfig(
                api_key=images.huggingface_api_key,
                model=images.huggingface_model,
                base_url=images.huggingface_base_url,
                timeout=images.huggingface_timeout,
            )
        )
    return providers


def configure_process(settings: Settings) -> None:
    """Apply the settings that belong to the whole process (a server or worker process):
    the memory allocator's tuning and the image decoding budget (``lumiku.memory``,
    ``lumiku.storage.decoding``)."""
    tune_allocator()
    limits = settings.limits
    process_budget().configure(limits.decode_budget_pixels, wait=limits.decode_wait)


@attrs.define
class Runtime:
    """Everything one process of Lumiku holds."""

    settings: Settings
    engine: sa.Engine
    metrics: Metrics
    registry: PluginRegistry
    hooks: HookDispatcher
    endpoints: EndpointServices
    limiter: RateLimiter
    ledger: Ledger
    storage: StorageBackend
    signer: UrlSigner
    auth: AuthService
    broker: dramatiq.Broker
    jobs: JobQueue
    publisher: SwitchablePublisher
    image_providers: dict[str, ImageProvider]
    idempotency: IdempotencyStore
    markers: QueuedMarkers
    revocations: SwitchableRevocations = attrs.field(factory=SwitchableRevocations)
    reader: LoopReader | None = None
    """Reads from the event loop (tokens, balance); closed by the app's shutdown."""
    feed: ChangeFeed | None = None
    """On PostgreSQL: what keeps the account cache exact; started by the app's lifespan."""
    balance_events: BalanceAnnouncer | None = None
    """Announces ``credits:balance`` on ``/credits`` after each change of an account."""
    fallback_broker: dramatiq.Broker | None = None
    """With Redis configured: the in-process broker jobs go to while Redis is away."""
    held_job_kinds: HeldJobKinds = attrs.field(factory=HeldJobKinds)
    clock: Clock = utc_now
    contexts: dict[str, PluginContext] = attrs.field(factory=dict)
    actors: dict[str, list[str]] = attrs.field(factory=dict)
    schedules: list[ScheduledActor] = attrs.field(factory=list)

    @property
    def redis_up(self) -> bool:
        """Return whether Redis answered the last check (the registry's capability)."""
        return self.registry.redis_available

    def context(self, record: PluginRecord) -> PluginContext:
        """Return (building once) the context of ``record``'s plugin."""
        ctx = self.contexts.get(record.id)
        if ctx is None:
            assert record.spec is not None
            logger = logging.getLogger(f"lumiku.plugins.{record.id}")
            charges = Charges(self.ledger, record.id, record.credits, self.idempotency)
            ctx = PluginContext(
                id=record.id,
                spec=record.spec,
                record=record,
                settings=record.settings,
                credits=record.credits,
                core_settings=self.settings,
                host=Host(environment=self.settings.env, public_url=self.settings.public_url),
                engine=self.engine,
                ledger=self.ledger,
                storage=self.storage.scoped(record.spec.storage_folder, signer=self.signer),
                files=self.signer,
                realtime=self.publisher,
                jobs=self.jobs,
                limiter=self.limiter,
                metrics=self.metrics,
                capabilities=Capabilities(redis=lambda: self.registry.redis_available),
                image_providers=self.image_providers,
                logger=logger,
                charges=charges,
                job_services=JobServices(
                    engine=self.engine,
                    ledger=self.ledger,
                    charges=charges,
                    queue=self.jobs,
                    markers=self.markers,
                    publisher=self.publisher,
                    clock=self.clock,
                    logger=logger,
                ),
                held_job_kinds=self.held_job_kinds,
                clock=self.clock,
            )
            self.contexts[record.id] = ctx
        return ctx


def build_runtime(
    settings: Settings,
    *,
    plugins: Iterable[PluginSource] | None = None,
    job_queue: Callable[[dramatiq.Broker], JobQueue] = JobQueue,
    clock: Clock = utc_now,
) -> Runtime:
    """Build the services and load the plugins (``plugins=None`` discovers entry points).

    Raises ``ConfigurationError`` in production when a plugin ``required_in_production``
    is not configured (every such problem listed).

    ``job_queue`` builds the queue jobs are enqueued through and ``clock`` is the time of
    the ledger and of auth; tests pass a recording queue and a manual clock.
    """
    engine = create_engine(settings.database_url)
    metrics = Metrics(multiprocess_dir=settings.metrics_dir)
    registry = PluginRegistry(settings, redis_available=settings.redis.enabled)
    registry.load(discover() if plugins is None else plugins)
    required = registry.configuration_errors()
    if required:
        engine.dispose()
        raise ConfigurationError(
            "plugins required in production are not configured:\n  " + "\n  ".join(required),
            details={"problems": [{"variable": "-", "rule": problem} for problem in required]},
        )
    hooks = HookDispatcher(registry, on_error=metrics.record_hook_error)
    limiter = RateLimiter(settings.redis.url)
    publisher = SwitchablePublisher()
    # Each change of an account is announced to its owner's /credits sockets.
    balance_events = BalanceAnnouncer(lambda user_id: ledger.balance(user_id), publisher)
    ledger = Ledger(
        engine,
        clock,
        observer=metrics.record_credit_operation,
        on_change=balance_events.changed,
    )
    storage = open_storage(settings)
    revocations = SwitchableRevocations()
    auth = build_auth(engine, settings, ledger, clock, tokens_changed=revocations.tokens_changed)
    idempotency = IdempotencyStore(engine, clock)
    reader = LoopReader(engine)
    cache = AccountCache()
    feed = None if reader.sqlite else ChangeFeed(reader.conninfo, cache.forget)
    cache.bind(feed)
    endpoints = EndpointServices(
        json=make_json_converter(),
        query=make_query_converter(),
        metrics=metrics,
        limiter=limiter,
        authenticator=auth,
        gate=TokenGate(auth.tokens, reader, auth.authenticate, cache if feed else None),
        handlers=ThreadPoolExecutor(settings.limits.threads, thread_name_prefix="lumiku-handler"),
        idempotency=idempotency,
        bodies=BodyBudget(
            settings.limits.body_budget_bytes, per_client=settings.limits.body_budget_per_client
        ),
    )
    broker = build_broker(settings.redis.url)
    fallback = None
    markers = markers_for(broker)
    if settings.redis.url:
        fallback = build_broker(None, stats=job_stats(broker))
        markers = FailoverMarkers(markers, markers_for(fallback), lambda: registry.redis_available)
    image_providers = builtin_image_providers(settings)
    runtime = Runtime(
        settings=settings,
        engine=engine,
        metrics=metrics,
        registry=registry,
        hooks=hooks,
        endpoints=endpoints,
        limiter=limiter,
        ledger=ledger,
        storage=storage,
        signer=UrlSigner.from_master_secret(settings.jwt_secret),
        auth=auth,
        broker=broker,
        jobs=job_queue(broker),
        publisher=publisher,
        balance_events=balance_events,
        image_providers=image_providers,
        idempotency=idempotency,
        markers=markers,
        revocations=revocations,
        reader=reader,
        feed=feed,
        fallback_broker=fallback,
        clock=clock,
    )
    if fallback is not None:
        runtime.jobs.set_fallback(fallback, primary_up=lambda: registry.redis_available)
    for record, provided in hooks.each(
        "register_image_providers", registry.loaded(), on_failure=LOG_AND_GO_ON, accept=dict
    ):
        for name, provider in provided.items():
            if name in image_providers:
                logger.warning("⚠️ plugin %s: image provider %r already exists", record.id, name)
                continue
            image_providers[name] = provider
    stats = job_stats(broker)  # the fallback broker shares these counters
    if stats is not None:
        stats.observer = metrics.record_job
    _declare_actors(runtime, runtime.broker)
    if fallback is not None:
        _declare_actors(runtime, fallback, record=False)
    return runtime


def _declare_schedules(
    broker: dramatiq.Broker, owner: str, schedules: Iterable[Schedule] | None
) -> list[ScheduledActor]:
    return declare_schedules(broker, owner, list(schedules or []))


def _declare_actors(runtime: Runtime, broker: dramatiq.Broker, *, record: bool = True) -> None:
    """Declare the core's and the plugins' actors and schedules on ``broker``; ``record``
    keeps their names and schedules on the runtime (once: the fallback has the same)."""
    from lumiku.auth.schedules import auth_schedules
    from lumiku.ledger.schedules import ledger_schedules
    from lumiku.plugins.reconciliation import contributed_checks

    core = declare_schedules(
        broker,
        "core",
        [
            *ledger_schedules(
                runtime.ledger, lambda: contributed_checks(runtime.registry, runtime.hooks)
            ),
            *auth_schedules(runtime.auth),
            runtime.held_job_kinds.schedule(),
        ],
    )
    if record:
        runtime.schedules.extend(core)
        runtime.actors["core"] = [item.actor_name for item in core]
    for plugin, names in runtime.hooks.each(
        "register_actors",
        runtime.registry.loaded(),
        # Without its actors the plugin would take work it can never run: fail it.
        on_failure=FAIL_PLUGIN,
        kwargs_for=lambda plugin: {"ctx": runtime.context(plugin), "broker": broker},
        accept=lambda actors: [actor.actor_name for actor in actors or []],
    ):
        if record:
            runtime.actors[plugin.id] = names
    for plugin in runtime.registry.loaded():
        declared = runtime.hooks.call(
            "register_schedules",
            plugin,
            {"ctx": runtime.context(plugin)},
            on_failure=FAIL_PLUGIN,
            accept=functools.partial(_declare_schedules, broker, plugin.id),
        )
        if record and not isinstance(declared, HookFailed) and declared:
            runtime.schedules.extend(declared)
            runtime.actors.setdefault(plugin.id, []).extend(item.actor_name for item in declared)
