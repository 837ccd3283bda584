"""Build the Dramatiq broker and declare actors on it, without touching any global broker."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any, ClassVar, ParamSpec, TypeVar

import dramatiq
from dramatiq.asyncio import EventLoopThread, get_event_loop_thread, set_event_loop_thread
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import (
    AgeLimit,
    AsyncIO,
    Callbacks,
    CurrentMessage,
    Pipelines,
    Retries,
    ShutdownNotifications,
    TimeLimit,
)

from lumiku.jobs.events import JobEvents
from lumiku.jobs.policy import JobPolicy, milliseconds
from lumiku.jobs.stats import JobStats
from lumiku.redis_clients import guarded_client

P = ParamSpec("P")
R = TypeVar("R")

_QUEUE_NAME = re.compile(r"[a-z][a-z0-9_]*")
_ACTOR_SUFFIX = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")

# A dead Redis must fail an enqueue within seconds, so the caller can release the credit
# hold; the client's defaults would wait on the operating system's TCP timeouts. After one
# timeout the client's circuit breaker fails the next enqueues at once for a few seconds,
# so a hung Redis does not hold a threadpool thread per request.
_REDIS_SOCKET_OPTIONS: dict[str, Any] = {
    "connect_timeout": 5,
    "timeout": 10,
    "health_check_interval": 30,
}


def build_broker(
    redis_url: str | None,
    *,
    namespace: str = "lumiku",
    policy: JobPolicy | None = None,
    stats: JobStats | None = None,
) -> dramatiq.Broker:
    """Build a Redis broker when ``redis_url`` is given, otherwise an in-process stub broker.

    The Redis broker prefixes its keys with ``namespace``. The stub broker keeps messages in
    memory: run an :class:`~lumiku.jobs.worker.InProcessWorker` on it in the same process.
    ``stats`` (a new one if omitted) receives the job counts; :func:`job_stats` finds it.
    """
    middleware = _middleware(policy or JobPolicy(), stats or JobStats())
    if redis_url is None:
        return StubBroker(middleware=middleware)
    client = guarded_client(redis_url, **_REDIS_SOCKET_OPTIONS)
    broker: dramatiq.Broker = _ClientOwningRedisBroker(  # type: ignore[no-untyped-call]  # untyped upstream
        client=client, namespace=namespace, middleware=middleware
    )
    return broker


class _ClientOwningRedisBroker(RedisBroker):
    """A RedisBroker that closes the Redis client it was given when it is closed."""

    def close(self) -> None:
        """Close the broker and its Redis connections."""
        super().close()
        self.client.close()


def _middleware(policy: JobPolicy, stats: JobStats) -> list[dramatiq.Middleware]:
    # JobEvents comes first so that its "after" hooks, which run in reverse order, see
    # the final outcome decided by Retries and AgeLimit.
    return [
        JobEvents(stats),
        AgeLimit(max_age=milliseconds(policy.max_age)),
        TimeLimit(time_limit=milliseconds(policy.time_limit)),
        ShutdownNotifications(),
        Callbacks(),
        Pipelines(),
        Retries(
            max_retries=policy.max_retries,
            min_backoff=milliseconds(policy.min_backoff),
            max_backoff=milliseconds(policy.max_backoff),
        ),
        CurrentMessage(),
        WorkerEventLoop(),
    ]


class WorkerEventLoop(AsyncIO):
    """Dramatiq's ``AsyncIO`` middleware, safe with several workers in one process.

    Dramatiq keeps one event loop thread per process in a global and starts it as a
    non-daemon thread: a second worker (the in-process fallback broker's, beside the main
    one) replaces the first's thread, the first's is never stopped, and the interpreter
    then waits for it forever at exit. Here each worker stops the thread it started, and
    the thread is a daemon, so a worker never stopped cannot keep the process alive.
    """

    _threads: ClassVar[dict[int, EventLoopThread]] = {}
    """Every worker's live loop thread in this process (by worker id)."""

    def before_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        thread = EventLoopThread(self.logger)
        thread.daemon = True
        thread.start(timeout=1.0)
        self._threads[id(worker)] = thread
        set_event_loop_thread(thread)

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        thread = self._threads.pop(id(worker), None)
        if thread is None:
            return
        thread.stop()  # type: ignore[no-untyped-call]
        thread.join()
        if get_event_loop_thread() is thread:
            set_event_loop_thread(next(iter(self._threads.values()), None))


def job_stats(broker: dramatiq.Broker) -> JobStats | None:
    """Return the counters of a broker built by :func:`build_broker` (``None`` for others)."""
    events = _job_events(broker)
    return events.stats if events else None


def boot_process(broker: dramatiq.Broker) -> None:
    """Emit Dramatiq's ``process_boot`` signal once, as its CLI does in a worker process.

    It starts the TimeLimit watchdog; without it, time limits are not enforced.
    """
    events = _job_events(broker)
    if events is not None and events.process_booted:
        return
    broker.emit_after("process_boot")


def _job_events(broker: dramatiq.Broker) -> JobEvents | None:
    return next((m for m in broker.middleware if isinstance(m, JobEvents)), None)


def declare_actor(
    broker: dramatiq.Broker,
    fn: Callable[P, R],
    *,
    name: str,
    queue: str,
    max_retries: int | None = None,
    time_limit: timedelta | None = None,
    priority: int = 0,
    **options: Any,
) -> dramatiq.Actor[P, R]:
    """Declare ``fn`` as actor ``name`` on ``queue`` of ``broker`` and return the actor.

    Plugins call it from their ``register_actors(ctx, broker)`` hook, with ``queue`` set to
    the plugin id and ``name`` to ``<plugin id>.<job>``. ``max_retries`` and ``time_limit``
    override the broker's :class:`JobPolicy`; ``options`` are any other Dramatiq actor
    options the broker's middleware accepts (``min_backoff``, ``throws``, ...).
    Messages can be delivered twice, so ``fn`` must be idempotent.
    """
    _check_names(name=name, queue=queue)
    unknown = set(options) - broker.actor_options
    if unknown:
        raise ValueError(
            f"actor {name!r}: unknown options {sorted(unknown)}; "
            f"the broker accepts {sorted(broker.actor_options)}"
        )
    if max_retries is not None:
        options["max_retries"] = max_retries
    if time_limit is not None:
        options["time_limit"] = milliseconds(time_limit)
    return dramatiq.Actor(
        fn, broker=broker, actor_name=name, queue_name=queue, priority=priority, options=options
    )


def _check_names(*, name: str, queue: str) -> None:
    if not _QUEUE_NAME.fullmatch(queue):
        raise ValueError(
            f"queue {queue!r} must be the plugin id (snake_case: lower-case letters, digits, _)"
        )
    prefix, dot, suffix = name.partition(".")
    if prefix != queue or not dot or not _ACTOR_SUFFIX.fullmatch(suffix):
        raise ValueError(
            f"actor name {name!r} must be '<plugin id>.<job>' with plugin id {queue!r}, "
            f"e.g. {queue + '.generate'!r}"
        )
