"""Pose requests: users ask for poses the library lacks; admins review them.

A user has at most one open request (``pending``, ``approved``, ``in_progress``) per name,
compared casefolded with runs of spaces folded (a partial unique index enforces it, so two
concurrent submissions cannot both pass). Other users may ask for the same pose.

Review transitions (anything else is 409):
``pending -> approved | in_progress | rejected``, ``approved -> in_progress | completed |
rejected``, ``in_progress -> completed | rejected``; ``completed`` and ``rejected`` are final.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Final
from urllib.parse import urlsplit

import attrs
import sqlalchemy as sa

from lumiku import (
    Conflict,
    NotFound,
    Page,
    PageQuery,
    ValidationFailed,
    fetch_page,
    field,
    newest_first,
)
from lumiku_pose_generator.library import CATEGORY_SLUGS, find_pose
from lumiku_pose_generator.models import REQUEST_STATUSES, Record, pose_requests

TRANSITIONS: Final[Mapping[str, tuple[str, ...]]] = {
    "approved": ("pending",),
    "in_progress": ("pending", "approved"),
    "completed": ("approved", "in_progress"),
    "rejected": ("pending", "approved", "in_progress"),
}
"""For each target status, the statuses a request may reach it from."""


@attrs.frozen
class PoseRequestBody:
    """A request for a pose the library lacks; ``category`` is a category slug."""

    pose_name: str = field(min_length=1, max_length=100, strip=True, example="Holding a mug")
    description: str = field(min_length=1, max_length=500, strip=True)
    category: str | None = field(default=None, choices=CATEGORY_SLUGS)
    use_case: str | None = field(default=None, max_length=500, strip=True)
    reference_image_url: str | None = field(default=None, max_length=2048, pattern=r"\S+")

    @reference_image_url.validator
    def _http_url(self, _attribute: attrs.Attribute[str | None], value: str | None) -> None:
        if value is None:
            return
        try:
            parts = urlsplit(value)
            valid = parts.scheme in ("http", "https") and bool(parts.hostname)
        except ValueError:  # a malformed IPv6 host or port
            valid = False
        if not valid:
            raise ValueError("must be an http or https URL")


@attrs.frozen
class RequestQuery(PageQuery):
    """Paging, and optionally one status."""

    status: str | None = field(default=None, choices=REQUEST_STATUSES)


@attrs.frozen
class RejectBody:
    """Why a request is rejected (shown to the user)."""

    notes: str = field(min_length=1, max_length=1000, strip=True)


@attrs.frozen
class CompleteBody:
    """The library pose that fulfils the request, and optional notes."""

    pose_id: str = field(min_length=1, max_length=120)
    notes: str | None = field(default=None, max_length=1000, strip=True)


def name_key(name: str) -> str:
    """Return the form two request names are compared in (casefolded, spaces folded)."""
    return " ".join(name.casefold().split())


def create_request(engine: sa.Engine, user_id: str, body: PoseRequestBody, now: datetime) -> Record:
    """Record a pending request of ``user_id``; ``Conflict`` (409) if they already have an
    open request with that name."""
    row = {
        "id": str(uuid.uuid4()),
        "user_id": user_id,
        "pose_name": body.pose_name,
        "name_key": name_key(body.pose_name)[:100],
        "description": body.description,
        "category_id": body.category,
        "use_case": body.use_case or None,
        "reference_image_url": body.reference_image_url,
        "status": "pending",
        "admin_notes": None,
        "reviewed_by": None,
        "reviewed_at": None,
        "completed_pose_id": None,
        "created_at": now,
        "updated_at": now,
    }
    try:
        with engine.begin() as connection:
            connection.execute(sa.insert(pose_requests).values(row))
    except sa.exc.IntegrityError as error:
        raise Conflict(
            "You already have an open request for a pose with this name.",
            details={"poseName": body.pose_name},
        ) from error
    return row


def request_page(
    connection: sa.Connection, query: RequestQuery, user_id: str | None
) -> Page[Record]:
    """Return a page of requests, newest first: ``user_id``'s, or everyone's (``None``)."""
    select = sa.select(pose_requests)
    if user_id is not None:
        select = select.where(pose_requests.c.user_id == user_id)
    if query.status is not None:
        select = select.where(pose_requests.c.status == query.status)
    ordering = newest_first(pose_requests.c.created_at, pose_requests.c.id)
    return fetch_page(connection, select, query, ordering)


def find_request(connection: sa.Connection, request_id: str) -> Record:
    """Return the request ``request_id``; ``NotFound`` (404) if there is none."""
    row = (
        connection.execute(sa.select(pose_requests).where(pose_requests.c.id == request_id))
        .mappings()
        .one_or_none()
    )
    if row is None:
        raise NotFound("No such pose request.", details={"requestId": request_id})
    return row


def review(
    engine: sa.Engine,
    request_id: str,
    status: str,
    *,
    admin_id: str,
    now: datetime,
    notes: str | None = None,
    pose_id: str | None = None,
) -> Record:
    """Move the request to ``status`` if its current status allows it (a conditional
    update: of two concurrent reviews one wins, the other is 409).

    Raise ``NotFound`` (404) for an unknown request, ``ValidationFailed`` (422) when
    ``pose_id`` names no library pose, ``Conflict`` (409) for a transition not allowed.
    """
    sources = TRANSITIONS[status]
    table = pose_requests.c
    with engine.begin() as connection:
        if pose_id is not None and find_pose(connection, pose_id) is None:
            raise ValidationFailed(
                "The pose that fulfils the request must be in the library.",
                details={"fields": {"poseId": "is not a library pose"}},
            )
        values: dict[str, object] = {
            "status": status,
            "reviewed_by": admin_id,
            "reviewed_at": now,
            "updated_at": now,
        }
        if notes is not None:
            values["admin_notes"] = notes
        if pose_id is not None:
            values["completed_pose_id"] = pose_id
        changed = connection.execute(
            sa.update(pose_requests)
            .where(table.id == request_id, table.status.in_(sources))
            .values(**values)
        ).rowcount
        current = find_request(connection, request_id)
    if not changed:
        raise Conflict(
            f"A {current['status']} request cannot become {status}.",
            details={"status": current["status"], "allowedFrom": list(sources)},
        )
    return current
