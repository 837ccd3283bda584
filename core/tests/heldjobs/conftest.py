"""Fixtures of the held-jobs tests: a migrated database with the sample job table, users
with credits, and a kit running on an in-process broker."""

from __future__ import annotations

import importlib.util
import logging
import sys
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import dramatiq
import pytest
import sqlalchemy as sa

from lumiku.charges import Charges
from lumiku.db import create_engine, migrate
from lumiku.db.tables import users
from lumiku.heldjobs import (
    HeldJobs,
    JobKind,
    JobLimits,
    JobServices,
    MemoryMarkers,
    ProgressEvents,
)
from lumiku.idempotency import RequestKey
from lumiku.jobs.enqueue import JobQueue
from lumiku.ledger.service import Ledger
from lumiku.testing import StubJobs, drain, stub_jobs


def _load_sample() -> Any:
    path = Path(__file__).with_name("sample.py")
    spec = importlib.util.spec_from_file_location("lkt_heldjobs_sample", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


sample = _load_sample()
COST = 10
FAST = JobLimits(
    min_backoff=timedelta(milliseconds=10),
    max_backoff=timedelta(milliseconds=50),
    lease=timedelta(seconds=30),
    max_retries=2,
)


class Clock:
    """A clock tests move by hand (the kit's and the ledger's)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self.now

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self.now += delta


class Events:
    """A publisher that records every event."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, dict[str, Any], str]] = []
        self._lock = threading.Lock()

    def publish(self, user_id: str, event: str, data: Mapping[str, Any], *, namespace: str) -> None:
        with self._lock:
            self.sent.append((user_id, event, dict(data), namespace))

    def names(self, user_id: str | None = None) -> list[str]:
        with self._lock:
            return [event for user, event, _, _ in self.sent if user_id in (None, user)]


@attrs.define
class World:
    """A migrated database with users, the ledger and the pieces of a kit."""

    engine: sa.Engine
    clock: Clock
    ledger: Ledger
    events: Events
    markers: MemoryMarkers
    work: Any

    def user(self, credits: int = 100) -> str:
        """Create a user with ``credits`` credits and return the id."""
        user_id = str(uuid.uuid4())
        now = self.clock()
        with self.engine.begin() as connection:
            connection.execute(
                users.insert().values(
                    id=user_id,
                    email=f"{user_id}@example.com",
                    password_hash="x",
                    role="user",
                    tokens_valid_after=now,
                    created_at=now,
                    updated_at=now,
                )
            )
        if credits:
            self.ledger.grant(user_id, credits, "test credits", f"grant:{user_id}")
        return user_id

    def services(self, queue: JobQueue) -> JobServices:
        """Return the kit's services on ``queue``."""
        return JobServices(
            engine=self.engine,
            ledger=self.ledger,
            charges=Charges(self.ledger, "lkt", {"render": COST}),
            queue=queue,
            markers=self.markers,
            publisher=self.events,
            clock=self.clock,
            logger=logging.getLogger("lumiku.plugins.lkt"),
        )

    def kind(self, limits: JobLimits = FAST) -> JobKind:
        """Return the sample kind of job."""
        return JobKind(
            plugin="lkt",
            name="render",
            table=sample.renders,
            work=self.work,
            action="render",
            reference_type="lkt_render",
            limits=limits,
            events=ProgressEvents("/lkt", "render", "renderId"),
        )

    def job(self, job_id: str) -> Any:
        """Return the job row."""
        with self.engine.connect() as connection:
            return (
                connection.execute(sa.select(sample.renders).where(sample.renders.c.id == job_id))
                .mappings()
                .one()
            )

    def results(self, job_id: str) -> dict[str, str]:
        """Return the recorded results of a job by item."""
        table = sample.render_results
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(table).where(table.c.job_id == job_id))
            return {row.item: row.value for row in rows}

    @staticmethod
    def key(user_id: str, header: str | None = None) -> RequestKey:
        """Return the key of a request (with a client Idempotency-Key when ``header``)."""
        if header is None:
            return RequestKey.fresh(user_id)
        return RequestKey.from_header(user_id, header)

    def balance(self, user_id: str) -> tuple[int, int]:
        """Return ``(balance, held)``."""
        balance = self.ledger.balance(user_id)
        return balance.balance, balance.held


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    """Return a migrated database with the sample tables."""
    engine = create_engine(database_url)
    migrate.upgrade(engine, [migrate.core_source()])
    sample.metadata.create_all(engine)
    clock = Clock()
    yield World(
        engine, clock, Ledger(engine, clock), Events(), MemoryMarkers(), sample.SampleWork()
    )
    engine.dispose()


@attrs.define
class Running:
    """A kit whose actor runs on an in-process worker."""

    held: HeldJobs
    jobs: StubJobs

    def drain(self) -> None:
        """Wait until every queued delivery ran."""
        drain(self.jobs)


@pytest.fixture
def sample_module() -> Any:
    """Return the sample job module (behaviours, tables)."""
    return sample


@pytest.fixture
def running(world: World) -> Callable[..., Any]:
    """Return a context factory: ``with running(limits) as kit:`` runs the sample kind."""
    import contextlib

    @contextlib.contextmanager
    def factory(limits: JobLimits = FAST) -> Iterator[Running]:
        made: dict[str, HeldJobs] = {}

        def declare(broker: dramatiq.Broker) -> None:
            held = HeldJobs(world.kind(limits), world.services(JobQueue(broker)))
            held.declare(broker)
            made["held"] = held

        with stub_jobs(declare) as jobs:
            yield Running(made["held"], jobs)

    return factory
