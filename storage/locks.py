"""Cross-process locks for replicas sharing one PostgreSQL database.

``hold(database, name)`` takes a session-level advisory lock and keeps it until the block
ends (or the process dies, when PostgreSQL frees it). SQLite deployments are one process by
design, so there the lock is always granted.

Why one dedicated lock connection per ``Database``. A session advisory lock lives as long as
the session that took it, so whoever holds a lock pins a connection. When each ``hold`` took
its own pooled connection, a poll pinned one for its whole run while needing a second for its
writes: fifteen polls at start drained a ten-connection pool and commands waited 30 s for a
connection. Here every lock of the process lives on one long-lived session of its own, outside
the pool (``SessionLocks``), so locks cost one connection in all, however many are held; the
pool is left to the work. Lock rows with leases were the other option: they survive a dropped
connection, but need a renewal loop per holder and a clock to trust, where PostgreSQL already
frees a dead session's advisory locks by itself.

What sharing one session changes, and how it is kept right:

* advisory locks are re-entrant within a session, so two holders in this process would both
  be granted the same lock; ``SessionLocks`` refuses a name it already holds, as a second
  session would;
* one connection runs one statement at a time: statements queue on a mutex (they take
  microseconds) and each has a deadline, so a dead link is found in seconds;
* if the connection fails, every lock of the process is gone at once: the connection is
  dropped, the holders' ``Held.confirm()`` answers False from then on, and the next ``hold``
  opens a fresh session. A leader must therefore ``confirm()`` its lock regularly and stop
  leading when it cannot (``bot.telegram.lifecycle``, ``bot.slack.lifecycle``). A poll does not
  re-check: its lock only keeps two replicas from fetching the same source at once, and its
  writes are idempotent upserts.

The lock session asks the server for TCP keepalives (see ``storage.db.create_lock_engine``),
so that a replica cut off without a goodbye loses its locks within about half a minute rather
than the operating system's two hours.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger("signpost.locks")

STATEMENT_SECONDS = 5.0  # a lock statement slower than this means the link is in trouble
CONFIRM_TIMEOUT = 1.5  # how long a holder waits for the answer to "is it still mine?"

# pg_locks shows a bigint advisory key as two unsigned halves: classid (high), objid (low).
_HELD_BY_ANYONE = text(
    "SELECT classid::bigint, objid::bigint FROM pg_locks "
    "WHERE locktype = 'advisory' AND granted AND objsubid = 1"
)
_HELD_BY_ME = text(
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1 "
    "AND pid = pg_backend_pid() AND classid::bigint = :high AND objid::bigint = :low"
)


class LockedDatabase(Protocol):
    """What the lock functions need of ``storage.db.Database`` (named here, not imported:
    the database module builds ``SessionLocks``, so importing it back would make a circle)."""

    @property
    def dialect(self) -> str: ...

    schema: str | None
    engine: AsyncEngine
    locks: SessionLocks


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for a lock name."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def _halves(key: int) -> tuple[int, int]:
    return (key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF


def _schema_key(schema: str | None, name: str) -> int:
    # Advisory locks belong to the database, not the schema: name the schema in the key so
    # deployments (and test runs) sharing one database in different schemas never collide.
    return lock_key(f"{schema or 'public'}:{name}")


@dataclass(slots=True, eq=False)
class Held:
    """The answer of ``hold``: true when the lock is ours. ``confirm()`` asks again."""

    name: str
    granted: bool
    key: int = 0
    locks: SessionLocks | None = None  # None: a lock that needs no server (SQLite)
    generation: int = 0

    def __bool__(self) -> bool:
        return self.granted

    async def confirm(self, within: float = CONFIRM_TIMEOUT) -> bool:
        """True while the lock is still ours; False once the session that held it is gone
        or cannot answer ``within`` seconds (then it is dropped, so this stays False)."""
        if not self.granted:
            return False
        if self.locks is None:
            return True
        return await self.locks.confirm(self, within)


class SessionLocks:
    """One PostgreSQL session, opened on first use, that holds this process's advisory locks."""

    def __init__(self, engine: Callable[[], AsyncEngine], schema: str | None) -> None:
        self._make_engine = engine
        self._engine: AsyncEngine | None = None
        self.schema = schema
        self._conn: AsyncConnection | None = None
        self._socket: Any = None  # the asyncpg connection under ``_conn``
        self._generation = 0
        self._held: set[str] = set()
        self._mutex = asyncio.Lock()

    @property
    def held(self) -> frozenset[str]:
        """The names this process holds now."""
        return frozenset(self._held)

    async def acquire(self, name: str) -> Held:
        """Try once to take ``name``; never waits for another holder."""
        key = _schema_key(self.schema, name)
        if name in self._held:
            return Held(name, False, key)
        async with self._statement(STATEMENT_SECONDS) as conn:
            got = bool(await conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}))
            generation = self._generation
        if not got or name in self._held or generation != self._generation:
            if got:  # another holder here won while we waited (granted again: re-entrant)
                await self._unlock(key, generation)
            return Held(name, False, key)
        self._held.add(name)
        return Held(name, True, key, self, generation)

    async def release(self, held: Held) -> None:
        """Give the lock back; nothing to do if its session is already gone."""
        if not held.granted or held.generation != self._generation:
            return
        self._held.discard(held.name)
        await self._unlock(held.key, held.generation)

    async def confirm(self, held: Held, within: float) -> bool:
        if held.generation != self._generation or held.name not in self._held:
            return False
        high, low = _halves(held.key)
        try:
            async with self._statement(within) as conn:
                mine = await conn.scalar(_HELD_BY_ME, {"high": high, "low": low})
        except Exception as error:  # any failure: the lock can no longer be vouched for
            log.warning(
                "could not confirm lock %s (%s): its session is dropped",
                held.name,
                type(getattr(error, "orig", None) or error).__name__,
            )
            return False
        return bool(mine) and held.generation == self._generation

    async def close(self) -> None:
        """Drop the session (freeing every lock) and the engine behind it."""
        await self._drop(self._conn)
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    async def _unlock(self, key: int, generation: int) -> None:
        if generation != self._generation:
            return
        with contextlib.suppress(Exception):  # a failed unlock drops the session: freed too
            async with self._statement(STATEMENT_SECONDS) as conn:
                await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})

    @asynccontextmanager
    async def _statement(self, seconds: float) -> AsyncIterator[AsyncConnection]:
        """The lock session, one statement at a time, within ``seconds`` (queueing included).

        An error or an overrun drops the session, since its state is then unknown (an overrun
        in the queue means the statement ahead hangs); a caller cancelled while it was only
        queueing leaves it alone. The overrun of a running statement is not a cancellation:
        asyncpg answers that by sending the server a cancel request and waiting for it, on
        the very link that went silent. A watchdog closes the socket instead, and the
        statement fails at once."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        try:
            async with asyncio.timeout_at(deadline):
                await self._mutex.acquire()
        except TimeoutError:
            await self._drop(self._conn)
            raise
        conn = None
        try:
            async with asyncio.timeout_at(deadline):
                conn = await self._connection()
            watchdog = loop.call_at(deadline, self._kill, conn)
            try:
                yield conn
            finally:
                watchdog.cancel()
        except BaseException:
            await self._drop(conn)
            raise
        finally:
            self._mutex.release()

    async def _connection(self) -> AsyncConnection:
        if self._conn is None or self._conn.closed or self._conn.invalidated:
            if self._engine is None:
                self._engine = self._make_engine()
            conn = await self._engine.connect()
            self._conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            self._socket = (await conn.get_raw_connection()).driver_connection
        return self._conn

    def _kill(self, conn: AsyncConnection) -> None:
        """Close the session's socket now, without a word to the server (which frees the
        locks when it sees the connection go, or when its keepalives give up on it)."""
        if conn is self._conn and self._socket is not None:
            with contextlib.suppress(Exception):
                self._socket.terminate()

    async def _drop(self, conn: AsyncConnection | None) -> None:
        """Forget ``conn`` (if it is still the session) and every lock it held."""
        if conn is None or conn is not self._conn:
            return
        self._kill(conn)  # SQLAlchemy's invalidate would say goodbye first, and wait
        self._conn = self._socket = None
        self._generation += 1
        if self._held:
            log.warning("advisory locks lost with their session: %s", ", ".join(self._held))
        self._held.clear()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(1.0):
                await conn.invalidate()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(1.0):
                await conn.close()


async def held_locks(database: LockedDatabase, names: Iterable[str]) -> set[str]:
    """Which of the locks ``names`` some session holds now (none on SQLite, where locks are
    not taken). Health checks use it to tell "another replica leads" from "nobody does"."""
    wanted = {name: _schema_key(database.schema, name) for name in names}
    if database.dialect != "postgresql" or not wanted:
        return set()
    async with database.engine.connect() as conn:
        held = {tuple(row) for row in (await conn.execute(_HELD_BY_ANYONE)).all()}
    return {name for name, key in wanted.items() if _halves(key) in held}


@asynccontextmanager
async def hold(database: LockedDatabase, name: str) -> AsyncIterator[Held]:
    """Try once to take the lock; yield a ``Held`` (true when ours), release it on exit."""
    if database.dialect != "postgresql":
        yield Held(name, True)
        return
    held = await database.locks.acquire(name)
    try:
        yield held
    finally:
        await database.locks.release(held)
