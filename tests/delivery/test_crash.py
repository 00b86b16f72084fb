"""A worker killed with ``kill -9`` in the middle of a fan-out, then a restart: nothing lost.

The fake Bot API runs here; the workers (``tests/delivery/worker.py``) are separate Python
processes building the real Store, PTB ``Bot``, ``TelegramChannel`` and ``Dispatcher`` with
2-second leases. 1,000 alerts for 1,000 private chats are queued through the store API; once
a few hundred have arrived the first worker is killed at a moment it holds leases (frozen with
SIGSTOP while that is checked, then SIGKILL), a second one is started, and when the outbox
holds nothing pending or leased, every chat must have its alert; duplicates (counted per chat
and text at the fake) may only come from rows caught between "Telegram accepted it" and "the
outbox recorded it" when the kill came.

That window holds at most one row per send in flight, so the bound is kills x concurrency:
a worker sending one message at a time may duplicate at most one alert per kill, and one
running the production concurrency (32 chats at once) at most 32 (a dozen or so is typical
here). Both are checked, on SQLite and on PostgreSQL.

Rates are raised (the fake's and the channel's alike, 250 a second per worker) so that a run
takes about 20 s, not the 35 s that 1,000 messages need at Telegram's 30 a second; sending at
the real rates, and the 429 count there, is what ``bench/dispatch.py`` measures.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from storage.store import Store
from tests.delivery.worker import (
    FAN_OUT_TITLE,
    WorkerProcess,
    deliveries,
    dispatch_args,
    seed_fan_out,
    unfinished,
    until,
)
from tests.helpers.databases import PostgresSchema
from tests.helpers.fake_telegram import FakeTelegramServer, TelegramLimits

CHATS = 1000
KILL_AFTER = 350  # alerts at the fake before the kill: "some hundreds"
# Far above the workers' 250 a second, so the fake never refuses: a 429 here would be a bug in
# the throttle, not a limit being tested. A private chat's burst of 3 lets a duplicate through.
FAKE_LIMITS = TelegramLimits(
    overall_per_second=2000, overall_burst=200, private_per_second=10, private_burst=3
)


@dataclass
class Target:
    url: str
    schema: str | None
    store: Store


@pytest.fixture
async def target(database_url: str) -> AsyncIterator[Target]:
    """An upgraded, empty database the workers can open too (a private PostgreSQL schema)."""
    schema = PostgresSchema(database_url) if database_url.startswith("postgresql") else None
    if schema is not None:
        await schema.create()
    store = Store.from_url(database_url, schema=schema.name if schema else None)
    await store.upgrade()
    try:
        yield Target(database_url, schema.name if schema else None, store)
    finally:
        await store.close()
        if schema is not None:
            await schema.drop()


async def emptied(store: Store) -> bool:
    return await unfinished(store) == 0


async def outbox_counts(store: Store) -> dict[str, int]:
    async with store.unit() as unit:
        return await unit.outbox.counts()


@pytest.mark.parametrize("concurrency", [1, 32], ids=["one-at-a-time", "production-32"])
async def test_kill_9_mid_fan_out_then_restart_delivers_everything(
    target: Target, tmp_path: Path, concurrency: int
) -> None:
    kills = 1
    async with FakeTelegramServer(limits=FAKE_LIMITS) as fake:
        chat_ids = await seed_fan_out(target.store, CHATS)
        args = [
            *dispatch_args(fake.base_url, fake.token, target.url, target.schema),
            *("--concurrency", str(concurrency), "--lease", "2"),
        ]
        first = WorkerProcess.start("first", tmp_path, *args)
        second = None
        try:
            await until(
                lambda: len(fake.sent_messages()) >= KILL_AFTER or not first.running,
                30,
                f"{KILL_AFTER} alerts from the first worker",
                first,
            )
            assert first.running, first.log()
            held = await first.kill_mid_batch(target.store)
            at_kill = len(fake.sent_messages())
            assert at_kill < CHATS, "the first worker finished before the kill"
            assert held > 0  # it died holding leases, which must expire and be taken again

            second = WorkerProcess.start("second", tmp_path, *args)
            await until(
                lambda: emptied(target.store),
                60,
                "the restarted worker to empty the outbox",
                first,
                second,
            )
        finally:
            if second is not None:
                await second.stop()
            await first.stop()
        counts = deliveries(fake)
        rate_limited = fake.rate_limited

    assert {chat for chat, _ in counts} == set(chat_ids), "some chat never got its alert"
    [text] = {text for _, text in counts}
    assert FAN_OUT_TITLE in text and "Why: mental health" in text
    duplicates = sum(n - 1 for n in counts.values())
    assert duplicates <= kills * concurrency, (
        f"{duplicates} duplicates after {kills} kill(s) at concurrency {concurrency}"
    )
    assert await outbox_counts(target.store) == {"sent": CHATS}
    assert rate_limited == 0
    # The restarted worker took over the killed one's leases: it sent what was left.
    assert second is not None and second.outcomes("sent") >= CHATS - at_kill
    assert "Traceback" not in second.err.read_text(), second.log()
