"""Cross-process locks for replicas sharing one PostgreSQL database.

``hold(name)`` takes a session-level advisory lock on its own connection and keeps it until
the block ends (or the process dies, when PostgreSQL frees it). SQLite deployments are one
process by design, so there the lock is always granted.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text

from storage.db import Database


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for a lock name."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@asynccontextmanager
async def hold(database: Database, name: str) -> AsyncIterator[bool]:
    """Try once to take the lock; yield whether we hold it, release it on exit."""
    if database.dialect != "postgresql":
        yield True
        return
    key = lock_key(name)
    async with database.engine.connect() as conn:
        got = bool(await conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}))
        await conn.commit()
        try:
            yield got
        finally:
            if got:
                await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                await conn.commit()
