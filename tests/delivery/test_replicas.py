"""Several replicas on one PostgreSQL database: shared delivery, a crash, a leader handover.

Replicas are separate OS processes (``tests/delivery/worker.py``) talking to the fake Bot API
that runs here. They share the outbox through ``FOR UPDATE SKIP LOCKED`` leases and elect the
one long-polling replica with the ``leader:telegram`` advisory lock, so the checks here are:

* two workers share 1,000 alerts: each alert arrives exactly once, and both sent some;
* one of two is killed (``kill -9``) in the middle of a batch: the survivor takes the expired
  leases and finishes; a duplicate is possible only for the row caught between "Telegram
  accepted it" and "the outbox recorded it" (the workers send one message at a time here, so
  at most one; ``test_crash.py`` covers the bound at the production concurrency);
* two transports elect one long-poller; when it is killed the other takes over.

Workers take 25-row batches with 2-second leases, the same kind of margin as production's
100-row batches (about 4 s at Telegram's 30 a second) against 2-minute leases: a lease must
outlast the batch it covers, and the last test shows what happens when it does not.

PostgreSQL only (SQLite deployments are one process by design): skipped when the server is
absent, failed instead under ``SIGNPOST_REQUIRE_POSTGRES=1``.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from bot.clock import FrozenClock
from bot.core.model import Chat
from bot.core.pipeline import Vocabulary
from bot.delivery.dispatcher import Dispatcher
from bot.telegram.channel import SendLimits, TelegramChannel
from bot.telegram.lifecycle import LEADER_LOCK, RETRY_SECONDS
from storage.locks import held_locks
from storage.store import Store
from tests.delivery.worker import (
    WorkerProcess,
    deliveries,
    dispatch_args,
    seed_fan_out,
    unfinished,
    until,
)
from tests.helpers.builders import NOW, add_opportunity, opportunity
from tests.helpers.databases import PostgresSchema, require_postgres
from tests.helpers.fake_telegram import FakeTelegramServer, TelegramLimits, telegram_bot

pytestmark = pytest.mark.postgres

CHATS = 1000
KILL_AFTER = 350
FAKE_LIMITS = TelegramLimits(
    overall_per_second=2000, overall_burst=200, private_per_second=10, private_burst=3
)
TAKEOVER_SECONDS = 30.0
TEST_RETRY_SECONDS = 0.5


@pytest.fixture(autouse=True)
def _timedelta_durations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
def postgres_url() -> str:
    return require_postgres()


@dataclass
class Target:
    url: str
    schema: str
    store: Store


@pytest.fixture
async def target(postgres_url: str) -> AsyncIterator[Target]:
    schema = PostgresSchema(postgres_url)
    await schema.create()
    store = Store.from_url(postgres_url, schema=schema.name)
    await store.upgrade()
    try:
        yield Target(postgres_url, schema.name, store)
    finally:
        await store.close()
        await schema.drop()


def worker_args(fake: FakeTelegramServer, target: Target, concurrency: int) -> list[str]:
    return [
        *dispatch_args(fake.base_url, fake.token, target.url, target.schema),
        *("--lease", "2", "--batch", "25", "--concurrency", str(concurrency)),
    ]


async def emptied(store: Store) -> bool:
    return await unfinished(store) == 0


async def outbox_counts(store: Store) -> dict[str, int]:
    async with store.unit() as unit:
        return await unit.outbox.counts()


LATE_RECORD = "was sent after its lease passed to another worker"


# --------------------------------------------------------------------------- sharing the work


async def test_two_workers_share_1000_alerts_each_sent_exactly_once(
    target: Target, tmp_path: Path
) -> None:
    async with FakeTelegramServer(limits=FAKE_LIMITS) as fake:
        args = worker_args(fake, target, concurrency=32)
        workers = [WorkerProcess.start(name, tmp_path, *args) for name in ("one", "two")]
        try:
            await until(lambda: all(w.owner for w in workers), 30, "both ready", *workers)
            chat_ids = await seed_fan_out(target.store, CHATS)
            await until(lambda: emptied(target.store), 60, "an empty outbox", *workers)
        finally:
            for worker in workers:
                await worker.stop()
        counts = deliveries(fake)
        rate_limited = fake.rate_limited

    assert {chat for chat, _ in counts} == set(chat_ids)
    assert all(n == 1 for n in counts.values()), "an alert arrived twice"
    assert await outbox_counts(target.store) == {"sent": CHATS}
    shares = [worker.outcomes("sent") for worker in workers]
    assert sum(shares) == CHATS
    assert all(share > 0 for share in shares), f"one worker did everything: {shares}"
    assert rate_limited == 0
    for worker in workers:
        log = worker.err.read_text()
        assert LATE_RECORD not in log and "Traceback" not in log, worker.log()


async def test_a_survivor_finishes_the_work_of_a_replica_killed_mid_batch(
    target: Target, tmp_path: Path
) -> None:
    async with FakeTelegramServer(limits=FAKE_LIMITS) as fake:
        args = worker_args(fake, target, concurrency=1)
        victim, survivor = (WorkerProcess.start(n, tmp_path, *args) for n in ("victim", "survivor"))
        try:
            await until(lambda: victim.owner and survivor.owner, 30, "both ready", victim, survivor)
            chat_ids = await seed_fan_out(target.store, CHATS)
            await until(
                lambda: len(fake.sent_messages()) >= KILL_AFTER, 30, "some hundreds", victim
            )
            held = await victim.kill_mid_batch(target.store)
            assert held > 0
            victim_recorded = victim.outcomes("sent")
            await until(lambda: emptied(target.store), 60, "an empty outbox", survivor)
        finally:
            await survivor.stop()
            await victim.stop()
        counts = deliveries(fake)

    assert {chat for chat, _ in counts} == set(chat_ids), "an alert was lost"
    duplicates = sum(n - 1 for n in counts.values())
    assert duplicates <= 1  # one kill, one message in flight at a time
    assert await outbox_counts(target.store) == {"sent": CHATS}
    assert victim_recorded > 0
    assert survivor.outcomes("sent") == CHATS - victim_recorded  # its leases included
    assert "Traceback" not in survivor.err.read_text(), survivor.log()


# --------------------------------------------------------------------------- the leader


async def test_one_replica_long_polls_and_a_survivor_takes_over_after_kill_9(
    target: Target, tmp_path: Path
) -> None:
    """Takeover here is within ``TEST_RETRY_SECONDS`` of the kill, because PostgreSQL frees a
    dead session's advisory lock when its connection drops. In production the follower asks
    every ``RETRY_SECONDS`` (10 s), so a survivor leads within 10 s plus the time PostgreSQL
    takes to notice the connection is gone; PTB's long poll (10 s) only delays the dead
    leader's last getUpdates, which the fake answers with a Conflict nobody reads."""
    assert RETRY_SECONDS == 10.0
    async with FakeTelegramServer(limits=TelegramLimits(enabled=False)) as fake:
        args = [
            *("leader", "--database", target.url, "--schema", target.schema),
            *("--telegram", fake.base_url, "--token", fake.token),
            *("--retry", str(TEST_RETRY_SECONDS)),
        ]
        replicas = [WorkerProcess.start(name, tmp_path, *args) for name in ("a", "b")]
        try:
            await until(lambda: any(r.said("leading") for r in replicas), 30, "a leader", *replicas)
            await asyncio.sleep(4 * TEST_RETRY_SECONDS)  # the other asks again, and again
            [leader] = [r for r in replicas if r.said("leading")]
            [follower] = [r for r in replicas if r is not leader]
            assert follower.running and follower.said("following")
            assert await held_locks(target.store.database, [LEADER_LOCK]) == {LEADER_LOCK}
            await answered(fake, 5, leader, follower)
            assert [c for c in fake.calls_to("getUpdates") if c.status == 409] == []

            leader.kill()
            killed_at = time.monotonic()
            await until(
                lambda: follower.said("leading"),
                TAKEOVER_SECONDS,
                "the follower to take over",
                follower,
            )
            takeover = time.monotonic() - killed_at
            await answered(fake, 6, follower)
            # Only the dead leader's last long poll was told it had been superseded.
            conflicts = [c for c in fake.calls_to("getUpdates") if c.status == 409]
            assert all(call.time < killed_at for call in conflicts)
            assert len(conflicts) <= 1
        finally:
            codes = [await replica.stop() for replica in replicas]
    assert takeover < TAKEOVER_SECONDS
    assert codes[replicas.index(follower)] == 0, follower.log()  # it stops cleanly
    assert "polling failed" not in follower.err.read_text(), follower.log()


async def answered(fake: FakeTelegramServer, user: int, *replicas: WorkerProcess) -> None:
    fake.push_update(fake.build.private_message(user, "/help"))
    await until(lambda: fake.sent_messages(user), 15, f"an answer to user {user}", *replicas)
    assert fake.sent_messages(user)[0].plain_text.startswith("What I can do:")


# --------------------------------------------------------------------------- a lease too short


async def test_a_batch_that_outlasts_its_lease_is_not_sent_twice_by_live_replicas(
    target: Target,
) -> None:
    """Sixty alerts to one group take over three minutes at 18 a minute, longer than the
    2-minute lease. Here each alert replica A records moves the frozen clock on a minute, so
    its 6-row batch outlasts the lease after three; replica B (its own process in production,
    its own dispatcher and ``Bot`` here) then claims the rows A has not reached yet."""
    store, vocabulary, clock = target.store, Vocabulary.load(), FrozenClock(NOW)
    group = -1000000000100
    ids = [
        await add_opportunity(
            store, opportunity(f"g{n}", title=f"Group call {n}", closes_at=NOW + timedelta(30))
        )
        for n in range(6)
    ]
    async with store.unit() as unit:
        chat = await unit.chats.ensure(Chat("telegram", str(group), kind="supergroup"), now=NOW)
        for item_id in ids:
            await unit.outbox.enqueue(
                chat_id=chat.id,
                opportunity_id=item_id,
                reason="new",
                dedupe_key=f"new:{item_id}",
                now=NOW,
            )
    # A group's per-minute rule, scaled to five a second so that the batch takes about a second.
    limits = SendLimits(group_per_minute=300, group_burst=1)
    async with (
        FakeTelegramServer(limits=TelegramLimits(enabled=False)) as fake,
        telegram_bot(fake) as bot_a,
        telegram_bot(fake) as bot_b,
    ):

        def a_minute_per_alert(platform: str, outcome: str, reason: str) -> None:
            clock.advance(timedelta(minutes=1))

        def replica(bot, **options) -> Dispatcher:
            channel = TelegramChannel(bot, send_limits=limits)
            lease = timedelta(minutes=2)
            return Dispatcher(
                store, clock, {"telegram": channel}, vocabulary, lease=lease, **options
            )

        a, b = replica(bot_a, observe=a_minute_per_alert), replica(bot_b)
        first = asyncio.create_task(a.run_once())
        await until(lambda: clock.now() >= NOW + timedelta(minutes=3), 10, "A's third alert")
        await b.run_once()
        await first
        counts = Counter(m.plain_text for m in fake.sent_messages(group))

    assert len(counts) == 6
    assert all(n == 1 for n in counts.values()), f"sent twice: {counts}"
