"""What each ``lumiku worker`` process builds: settings, runtime, actors, a Redis publisher."""

from __future__ import annotations

import dramatiq

from lumiku.bootstrap import build_runtime, configure_process
from lumiku.logs import configure_logging
from lumiku.realtime.publisher import RedisPublisher
from lumiku.settings import load_settings


def build_worker_broker() -> dramatiq.Broker:
    """Build this worker process's runtime and return its broker (actors declared)."""
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    configure_process(settings)
    runtime = build_runtime(settings)
    if settings.redis.url:
        runtime.publisher.target = RedisPublisher(settings.redis.url)
    return runtime.broker
