"""Prometheus metrics of one app, on its own registry (no global collectors)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from lumiku.jobs.stats import JobStats
    from lumiku.realtime.connections import ConnectionGauge


class LiveCounts(Collector):
    """Export counts kept elsewhere (jobs by state, open sockets) when scraped."""

    def __init__(self) -> None:
        self.jobs: JobStats | None = None
        self.connections: ConnectionGauge | None = None

    def collect(self) -> Iterator[Metric]:
        """Yield the current values."""
        jobs = CounterMetricFamily(
            "lumiku_queue_jobs", "Background jobs by queue and state", labels=["queue", "state"]
        )
        for (queue, state), count in sorted((self.jobs.snapshot() if self.jobs else {}).items()):
            jobs.add_metric([queue, str(state)], count)
        yield jobs
        sockets = GaugeMetricFamily(
            "lumiku_websocket_connections", "Open Socket.IO connections", labels=["namespace"]
        )
        for namespace, count in sorted(
            (self.connections.snapshot() if self.connections else {}).items()
        ):
            sockets.add_metric([namespace], count)
        yield sockets


class Metrics:
    """The counters, gauges and histograms operators alert on (see deploy/alerts.yml)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.live = LiveCounts()
        self.registry.register(self.live)
        self.redis_up = Gauge("lumiku_redis_up", "1 when Redis answers", registry=self.registry)
        self.credit_transactions = Counter(
            "lumiku_credit_transactions",
            "Credit ledger operations by kind and outcome",
            ["operation", "outcome"],
            registry=self.registry,
        )
        self.json_parse_errors = Counter(
            "lumiku_json_parse_errors",
            "Request bodies that were not valid JSON",
            registry=self.registry,
        )
        self.http_latency = Histogram(
            "lumiku_http_request_duration_seconds",
            "HTTP request latency by route template and status class",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.hook_errors = Counter(
            "lumiku_plugin_hook_errors",
            "Plugin hooks that raised or returned something unusable",
            ["plugin", "hook"],
            registry=self.registry,
        )
        self.route_errors = Counter(
            "lumiku_route_errors",
            "Unexpected exceptions in routes",
            ["plugin"],
            registry=self.registry,
        )
        self.migrations_pending = Gauge(
            "lumiku_migrations_pending",
            "1 when the database is not at the head of every enabled branch",
            registry=self.registry,
        )
        self.plugin_state = Gauge(
            "lumiku_plugin_state",
            "1 for the state each plugin is in",
            ["plugin", "state"],
            registry=self.registry,
        )

    def record_route_error(self, plugin_id: str | None) -> None:
        """Count an unexpected exception in a route of ``plugin_id`` (or the core)."""
        self.route_errors.labels(plugin=plugin_id or "core").inc()

    def record_hook_error(self, plugin_id: str, hook: str, _exc: BaseException) -> None:
        """Count a hook that raised or returned something unusable."""
        self.hook_errors.labels(plugin=plugin_id, hook=hook).inc()

    def render(self) -> bytes:
        """Return the exposition text."""
        return generate_latest(self.registry)
