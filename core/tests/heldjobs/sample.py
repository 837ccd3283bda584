"""A sample kind of held job for the kit's tests: renders of numbered items.

Also imported by the worker processes the fault tests start (``worker_process.py``), so it
depends on nothing but the core.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from lumiku.heldjobs import ItemFailed, job_columns, job_constraints

metadata = sa.MetaData()

renders = sa.Table(
    "lkt_renders",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("user_id", sa.String(36), nullable=False),
    sa.Column("label", sa.String(50), nullable=False),
    sa.Column("delay", sa.Float, nullable=False, server_default="0"),
    *job_columns(),
    *job_constraints("lkt_renders"),
)

render_results = sa.Table(
    "lkt_render_results",
    metadata,
    sa.Column("job_id", sa.String(36), primary_key=True),
    sa.Column("item", sa.String(128), primary_key=True),
    sa.Column("value", sa.String(200), nullable=False),
)

Behaviour = Callable[[str, int], None]
"""Called as ``behaviour(item, times_produced)`` before an item is produced; may raise."""


class SampleWork:
    """Items ``item-0`` .. ``item-<n-1>``; each result is recorded in ``lkt_render_results``.

    ``behaviours`` make items fail (``ItemFailed``, a retryable error, ...); ``produced``
    counts how often each item was produced; ``discarded`` lists results not recorded.
    A job's ``delay`` column makes every item sleep that many seconds.
    """

    def __init__(self) -> None:
        self.produced: Counter[str] = Counter()
        self.discarded: list[str] = []
        self.behaviours: dict[str, Behaviour] = {}
        self._lock = threading.Lock()

    def items(self, job: Mapping[Any, Any]) -> Sequence[str]:
        """Return ``item-0`` .. ``item-<items_total - 1>``."""
        return [f"item-{index}" for index in range(int(job["items_total"]))]

    def produce(self, job: Mapping[Any, Any], item: str) -> str:
        """Count, behave, sleep the job's delay, return the result."""
        with self._lock:
            self.produced[item] += 1
            times = self.produced[item]
        log = os.environ.get("LKT_PRODUCE_LOG")
        if log:  # worker processes of the fault tests write down what they made
            with open(log, "a", encoding="utf-8") as file:
                file.write(f"{job['id']} {item}\n")
        behaviour = self.behaviours.get(item)
        if behaviour is not None:
            behaviour(item, times)
        if job["delay"]:
            time.sleep(float(job["delay"]))
        return f"{job['label']}:{item}"

    def record(
        self, connection: sa.Connection, job: Mapping[Any, Any], item: str, result: str
    ) -> None:
        """Insert the result."""
        connection.execute(
            sa.insert(render_results).values(job_id=job["id"], item=item, value=result)
        )

    def discard(self, result: str) -> None:
        """Remember the result that was not recorded."""
        with self._lock:
            self.discarded.append(result)


def fail_for_good(code: str = "BAD_ITEM") -> Behaviour:
    """Return a behaviour failing the item for good."""

    def behave(item: str, times: int) -> None:
        raise ItemFailed(code, f"{item} cannot be made")

    return behave


def fail_times(count: int) -> Behaviour:
    """Return a behaviour failing (retryably) the first ``count`` times."""

    def behave(item: str, times: int) -> None:
        if times <= count:
            raise ConnectionError(f"{item}: the provider is busy")

    return behave
