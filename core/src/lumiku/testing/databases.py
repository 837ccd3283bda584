"""Throwaway databases for tests: a fresh SQLite file or a fresh PostgreSQL database per run."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql

DEFAULT_POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def postgres_admin_url() -> str:
    """Return the URL used to create and drop test databases (``LUMIKU_TEST_POSTGRES_URL``)."""
    return os.environ.get("LUMIKU_TEST_POSTGRES_URL", DEFAULT_POSTGRES_ADMIN_URL)


def postgres_available() -> bool:
    """Return whether the test PostgreSQL server answers."""
    try:
        with psycopg.connect(postgres_admin_url(), connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def _with_database(admin_url: str, name: str) -> str:
    base, _, _ = admin_url.rpartition("/")
    return f"{base}/{name}"


@contextmanager
def temporary_postgres_database(prefix: str = "lumiku_test") -> Iterator[str]:
    """Create a uniquely named PostgreSQL database, yield its SQLAlchemy URL, drop it after."""
    admin = postgres_admin_url()
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield "postgresql+psycopg://" + _with_database(admin, name).split("://", 1)[1]
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def temporary_sqlite_url(directory: Path) -> str:
    """Return a SQLAlchemy URL for a new SQLite file inside ``directory``."""
    return f"sqlite:///{directory / f'lumiku-{uuid.uuid4().hex[:8]}.db'}"


def redis_url() -> str:
    """Return the Redis URL tests use (``LUMIKU_TEST_REDIS_URL``)."""
    return os.environ.get("LUMIKU_TEST_REDIS_URL", DEFAULT_REDIS_URL)


def redis_available() -> bool:
    """Return whether the test Redis server answers."""
    import redis

    try:
        client = redis.Redis.from_url(redis_url(), socket_connect_timeout=2)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except redis.RedisError:
        return False
