"""One kind of held job of one plugin, and the core services its parts share."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import sqlalchemy as sa

from lumiku.charges import Charges
from lumiku.clock import Clock
from lumiku.heldjobs.events import ProgressEvents
from lumiku.heldjobs.limits import JobLimits
from lumiku.heldjobs.markers import QueuedMarkers
from lumiku.heldjobs.work import JobWork
from lumiku.jobs.enqueue import JobQueue
from lumiku.ledger.service import Ledger
from lumiku.realtime.publisher import Publisher

Describe = Callable[[Mapping[str, Any]], str]
"""Return the credit history line of a job's charge from the job's row."""

_REQUIRED_COLUMNS = ("id", "user_id", "status", "hold_id", "claim_id", "lease_expires_at")


@attrs.frozen(kw_only=True)
class JobServices:
    """The core services a held job uses (built once per plugin by the composition root)."""

    engine: sa.Engine
    ledger: Ledger
    charges: Charges
    queue: JobQueue
    markers: QueuedMarkers
    publisher: Publisher
    clock: Clock
    logger: logging.Logger


@attrs.frozen(kw_only=True)
class JobKind:
    """What a plugin declares: its job table, the work per item and the limits.

    ``name`` makes the actor ``<plugin>.<name>``; ``action`` is the credit action whose
    cost one item holds (``ctx.credits``); ``reference_type`` names the work in the ledger
    (``Reference(reference_type, job_id)``). ``describe(row)`` returns the history line
    of a job's charge from its row ("Avatar generation 'Ana'"); without it the line names
    the work ("Avatar generation").
    """

    plugin: str
    name: str
    table: sa.Table
    work: JobWork[Any] = attrs.field(eq=False)
    action: str
    reference_type: str
    limits: JobLimits = attrs.field(factory=JobLimits)
    events: ProgressEvents | None = None
    describe: Describe | None = attrs.field(default=None, eq=False)

    def __attrs_post_init__(self) -> None:
        missing = [name for name in _REQUIRED_COLUMNS if name not in self.table.c]
        if missing:
            raise ValueError(
                f"table {self.table.name!r} lacks the held-job columns {missing}: give it "
                "'id' and 'user_id' columns and *lumiku.job_columns()"
            )

    @property
    def actor_name(self) -> str:
        """Return the name of the job's actor."""
        return f"{self.plugin}.{self.name}"

    @property
    def table_name(self) -> str:
        """Return the job table's name (the key of its items)."""
        return self.table.name
