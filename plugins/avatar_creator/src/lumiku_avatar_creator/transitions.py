"""The states of a generation, each change a conditional update.

``pending -> processing`` (a claim with a lease), ``processing -> pending`` (an attempt
that will be retried gives the claim back, or the recovery requeues a generation whose
claim lapsed), ``pending|processing -> failed``, and ``processing -> completed`` together
with the avatar row (one transaction; the hold is captured after that). Each update names
the state it expects, and work done under a claim only lands if the claim still holds,
so concurrent or repeated deliveries of one job cannot both finish it, and a generation
failed meanwhile (its project deleted, expired) cannot complete.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
import sqlalchemy as sa

from lumiku_avatar_creator.models import Record, avatar_generations, avatars

OPEN_STATUSES = ("pending", "processing")
TERMINAL_STATUSES = ("completed", "failed")
MAX_ERROR_MESSAGE = 500

_g = avatar_generations.c


@attrs.frozen
class Failed:
    """The outcome of failing a generation: whether this call did it, and its hold."""

    changed: bool
    hold_id: str | None


def find_generation(
    connection: sa.Connection, generation_id: str, user_id: str | None = None
) -> Record | None:
    """Return a generation row (only the user's when ``user_id`` is given)."""
    query = sa.select(avatar_generations).where(_g.id == generation_id)
    if user_id is not None:
        query = query.where(_g.user_id == user_id)
    return connection.execute(query).mappings().first()


def claim(engine: sa.Engine, generation_id: str, claim_id: str, lease: timedelta) -> bool:
    """Take a pending generation (or one whose previous claim lapsed) for one attempt."""
    now = datetime.now(UTC)
    statement = (
        sa.update(avatar_generations)
        .where(
            _g.id == generation_id,
            sa.or_(
                _g.status == "pending",
                sa.and_(_g.status == "processing", _g.claimed_until < now),
            ),
        )
        .values(
            status="processing",
            claim_id=claim_id,
            claimed_until=now + lease,
            attempts=_g.attempts + 1,
            started_at=sa.func.coalesce(_g.started_at, now),
            updated_at=now,
        )
    )
    with engine.begin() as connection:
        return connection.execute(statement).rowcount == 1


def release_claim(
    engine: sa.Engine, generation_id: str, claim_id: str, code: str, message: str
) -> bool:
    """Put a generation back to pending after an attempt that will be retried."""
    statement = (
        sa.update(avatar_generations)
        .where(_g.id == generation_id, _g.status == "processing", _g.claim_id == claim_id)
        .values(
            status="pending",
            claim_id=None,
            claimed_until=None,
            error_code=code,
            error_message=message[:MAX_ERROR_MESSAGE],
            updated_at=datetime.now(UTC),
        )
    )
    with engine.begin() as connection:
        return connection.execute(statement).rowcount == 1


def fail(
    engine: sa.Engine,
    generation_id: str,
    code: str,
    message: str,
    *,
    claim_id: str | None = None,
) -> Failed:
    """Mark an open generation failed (only under ``claim_id`` when given)."""
    now = datetime.now(UTC)
    statement = sa.update(avatar_generations).where(
        _g.id == generation_id, _g.status.in_(OPEN_STATUSES)
    )
    if claim_id is not None:
        statement = statement.where(_g.claim_id == claim_id)
    statement = statement.values(
        status="failed",
        error_code=code,
        error_message=message[:MAX_ERROR_MESSAGE],
        claim_id=None,
        claimed_until=None,
        updated_at=now,
        completed_at=now,
    ).returning(_g.hold_id)
    with engine.begin() as connection:
        row = connection.execute(statement).first()
    return Failed(row is not None, None if row is None else row.hold_id)


def _completion(now: datetime) -> dict[str, object]:
    return {
        "status": "completed",
        "claim_id": None,
        "claimed_until": None,
        "error_code": None,
        "error_message": None,
        "updated_at": now,
        "completed_at": now,
    }


def complete_with_avatar(
    engine: sa.Engine, generation_id: str, claim_id: str, avatar: Record
) -> bool:
    """Insert the generated avatar and mark its generation ``completed``, if the claim holds.

    One transaction: the generation is never ``completed`` without its avatar, nor the
    avatar visible while its generation can still fail. The hold is captured afterwards
    (a crash in between is settled by the redelivery). Return False (and write nothing)
    when another delivery took the generation over, or it was failed meanwhile (say, its
    project was deleted, which then releases the hold).
    """
    statement = (
        sa.update(avatar_generations)
        .where(_g.id == generation_id, _g.status == "processing", _g.claim_id == claim_id)
        .values(avatar_id=avatar["id"], **_completion(datetime.now(UTC)))
    )
    with engine.connect() as connection, connection.begin() as transaction:
        if connection.execute(statement).rowcount != 1:
            transaction.rollback()
            return False
        connection.execute(sa.insert(avatars).values(dict(avatar)))
    return True


def complete(engine: sa.Engine, generation_id: str, claim_id: str) -> bool:
    """Mark a generation that already has its avatar ``completed``, if the claim holds.

    Only generations left by older versions (avatar attached, crashed before completing)
    need this; ``complete_with_avatar`` does both at once.
    """
    statement = (
        sa.update(avatar_generations)
        .where(
            _g.id == generation_id,
            _g.status == "processing",
            _g.claim_id == claim_id,
            _g.avatar_id.is_not(None),
        )
        .values(_completion(datetime.now(UTC)))
    )
    with engine.begin() as connection:
        return connection.execute(statement).rowcount == 1


def _unclaimed(now: datetime) -> sa.ColumnElement[bool]:
    """Open and run by nobody: pending, or processing under a lapsed claim."""
    return sa.or_(
        _g.status == "pending",
        sa.and_(_g.status == "processing", _g.claimed_until < now),
    )


def expire_stalled(
    engine: sa.Engine,
    now: datetime,
    created_before: datetime,
    message: str,
    *,
    generation_id: str | None = None,
) -> list[tuple[str, str | None]]:
    """Fail (``EXPIRED``) every unclaimed generation without avatar created before a time.

    Only ``generation_id`` when given. Return ``(id, hold_id)`` of each generation failed
    here, for its hold to be released.
    """
    statement = sa.update(avatar_generations).where(
        _unclaimed(now), _g.avatar_id.is_(None), _g.created_at < created_before
    )
    if generation_id is not None:
        statement = statement.where(_g.id == generation_id)
    statement = statement.values(
        status="failed",
        error_code="EXPIRED",
        error_message=message[:MAX_ERROR_MESSAGE],
        claim_id=None,
        claimed_until=None,
        updated_at=now,
        completed_at=now,
    ).returning(_g.id, _g.hold_id)
    with engine.begin() as connection:
        return [(row.id, row.hold_id) for row in connection.execute(statement)]


def requeue_stalled(engine: sa.Engine, now: datetime, untouched_since: datetime) -> list[str]:
    """Hand back every generation whose claim lapsed or that waited since a time; return ids.

    A lapsed claim is cleared (the generation goes back to ``pending``, so the message the
    caller enqueues can claim it, and the stale attempt cannot finish). ``updated_at`` is
    set to ``now``, so a generation is requeued once per period, also by concurrent callers.
    """
    statement = (
        sa.update(avatar_generations)
        .where(
            sa.or_(
                sa.and_(_g.status == "processing", _g.claimed_until < now),
                sa.and_(_g.status == "pending", _g.updated_at < untouched_since),
            )
        )
        .values(status="pending", claim_id=None, claimed_until=None, updated_at=now)
        .returning(_g.id)
    )
    with engine.begin() as connection:
        return list(connection.execute(statement).scalars())


def set_error_message(engine: sa.Engine, generation_id: str, code: str, message: str) -> None:
    """Reword the error of a failed generation (once what happened to its hold is known)."""
    statement = (
        sa.update(avatar_generations)
        .where(_g.id == generation_id, _g.status == "failed", _g.error_code == code)
        .values(error_message=message[:MAX_ERROR_MESSAGE])
    )
    with engine.begin() as connection:
        connection.execute(statement)
