"""A worker process for the fault tests: the sample held job's actor on a Redis broker.

Run as ``python worker_process.py DATABASE_URL REDIS_URL LEASE_SECONDS``; it prints
``ready`` once consuming and runs until killed.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
import time
from datetime import timedelta
from pathlib import Path

import dramatiq

from lumiku.charges import Charges
from lumiku.clock import utc_now
from lumiku.db import create_engine
from lumiku.heldjobs import HeldJobs, JobKind, JobLimits, JobServices, markers_for
from lumiku.jobs.broker import boot_process, build_broker
from lumiku.jobs.enqueue import JobQueue
from lumiku.ledger.service import Ledger
from lumiku.realtime.publisher import NullPublisher


def limits(lease_seconds: float) -> JobLimits:
    """Return the limits the fault tests use: short leases, short waits."""
    return JobLimits(
        lease=timedelta(seconds=lease_seconds),
        lost_after=timedelta(seconds=1),
        min_backoff=timedelta(milliseconds=100),
        max_backoff=timedelta(milliseconds=500),
    )


def held_jobs(sample: object, database_url: str, redis_url: str, lease: float) -> HeldJobs:
    """Return the sample kind's kit on a Redis broker (the tests' side builds one too)."""
    engine = create_engine(database_url)
    ledger = Ledger(engine)
    broker = build_broker(redis_url, namespace="lkt-faults")
    services = JobServices(
        engine=engine,
        ledger=ledger,
        charges=Charges(ledger, "lkt", {"render": 10}),
        queue=JobQueue(broker),
        markers=markers_for(broker),
        publisher=NullPublisher(),
        clock=utc_now,
        logger=logging.getLogger("lkt.worker"),
    )
    kind = JobKind(
        plugin="lkt",
        name="render",
        table=sample.renders,  # type: ignore[attr-defined]
        work=sample.SampleWork(),  # type: ignore[attr-defined]
        action="render",
        reference_type="lkt_render",
        limits=limits(lease),
    )
    held = HeldJobs(kind, services)
    held.declare(broker)
    return held


def _sample() -> object:
    path = Path(__file__).with_name("sample.py")
    spec = importlib.util.spec_from_file_location("lkt_heldjobs_sample", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def main() -> None:
    """Consume until killed."""
    logging.basicConfig(level=logging.WARNING)
    database_url, redis_url, lease = sys.argv[1], sys.argv[2], float(sys.argv[3])
    held = held_jobs(_sample(), database_url, redis_url, lease)
    broker = held._services.queue.broker
    boot_process(broker)
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=100)
    worker.start()
    print("ready", flush=True)
    while True:
        time.sleep(1)


if __name__ == "__main__":
    main()
