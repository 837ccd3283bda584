"""One database connection for one delivery of a held job, one transaction per step.

A delivery claims the job, records each item and finishes it: a handful of short
transactions separated by the plugin's slow work. Checking a connection out of the pool
for each of them costs a round trip each (the pool's pre-ping) on top of the transaction's
own, and on a loaded machine every round trip after an idle spell waits for two processes
to be scheduled. ``DeliveryConnection`` checks one connection out when first used and
keeps it, outside any transaction, until the delivery ends; a step that fails returns it
to the pool (invalidated if the failure broke it), so the next step starts on a fresh one,
as it would have without this.

Only the delivery's own thread uses it: the heartbeat renews the lease on a connection of
its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType

import sqlalchemy as sa


class DeliveryConnection:
    """A lazily checked-out connection kept for one delivery; see the module docstring."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        self._connection: sa.Connection | None = None

    def __enter__(self) -> DeliveryConnection:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def begin(self) -> Iterator[sa.Connection]:
        """Yield the connection in a transaction, committed when the block ends.

        An exception rolls the transaction back, returns the connection to the pool and
        goes on.
        """
        connection = self._connect()
        try:
            with connection.begin():
                yield connection
        except BaseException:
            self.close()
            raise

    @contextmanager
    def read(self) -> Iterator[sa.Connection]:
        """Yield the connection for reads; the implicit transaction ends with the block."""
        connection = self._connect()
        try:
            yield connection
            connection.rollback()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Return the connection to the pool (a no-op when none is checked out)."""
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    def _connect(self) -> sa.Connection:
        if self._connection is None:
            self._connection = self._engine.connect()
        return self._connection
