"""Prometheus metrics of one process, on its own registry (no global collectors).

With ``PROMETHEUS_MULTIPROC_DIR`` set (prometheus_client's multiprocess mode), every
``lumiku serve`` and ``lumiku worker`` process of a machine writes its values to files in
that directory and ``/metrics`` on any web process of the machine reports them all:
counters and histograms summed, so the jobs a worker process ran are never lost, even
after it exits; gauges as declared below (``livesum``, ``livemax``: processes still running).
The first ``lumiku serve`` or ``lumiku worker`` of a machine empties the directory, never
while another runs (``lumiku.metrics_dir``; docs/operations.md, "Metrics across processes").
"""

from __future__ import annotations

import atexit
import logging
import os
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import values as prometheus_values
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

logger = logging.getLogger("lumiku")


def multiprocess_active() -> bool:
    """Return whether prometheus_client writes its values to ``PROMETHEUS_MULTIPROC_DIR``.

    It decides once, when first imported, from the process's environment.
    """
    return prometheus_values.ValueClass is not prometheus_values.MutexValue


class Metrics:
    """The counters, gauges and histograms operators alert on (see deploy/alerts.yml).

    ``multiprocess_dir`` (the setting ``PROMETHEUS_MULTIPROC_DIR``) makes :meth:`render`
    report every process of the machine; it is ignored, with a warning, when the variable
    was not in the environment when the process started (prometheus_client then keeps
    values in memory).
    """

    def __init__(self, *, multiprocess_dir: Path | None = None) -> None:
        if multiprocess_dir is not None and not multiprocess_active():
            logger.warning(
                "⚠️ PROMETHEUS_MULTIPROC_DIR was set after the process started; "
                "/metrics reports this process only"
            )
            multiprocess_dir = None
        self.multiprocess_dir = multiprocess_dir
        if multiprocess_dir is not None:
            _forget_at_exit(multiprocess_dir)
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.redis_up = Gauge(
            "lumiku_redis_up",
            "1 when Redis answers (the best of the running web processes)",
            registry=registry,
            multiprocess_mode="livemax",
        )
        self.credit_transactions = Counter(
            "lumiku_credit_transactions",
            "Credit ledger operations by kind and outcome (expire: each hold expired)",
            ["operation", "outcome"],
            registry=registry,
        )
        self.json_parse_errors = Counter(
            "lumiku_json_parse_errors", "Request bodies that were not valid JSON", registry=registry
        )
        self.http_latency = Histogram(
            "lumiku_http_request_duration_seconds",
            "HTTP request latency by route template and status (its _count: the requests)",
            ["method", "route", "status"],
            registry=registry,
        )
        self.hook_errors = Counter(
            "lumiku_plugin_hook_errors",
            "Plugin hooks that raised or returned something unusable",
            ["plugin", "hook"],
            registry=registry,
        )
        self.route_errors = Counter(
            "lumiku_route_errors", "Unexpected exceptions in routes", ["plugin"], registry=registry
        )
        self.migrations_pending = Gauge(
            "lumiku_migrations_pending",
            "1 when the database is not at the head of every enabled branch",
            registry=registry,
            multiprocess_mode="livemax",
        )
        self.plugin_state = Gauge(
            "lumiku_plugin_state",
            "1 for the state each plugin is in",
            ["plugin", "state"],
            registry=registry,
            multiprocess_mode="livemax",
        )
        self.queue_jobs = Counter(
            "lumiku_queue_jobs",
            "Background jobs by queue (the plugin id, or core), plugin and state",
            ["queue", "plugin", "state"],
            registry=registry,
        )
        self.websocket_connections = Gauge(
            "lumiku_websocket_connections",
            "Open Socket.IO connections by namespace",
            ["namespace"],
            registry=registry,
            multiprocess_mode="livesum",
        )

    def record_route_error(self, plugin_id: str | None) -> None:
        """Count an unexpected exception in a route of ``plugin_id`` (or the core)."""
        self.route_errors.labels(plugin=plugin_id or "core").inc()

    def record_hook_error(self, plugin_id: str, hook: str, _exc: BaseException) -> None:
        """Count a hook that raised or returned something unusable."""
        self.hook_errors.labels(plugin=plugin_id, hook=hook).inc()

    def record_credit_operation(self, operation: str, outcome: str, count: int = 1) -> None:
        """Count ``count`` ledger operations of kind ``operation`` that ended in ``outcome``."""
        if count > 0:
            self.credit_transactions.labels(operation=operation, outcome=outcome).inc(count)

    def record_job(self, queue: str, state: str) -> None:
        """Count one job of ``queue`` (a plugin id, or ``core``) reaching ``state``."""
        self.queue_jobs.labels(queue=queue, plugin=queue, state=state).inc()

    def record_connections(self, namespace: str, change: int) -> None:
        """Move the open connections of ``namespace`` by ``change`` (+1 opened, -1 closed)."""
        self.websocket_connections.labels(namespace=namespace).inc(change)

    def render(self) -> bytes:
        """Return the exposition text: this process's, or the machine's in multiprocess mode."""
        if self.multiprocess_dir is None:
            return generate_latest(self.registry)
        merged = CollectorRegistry()
        MultiProcessCollector(merged, path=str(self.multiprocess_dir))  # type: ignore[no-untyped-call]
        return generate_latest(merged)


_forgotten: set[Path] = set()


def _forget_at_exit(directory: Path) -> None:
    # The live* gauges of a process that exited must not count any more; its counters stay.
    if directory in _forgotten:
        return
    _forgotten.add(directory)
    pid = os.getpid()

    def forget() -> None:
        if os.getpid() == pid:
            mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]

    atexit.register(forget)
