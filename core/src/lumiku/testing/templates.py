"""Test databases copied from migrated templates: migrate once per session, copy per test.

Most of a test's set-up used to be creating a database and running the migrations. Here a
template is migrated once for each distinct set of migration sources and copied for every
test that wants that schema: SQLite by copying the template file, PostgreSQL with
``CREATE DATABASE ... TEMPLATE``. A set of sources asked for only once (a plugin a test
writes to a temporary folder) is migrated in place instead, because building a template
would cost more than it saves: the template is built the second time a set is asked for.

Names carry a random run id, so pytest runs sharing one PostgreSQL server never meet; a
session drops its databases and templates when it ends.
"""

from __future__ import annotations

import abc
import collections
import shutil
import sqlite3
import threading
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import attrs
import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from lumiku.db import migrate
from lumiku.db.engine import create_engine
from lumiku.db.migrate import MigrationSource

__all__ = ["PostgresDatabases", "ScratchDatabase", "SqliteDatabases", "TestDatabases"]

SourcesKey = tuple[tuple[str, str], ...]


def sources_key(sources: Sequence[MigrationSource]) -> SourcesKey:
    """Return what identifies a schema: each branch and where its revisions live."""
    return tuple(sorted((source.branch, str(source.location.resolve())) for source in sources))


def migrate_url(url: str, sources: Sequence[MigrationSource]) -> None:
    """Upgrade the database at ``url`` to the heads of ``sources`` and close its connections."""
    engine = create_engine(url)
    try:
        migrate.upgrade(engine, sources)
    finally:
        engine.dispose()


class TestDatabases(abc.ABC):
    """The throwaway databases of one test session, on one backend."""

    __test__ = False  # not a test class, despite the name

    def __init__(self) -> None:
        self._asked: collections.Counter[SourcesKey] = collections.Counter()
        self._templates: dict[SourcesKey, str] = {}
        self._lock = threading.Lock()

    def scratch(self, directory: Path) -> ScratchDatabase:
        """Return a database for one test, created when first needed (files in ``directory``)."""
        return ScratchDatabase(self._new_url(directory), self)

    @contextmanager
    def migrated(self, directory: Path, sources: Sequence[MigrationSource]) -> Iterator[str]:
        """Yield the URL of a new database at the heads of ``sources``; drop it after."""
        database = self.scratch(directory)
        database.ensure(sources)
        try:
            yield database.url
        finally:
            database.drop()

    def create(self, url: str, sources: Sequence[MigrationSource] | None) -> None:
        """Create the database at ``url``: empty, or at the heads of ``sources``."""
        if sources is None:
            self._create_empty(url)
            return
        template = self._template_for(sources)
        if template is None:
            self._create_empty(url)
            migrate_url(url, sources)
        else:
            self._copy(template, url)

    def _template_for(self, sources: Sequence[MigrationSource]) -> str | None:
        key = sources_key(sources)
        with self._lock:
            self._asked[key] += 1
            template = self._templates.get(key)
            if template is None and self._asked[key] >= 2:
                template = self._new_template_url(len(self._templates))
                self._create_empty(template)
                migrate_url(template, sources)
                self._templates[key] = template
            return template

    def release(self, url: str) -> None:
        """Drop a test's database (PostgreSQL drops it in the background)."""
        self._drop(url)

    def close(self) -> None:
        """Drop the templates (the per-test databases were released by their tests)."""
        with self._lock:
            templates, self._templates = list(self._templates.values()), {}
        for template in templates:
            self._drop(template)

    @abc.abstractmethod
    def exists(self, url: str) -> bool:
        """Return whether the database at ``url`` exists."""

    @abc.abstractmethod
    def _new_url(self, directory: Path) -> str: ...

    @abc.abstractmethod
    def _new_template_url(self, number: int) -> str: ...

    @abc.abstractmethod
    def _create_empty(self, url: str) -> None: ...

    @abc.abstractmethod
    def _copy(self, template: str, url: str) -> None: ...

    @abc.abstractmethod
    def _drop(self, url: str) -> None: ...


@attrs.define
class ScratchDatabase:
    """One test's database, created on first need: empty, or migrated from a template.

    Its URL is known at once (to put in an environment); the database itself is created by
    :meth:`ensure`, which the kit's app builder calls with the app's migration sources.
    """

    url: str
    owner: TestDatabases = attrs.field(repr=False)
    created: bool = False

    def ensure(self, sources: Sequence[MigrationSource] | None = None) -> bool:
        """Create the database unless it exists; return whether this call migrated it.

        With ``sources`` the new database is at their heads; without, it is empty. A database
        that already exists (made by an earlier call, or by SQLite on a first connection)
        is left as it is, and ``False`` tells the caller to run the migrations itself.
        """
        if self.created or self.owner.exists(self.url):
            self.created = True
            return False
        self.owner.create(self.url, sources)
        self.created = True
        return sources is not None

    def drop(self) -> None:
        """Drop the database if it was created."""
        if self.created:
            self.owner.release(self.url)
            self.created = False


class SqliteDatabases(TestDatabases):
    """SQLite files; templates live in ``template_dir`` and are copied page by page."""

    def __init__(self, template_dir: Path) -> None:
        super().__init__()
        self._template_dir = template_dir

    def _new_url(self, directory: Path) -> str:
        return f"sqlite:///{directory / f'lumiku-{uuid.uuid4().hex[:8]}.db'}"

    def _new_template_url(self, number: int) -> str:
        return f"sqlite:///{self._template_dir / f'template-{number}.db'}"

    def exists(self, url: str) -> bool:
        """Return whether the SQLite file exists."""
        return _sqlite_path(url).exists()

    def _create_empty(self, url: str) -> None:
        path = _sqlite_path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        sqlite3.connect(path).close()

    def _copy(self, template: str, url: str) -> None:
        # The backup API copies a consistent image even if a WAL file were left behind.
        source = sqlite3.connect(_sqlite_path(template))
        target = sqlite3.connect(_sqlite_path(url))
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()

    def _drop(self, url: str) -> None:
        path = _sqlite_path(url)
        for suffix in ("", "-wal", "-shm"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)

    def close(self) -> None:
        """Remove the template files."""
        super().close()
        shutil.rmtree(self._template_dir, ignore_errors=True)


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database:
        raise ValueError(f"{url!r} names no SQLite file")
    return Path(database)


class PostgresDatabases(TestDatabases):
    """Databases on a PostgreSQL server, created and dropped through ``admin_url``.

    ``CREATE DATABASE`` waits for the server to write and sync the copy, which is most of a
    test's set-up on a busy disk. So copies of a template are made ahead on a background
    thread (``spares`` per template) and a test's copy is a spare renamed, which is
    instant. Drops run in the background too; :meth:`close` waits for them, then drops the
    spares left and the templates.
    """

    def __init__(self, admin_url: str, *, spares: int = 3) -> None:
        super().__init__()
        self._admin_url = admin_url
        self._run = uuid.uuid4().hex[:10]
        self._count = 0
        self._spares = spares
        self._ready: dict[str, collections.deque[Future[str]]] = {}
        # Copies made side by side share the server's disk syncs: several threads make
        # them much faster than one.
        self._cloner = ThreadPoolExecutor(max_workers=spares, thread_name_prefix="lumiku-clonedb")
        self._dropper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lumiku-dropdb")
        self._drops: list[Future[None]] = []
        self._live: set[str] = set()  # the test databases created and not yet dropped

    @property
    def run_id(self) -> str:
        """Return the random part every database name of this session carries."""
        return self._run

    def _new_url(self, directory: Path) -> str:
        return self._url(self._new_name("lumiku_test"))

    def _new_name(self, prefix: str) -> str:
        with self._lock:
            self._count += 1
            return f"{prefix}_{self._run}_{self._count}"

    def _new_template_url(self, number: int) -> str:
        return self._url(f"lumiku_template_{self._run}_{number}")

    def _url(self, name: str) -> str:
        base, _, _ = self._admin_url.rpartition("/")
        return "postgresql+psycopg://" + f"{base}/{name}".split("://", 1)[1]

    def exists(self, url: str) -> bool:
        """Return whether the server has the database."""
        with psycopg.connect(self._admin_url, autocommit=True) as connection:
            found = connection.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (_name(url),)
            ).fetchone()
        return found is not None

    def _create_empty(self, url: str) -> None:
        self._execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(_name(url))))
        self._live.add(_name(url))

    def _copy(self, template: str, url: str) -> None:
        ready = self._ready.setdefault(template, collections.deque())
        while len(ready) <= self._spares:
            ready.append(self._cloner.submit(self._clone, template))
        spare = ready.popleft().result()
        ready.append(self._cloner.submit(self._clone, template))
        self._execute(
            sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                sql.Identifier(spare), sql.Identifier(_name(url))
            )
        )
        self._live.add(_name(url))

    def _clone(self, template: str) -> str:
        name = self._new_name("lumiku_spare")
        self._execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(_name(template))
            )
        )
        return name

    def release(self, url: str) -> None:
        """Drop the database on the background thread."""
        self._drops.append(self._dropper.submit(self._drop, url))

    def _drop(self, url: str) -> None:
        self._live.discard(_name(url))
        self._execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(_name(url)))
        )

    def _execute(self, statement: sql.Composed) -> None:
        with psycopg.connect(self._admin_url, autocommit=True) as connection:
            connection.execute(statement)

    def close(self) -> None:
        """Wait for the work under way, then drop the spares, what tests left, the templates."""
        self._cloner.shutdown(wait=True)
        spares = [future for ready in self._ready.values() for future in ready]
        self._ready = {}
        for future in spares:
            if future.exception() is None:
                self._drop(self._url(future.result()))
        self._dropper.shutdown(wait=True)
        for name in sorted(self._live):  # a test that did not drop its database
            self._drop(self._url(name))
        errors = [drop.exception() for drop in self._drops if drop.exception() is not None]
        errors += [future.exception() for future in spares if future.exception() is not None]
        super().close()
        if errors:
            raise RuntimeError(f"{len(errors)} test databases could not be dropped") from errors[0]


def _name(url: str) -> str:
    database = make_url(url).database
    if not database:
        raise ValueError(f"{url!r} names no database")
    return database
