"""The states of a generation, each change a conditional update.

``pending -> processing`` (a claim with a lease), ``processing -> pending`` (an attempt
that will be retried gives the claim back), ``pending|processing -> failed``, the avatar
attached to a ``processing`` generation (with the avatar row, in one transaction), and
``processing -> completed`` once its hold is captured. Each update names
the state it expects, and work done under a claim only lands if the claim still holds,
so concurrent or repeated deliveries of one job cannot both finish it.
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


def attach_avatar(engine: sa.Engine, generation_id: str, claim_id: str, avatar: Record) -> bool:
    """Record the generated avatar on a generation, if the claim still holds.

    The avatar row and the generation's ``avatar_id`` are written in one transaction; the
    generation stays ``processing`` until its hold is captured (``complete``). Return False
    (and write nothing) when another delivery took the generation over, or it was failed
    meanwhile (say, its project was deleted).
    """
    statement = (
        sa.update(avatar_generations)
        .where(_g.id == generation_id, _g.status == "processing", _g.claim_id == claim_id)
        .values(avatar_id=avatar["id"], updated_at=datetime.now(UTC))
    )
    with engine.connect() as connection, connection.begin() as transaction:
        if connection.execute(statement).rowcount != 1:
            transaction.rollback()
            return False
        connection.execute(sa.insert(avatars).values(dict(avatar)))
    return True


def complete(engine: sa.Engine, generation_id: str, claim_id: str) -> bool:
    """Mark a generation with an avatar ``completed``, if the claim still holds."""
    now = datetime.now(UTC)
    statement = (
        sa.update(avatar_generations)
        .where(
            _g.id == generation_id,
            _g.status == "processing",
            _g.claim_id == claim_id,
            _g.avatar_id.is_not(None),
        )
        .values(
            status="completed",
            claim_id=None,
            claimed_until=None,
            error_code=None,
            error_message=None,
            updated_at=now,
            completed_at=now,
        )
    )
    with engine.begin() as connection:
        return connection.execute(statement).rowcount == 1
