"""Cross-process locks for replicas sharing one PostgreSQL database.

``hold(name)`` takes a session-level advisory lock on its own connection and keeps it until
the block ends (or the process dies, when PostgreSQL frees it). SQLite deployments are one
process by design, so there the lock is always granted.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from sqlalchemy import text

from storage.db import Database


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for a lock name."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def _database_key(database: Database, name: str) -> int:
    # Advisory locks belong to the database, not the schema: name the schema in the key so
    # deployments (and test runs) sharing one database in different schemas never collide.
    return lock_key(f"{database.schema or 'public'}:{name}")


async def held_locks(database: Database, names: Iterable[str]) -> set[str]:
    """Which of the locks ``names`` some session holds now (none on SQLite, where locks are
    not taken). Health checks use it to tell "another replica leads" from "nobody does"."""
    wanted = {name: _database_key(database, name) for name in names}
    if database.dialect != "postgresql" or not wanted:
        return set()
    # pg_locks shows a bigint advisory key as two unsigned halves: classid (high), objid (low).
    query = text(
        "SELECT classid::bigint, objid::bigint FROM pg_locks "
        "WHERE locktype = 'advisory' AND granted AND objsubid = 1"
    )
    async with database.engine.connect() as conn:
        held = {tuple(row) for row in (await conn.execute(query)).all()}
    return {
        name for name, key in wanted.items() if ((key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF) in held
    }


@asynccontextmanager
async def hold(database: Database, name: str) -> AsyncIterator[bool]:
    """Try once to take the lock; yield whether we hold it, release it on exit."""
    if database.dialect != "postgresql":
        yield True
        return
    key = _database_key(database, name)
    async with database.engine.connect() as conn:
        got = bool(await conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}))
        await conn.commit()
        try:
            yield got
        finally:
            if got:
                await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                await conn.commit()
