"""Engines, connection settings and migrations.

``Database`` owns the async engine. SQLite gets WAL, foreign keys and a busy timeout on every
connection; PostgreSQL is used as is. Migrations run through Alembic on a connection we hand
it, so that upgrading works inside an already running event loop.

On PostgreSQL a ``Database`` uses ``pool_size + max_overflow`` pooled connections at most
(``capacity``), plus one more of its own for advisory locks (``storage.locks``): a lock is
held for minutes, so it must not sit in the pool that commands and writes queue for.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from storage.locks import SessionLocks

ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}
POOL_SIZE = 5
MAX_OVERFLOW = 5
# The lock session asks the server to probe an idle link after 10 s, every 5 s, and to give
# up after 3 unanswered probes: a replica cut off silently loses its locks in about 25 s.
LOCK_SESSION_SETTINGS = {
    "application_name": "signpost-locks",
    "tcp_keepalives_idle": "10",
    "tcp_keepalives_interval": "5",
    "tcp_keepalives_count": "3",
}
LOCK_CONNECT_SECONDS = 5.0


def async_url(url: str | URL) -> URL:
    """Turn ``sqlite:///x.db`` / ``postgresql://...`` into their async-driver forms."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend not in ASYNC_DRIVERS:
        raise ValueError(f"unsupported database {backend!r}; use sqlite or postgresql")
    return parsed.set(drivername=ASYNC_DRIVERS[backend])


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _server_settings(schema: str | None) -> dict[str, str]:
    # asyncpg reuses prepared statements, and after five runs PostgreSQL may switch a query
    # to a generic plan; for full-text search that plan guesses 500 hits for any tsquery and
    # rechecks tens of thousands of rows. Custom plans keep the planner's estimates real.
    settings = {"plan_cache_mode": "force_custom_plan"}
    if schema:
        settings["search_path"] = schema
    return settings


def create_engine(
    url: str | URL,
    *,
    echo: bool = False,
    schema: str | None = None,
    pool_size: int = POOL_SIZE,
    max_overflow: int = MAX_OVERFLOW,
) -> AsyncEngine:
    """An async engine with the connection settings each backend needs.

    ``schema`` (PostgreSQL only) sets the search path, so that tests and side-by-side
    deployments can live in their own schema of one database.
    """
    target = async_url(url)
    kwargs: dict = {"echo": echo}
    if target.get_backend_name() == "sqlite":
        database = target.database or ""
        if database and database != ":memory:":
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        # One connection per use: aiosqlite connections are threads, and WAL lets readers
        # and the single writer share the file without a pool.
        kwargs["poolclass"] = NullPool
        engine = create_async_engine(target, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.update(pool_pre_ping=True, pool_size=pool_size, max_overflow=max_overflow)
    kwargs["connect_args"] = {"server_settings": _server_settings(schema)}
    return create_async_engine(target, **kwargs)


def create_lock_engine(url: str | URL, *, schema: str | None = None) -> AsyncEngine:
    """The engine behind ``storage.locks.SessionLocks``: PostgreSQL, no pool (its one session
    is opened and closed by hand), a connect deadline, and server-side keepalives."""
    server_settings = _server_settings(schema) | LOCK_SESSION_SETTINGS
    return create_async_engine(
        async_url(url),
        poolclass=NullPool,
        connect_args={"server_settings": server_settings, "timeout": LOCK_CONNECT_SECONDS},
    )


# Full-text search objects are made by hand in migrations and are not in the models.
SEARCH_OBJECTS = {"opportunities_fts", "search_vector", "ix_opportunities_search_vector"}


def include_name(name: str | None, type_: str, parent_names: dict) -> bool:
    """Alembic's filter: compare everything except the full-text search objects."""
    if name is None:
        return True
    return not (name in SEARCH_OBJECTS or name.startswith("opportunities_fts"))


def alembic_config() -> Config:
    """The Alembic configuration, pointing at the migrations shipped in the package."""
    config = Config()
    location = Path(__file__).with_name("migrations")
    config.set_main_option("script_location", str(location))
    return config


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head() or ""


def _upgrade(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


class Database:
    """The engine and a session factory; storage modules build on this, nothing else does."""

    def __init__(
        self,
        url: str | URL,
        *,
        echo: bool = False,
        schema: str | None = None,
        pool_size: int = POOL_SIZE,
        max_overflow: int = MAX_OVERFLOW,
    ) -> None:
        self.url = async_url(url)
        self.schema = schema
        self.engine = create_engine(
            self.url, echo=echo, schema=schema, pool_size=pool_size, max_overflow=max_overflow
        )
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # SQLite needs no lock session (one process by design): it is never opened there.
        self.locks = SessionLocks(lambda: create_lock_engine(self.url, schema=schema), schema)
        self.capacity = pool_size + max_overflow if self.dialect == "postgresql" else None

    @property
    def dialect(self) -> str:
        return self.url.get_backend_name()

    async def upgrade(self) -> str:
        """Apply every pending migration; safe to call on every start (idempotent)."""
        async with self.engine.begin() as conn:
            if self.dialect == "postgresql":
                # Two replicas starting together must not race to create the same tables.
                from sqlalchemy import text

                await conn.execute(text("SELECT pg_advisory_xact_lock(727274001)"))
            await conn.run_sync(_upgrade)
        return await self.current_revision() or ""

    async def current_revision(self) -> str | None:
        async with self.engine.connect() as conn:
            return await conn.run_sync(_current)

    async def ping(self) -> bool:
        """True when the database answers a trivial query within two seconds."""
        from sqlalchemy import text

        try:
            async with asyncio.timeout(2), self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    async def dispose(self) -> None:
        await self.locks.close()
        await self.engine.dispose()
