"""The composition root: build every core service once and wire plugins to them.

``build_runtime`` does no I/O beyond importing plugins: engines, clients and brokers are
created but not connected. The app's lifespan (``lumiku.app``) and the worker command
connect, start and stop them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs
import dramatiq
import sqlalchemy as sa

from lumiku.auth.service import AuthService
from lumiku.auth.wiring import build_auth
from lumiku.clock import Clock, utc_now
from lumiku.db.engine import create_engine
from lumiku.http.converter import make_json_converter, make_query_converter
from lumiku.http.services import EndpointServices
from lumiku.idempotency import IdempotencyStore
from lumiku.images.huggingface import HuggingFaceConfig, HuggingFaceProvider
from lumiku.images.local import LocalImageProvider
from lumiku.images.provider import ImageProvider
from lumiku.jobs.broker import build_broker, job_stats
from lumiku.jobs.enqueue import JobQueue
from lumiku.jobs.schedule import ScheduledActor, declare_schedules
from lumiku.ledger.service import Ledger
from lumiku.metrics import Metrics
from lumiku.plugins.context import Capabilities, PluginContext
from lumiku.plugins.discovery import discover
from lumiku.plugins.registry import HookFailed, PluginRegistry, PluginSource
from lumiku.plugins.state import PluginRecord, ReasonCode
from lumiku.ratelimit import RateLimiter
from lumiku.realtime.publisher import Publisher
from lumiku.settings import Settings
from lumiku.storage.local import LocalStorage
from lumiku.storage.signing import UrlSigner

logger = logging.getLogger("lumiku")

STORAGE_FOLDERS = ("avatar-creator", "pose-generator", "outputs")


class SwitchablePublisher:
    """The publisher plugins hold; bound to the live Socket.IO server once it runs."""

    def __init__(self) -> None:
        self.target: Publisher | None = None

    def publish(self, user_id: str, event: str, data: Mapping[str, Any], *, namespace: str) -> None:
        """Send ``event`` to the user's room, or drop it when no realtime server is bound."""
        if self.target is None:
            logger.debug("realtime event %s dropped: no server bound", event)
            return
        self.target.publish(user_id, event, data, namespace=namespace)


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


@attrs.define
class Runtime:
    """Everything one process of Lumiku holds."""

    settings: Settings
    engine: sa.Engine
    metrics: Metrics
    registry: PluginRegistry
    endpoints: EndpointServices
    limiter: RateLimiter
    ledger: Ledger
    storage: LocalStorage
    signer: UrlSigner
    auth: AuthService
    broker: dramatiq.Broker
    jobs: JobQueue
    publisher: SwitchablePublisher
    image_providers: dict[str, ImageProvider]
    contexts: dict[str, PluginContext] = attrs.field(factory=dict)
    actors: dict[str, list[str]] = attrs.field(factory=dict)
    schedules: list[ScheduledActor] = attrs.field(factory=list)
    redis_up: bool = False

    def context(self, record: PluginRecord) -> PluginContext:
        """Return (building once) the context of ``record``'s plugin."""
        ctx = self.contexts.get(record.id)
        if ctx is None:
            assert record.spec is not None
            ctx = PluginContext(
                id=record.id,
                spec=record.spec,
                record=record,
                settings=record.settings,
                credits=record.credits,
                core_settings=self.settings,
                engine=self.engine,
                ledger=self.ledger,
                storage=self.storage.scoped(record.spec.prefix.rsplit("/", 1)[-1]),
                files=self.signer,
                realtime=self.publisher,
                jobs=self.jobs,
                limiter=self.limiter,
                metrics=self.metrics,
                capabilities=Capabilities(redis=lambda: self.redis_up),
                image_providers=self.image_providers,
                logger=logging.getLogger(f"lumiku.plugins.{record.id}"),
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

    ``job_queue`` builds the queue jobs are enqueued through and ``clock`` is the time of
    the ledger and of auth; tests pass a recording queue and a manual clock.
    """
    engine = create_engine(settings.database_url)
    metrics = Metrics()
    registry = PluginRegistry(
        settings, redis_available=settings.redis.enabled, on_hook_error=metrics.record_hook_error
    )
    registry.load(discover() if plugins is None else plugins)
    limiter = RateLimiter(settings.redis.url)
    ledger = Ledger(
        engine,
        clock,
        observer=lambda operation, outcome: metrics.credit_transactions.labels(
            operation=operation, outcome=outcome
        ).inc(),
    )
    storage = LocalStorage(settings.storage_dir)
    auth = build_auth(engine, settings, ledger, clock)
    endpoints = EndpointServices(
        json=make_json_converter(),
        query=make_query_converter(),
        metrics=metrics,
        limiter=limiter,
        authenticator=auth,
        idempotency=IdempotencyStore(engine),
    )
    broker = build_broker(settings.redis.url)
    image_providers = builtin_image_providers(settings)
    runtime = Runtime(
        settings=settings,
        engine=engine,
        metrics=metrics,
        registry=registry,
        endpoints=endpoints,
        limiter=limiter,
        ledger=ledger,
        storage=storage,
        signer=UrlSigner.from_master_secret(settings.jwt_secret),
        auth=auth,
        broker=broker,
        jobs=job_queue(broker),
        publisher=SwitchablePublisher(),
        image_providers=image_providers,
        redis_up=settings.redis.enabled,
    )
    for record, provided in registry.call_each(
        "register_image_providers", records=registry.loaded()
    ):
        for name, provider in (provided or {}).items():
            if name in image_providers:
                logger.warning("⚠️ plugin %s: image provider %r already exists", record.id, name)
                continue
            image_providers[name] = provider
    runtime.metrics.live.jobs = job_stats(broker)
    _declare_actors(runtime)
    return runtime


def _declare_actors(runtime: Runtime) -> None:
    from lumiku.auth.schedules import auth_schedules
    from lumiku.ledger.schedules import ledger_schedules

    core = declare_schedules(
        runtime.broker, "core", [*ledger_schedules(runtime.ledger), *auth_schedules(runtime.auth)]
    )
    runtime.schedules.extend(core)
    runtime.actors["core"] = [item.actor_name for item in core]
    for record in runtime.registry.loaded():
        if "register_actors" not in record.hooks:
            continue
        try:
            actors = runtime.registry.call(
                "register_actors", record.id, ctx=runtime.context(record), broker=runtime.broker
            )
        except HookFailed as exc:
            # Without its actors the plugin would take work it can never run: fail it.
            logger.error("❌ %s", exc, exc_info=exc.__cause__)
            runtime.registry.fail(record.id, ReasonCode.HOOK_ERROR, str(exc))
            continue
        runtime.actors[record.id] = [actor.actor_name for actor in actors or []]
    for record in runtime.registry.loaded():
        if "register_schedules" not in record.hooks:
            continue
        try:
            schedules = runtime.registry.call(
                "register_schedules", record.id, ctx=runtime.context(record)
            )
            declared = declare_schedules(runtime.broker, record.id, list(schedules or []))
        except (HookFailed, ValueError) as exc:
            logger.error("❌ plugin %s: its schedules cannot be declared: %s", record.id, exc)
            runtime.registry.fail(record.id, ReasonCode.HOOK_ERROR, str(exc))
            continue
        runtime.schedules.extend(declared)
        runtime.actors.setdefault(record.id, []).extend(item.actor_name for item in declared)
