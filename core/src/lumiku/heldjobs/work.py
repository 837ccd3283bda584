"""What a plugin writes for a held job: the work for one item, and where its result goes."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, Protocol, TypeVar

import attrs
import sqlalchemy as sa
from dramatiq.middleware.time_limit import TimeLimitExceeded

from lumiku.errors import LumikuError, ServiceUnavailable
from lumiku.images.errors import ProviderError
from lumiku.wording import plural

R = TypeVar("R")
Job = Mapping[Any, Any]
"""A job row as the kit hands it to the plugin: the plugin's columns and the job columns."""


class JobWork(Protocol, Generic[R]):
    """The plugin's part of a held job.

    ``items(job)`` lists the item keys of a job, in order (at most 128 characters each);
    it must give the same list every time for one job, and as many as ``items_total``.
    ``produce(job, item)`` does the slow work of one item outside any transaction and
    returns its result (say, the keys of the files it stored); it raises to fail the item
    (see ``ItemFailed`` and ``problem_of`` for what is retried). ``record(connection, job,
    item, result)`` writes the result in the transaction that marks the item done: it runs
    only while the delivery still holds its claim. It may return a function of no
    arguments, which the kit calls once that transaction has committed (never when it
    rolled back), after the progress event: say, deleting the files the result replaced.
    Its errors are logged, not raised (a crash before it runs skips it). ``discard(result)``
    undoes the side effects of ``produce`` (deletes the files) when the result will not
    be recorded.
    """

    def items(self, job: Job) -> Sequence[str]:
        """Return the keys of the job's items, in order."""
        ...

    def produce(self, job: Job, item: str) -> R:
        """Do the work of one item; raise to fail it."""
        ...

    def record(
        self, connection: sa.Connection, job: Job, item: str, result: R
    ) -> Callable[[], object] | None:
        """Write the result of one item (inside the kit's transaction).

        Return ``None``, or a function to call after the commit.
        """
        ...

    def discard(self, result: R) -> None:
        """Undo what ``produce`` left behind, for a result that is not recorded."""
        ...


class ItemFailed(Exception):
    """Raise from ``produce`` to fail an item for good, with a code and a readable message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@attrs.frozen
class Problem:
    """An error of one item as the job records it."""

    code: str
    message: str
    retryable: bool


def problem_of(exc: BaseException, *, time_limit_seconds: int) -> Problem:
    """Return how an exception from ``produce`` is recorded and whether it is retried.

    Retried (with backoff, until the retries run out): a provider error marked retryable,
    ``ServiceUnavailable``, the time limit, and unexpected exceptions. Not retried:
    ``ItemFailed``, a provider's refusal and the other ``LumikuError``s (bad input).
    """
    if isinstance(exc, ItemFailed):
        return Problem(exc.code, exc.message, False)
    if isinstance(exc, ProviderError):
        return Problem(exc.code, exc.message, exc.retryable)
    if isinstance(exc, LumikuError):
        return Problem(exc.code, exc.message, isinstance(exc, ServiceUnavailable))
    if isinstance(exc, TimeLimitExceeded):
        return Problem(
            "TIME_LIMIT",
            f"The attempt ran longer than {plural(time_limit_seconds, 'second')}.",
            True,
        )
    return Problem("INTERNAL_ERROR", f"The work failed unexpectedly ({type(exc).__name__}).", True)
