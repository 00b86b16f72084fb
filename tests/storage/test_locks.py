"""Advisory locks on their own session: granted once per name, no pooled connection pinned,
and a lost session noticed by ``confirm()`` (issue 13, points 1 and 6)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from storage.locks import _halves, _schema_key, hold
from storage.store import Store


async def lock_backend(store: Store, name: str) -> int | None:
    """The server process id of the session holding ``name``, if any."""
    high, low = _halves(_schema_key(store.database.schema, name))
    query = text(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1 "
        "AND classid::bigint = :high AND objid::bigint = :low"
    )
    async with store.database.engine.connect() as conn:
        return await conn.scalar(query, {"high": high, "low": low})


async def terminate(store: Store, pid: int) -> None:
    async with store.database.engine.connect() as conn:
        await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        await conn.commit()


@pytest.fixture
async def other(store: Store):
    """A second ``Database`` on the same server and schema: another replica."""
    if store.dialect != "postgresql":
        yield None
        return
    replica = Store(type(store.database)(store.database.url, schema=store.database.schema))
    yield replica
    await replica.close()


async def test_a_lock_is_granted_once_and_confirmed_while_held(store: Store, other) -> None:
    async with hold(store.database, "poll:x") as mine:
        assert mine and await mine.confirm()
        if store.dialect != "postgresql":
            return  # one process by design: always granted
        async with hold(store.database, "poll:x") as again:  # the same process
            assert not again and not await again.confirm()
        async with hold(other.database, "poll:x") as theirs:  # another replica
            assert not theirs
    async with hold(other.database, "poll:x") as theirs:  # released: free for anyone
        assert theirs


@pytest.mark.postgres
async def test_forty_held_locks_pin_no_pooled_connection_and_one_session(store: Store) -> None:
    if store.dialect != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's")
    pool = store.database.engine.pool
    async with asyncio.TaskGroup() as group:
        entered = asyncio.Event()
        release = asyncio.Event()
        count = 0

        async def holder(n: int) -> None:
            nonlocal count
            async with hold(store.database, f"poll:{n}") as mine:
                assert mine
                count += 1
                if count == 40:
                    entered.set()
                await release.wait()

        for n in range(40):
            group.create_task(holder(n))
        await asyncio.wait_for(entered.wait(), 10)
        assert pool.checkedout() == 0  # the pool is left to the work
        pids = {await lock_backend(store, f"poll:{n}") for n in range(40)}
        assert len(pids) == 1 and None not in pids
        assert store.database.locks.held == {f"poll:{n}" for n in range(40)}
        release.set()
    assert store.database.locks.held == frozenset()
    assert await lock_backend(store, "poll:0") is None


@pytest.mark.postgres
async def test_a_terminated_lock_session_is_noticed_and_replaced(store: Store, other) -> None:
    if store.dialect != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's")
    async with hold(store.database, "leader:telegram") as mine:
        assert mine and await mine.confirm()
        await terminate(store, await lock_backend(store, "leader:telegram"))
        assert not await mine.confirm()  # the session died: no longer ours
        assert not await mine.confirm()  # and it stays so
        async with hold(other.database, "leader:telegram") as theirs:
            assert theirs  # the server freed it, another replica took it
            async with hold(store.database, "leader:telegram") as retry:
                assert not retry  # a fresh session asks again and is refused
        async with hold(store.database, "leader:telegram") as retry:
            assert retry and await retry.confirm()
