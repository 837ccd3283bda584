"""Core tables used by the services (users, tokens, idempotent requests).

Migrations define the schema; these ``Table`` objects describe it for queries and must
match ``lumiku/db/migrations/versions``. A test compares the two.
"""

from __future__ import annotations

import sqlalchemy as sa

from lumiku.db.metadata import metadata
from lumiku.db.types import UTCDateTime

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("email", sa.String(320), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("name", sa.String(100), nullable=True),
    sa.Column("role", sa.String(16), nullable=False, server_default="user"),
    sa.Column("tokens_valid_after", UTCDateTime(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)

revoked_tokens = sa.Table(
    "revoked_tokens",
    metadata,
    sa.Column("jti", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.String(36), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False, index=True),
)

idempotent_requests = sa.Table(
    "idempotent_requests",
    metadata,
    sa.Column("user_id", sa.String(36), primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("route", sa.String(255), nullable=False),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("status_code", sa.Integer, nullable=True),
    sa.Column("response_body", sa.LargeBinary, nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    # The attempt that runs under the key (see lumiku.idempotency), and until when the
    # request running it holds the key (NULL: free for a retry to take at once).
    sa.Column("attempt", sa.Integer, nullable=False, server_default="0"),
    sa.Column("lease_expires_at", UTCDateTime(), nullable=True),
    # Headers a replay repeats (JSON object), e.g. the Location of a 202.
    sa.Column("response_headers", sa.Text, nullable=True),
)
