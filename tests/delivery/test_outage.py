"""No avoidable duplicates: a database outage mid-fan-out, and a failed part of a split message.

Everything goes through the real clients (python-telegram-bot, slack_sdk) to the fake
platform servers, on SQLite and PostgreSQL:

* the step that records a send raises ``OperationalError`` a few times (SQLite's "database is
  locked", PostgreSQL's dropped connection): the message went out, so the dispatcher keeps it
  and retries the record, and nothing is sent twice even once the lease has run out;
* on PostgreSQL, the store's connections go through a loopback proxy that is cut in the middle
  of a 200-chat fan-out and restored a moment later: sends in flight complete, their records
  wait for the database, and every chat has its alert exactly once;
* a 40-item digest becomes several messages and the third fails with a 500: the retry sends
  the third and later parts only, and the first part's id stays the row's message id.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections import Counter
from datetime import timedelta
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from bot.clock import FrozenClock, SystemClock
from bot.core.model import Chat
from bot.core.pipeline import Vocabulary
from bot.delivery.dispatcher import Dispatcher
from bot.slack.channel import SlackChannel
from bot.telegram.channel import SendLimits, TelegramChannel
from storage.models import OutboxItem
from storage.repos.outbox import OutboxRepo
from storage.store import Store
from tests.delivery.db_proxy import CuttableProxy
from tests.delivery.worker import seed_fan_out, unfinished, until
from tests.helpers.builders import NOW, add_opportunity, opportunity
from tests.helpers.databases import PostgresSchema, require_postgres
from tests.helpers.fake_slack import FakeSlackServer, SlackLimits, slack_client
from tests.helpers.fake_telegram import FakeTelegramServer, TelegramLimits, telegram_bot
from tests.helpers.limits import UNTHROTTLED_TELEGRAM as FAST

QUICK_RETRIES = {"record_backoff": (0.01, 0.05), "record_patience": 30.0}


@pytest.fixture(autouse=True)
def _timedelta_durations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture(scope="module")
def vocabulary() -> Vocabulary:
    return Vocabulary.load()


def database_error(dialect: str) -> OperationalError:
    cause = (
        sqlite3.OperationalError("database is locked")
        if dialect == "sqlite"
        else ConnectionResetError("connection was closed in the middle of operation")
    )
    return OperationalError("UPDATE outbox SET status=?", {}, cause)


def failing_records(monkeypatch: pytest.MonkeyPatch, dialect: str, times: int) -> list[int]:
    """``OutboxRepo.mark_sent`` raises ``times`` times, then works; returns the call log."""
    real = OutboxRepo.mark_sent
    calls: list[int] = []

    async def flaky(self, row_id, owner, **kwargs):
        calls.append(row_id)
        if len(calls) <= times:
            raise database_error(dialect)
        return await real(self, row_id, owner, **kwargs)

    monkeypatch.setattr(OutboxRepo, "mark_sent", flaky)
    return calls


async def queue_alerts(store: Store, chats: list[Chat]) -> list[int]:
    item_id = await add_opportunity(
        store, opportunity("outage", title="Peer support pilot", closes_at=NOW + timedelta(30))
    )
    ids = []
    async with store.unit() as unit:
        for where in chats:
            chat = await unit.chats.ensure(where, now=NOW)
            ids.append(chat.id)
            await unit.outbox.enqueue(
                chat_id=chat.id,
                opportunity_id=item_id,
                reason="new",
                dedupe_key=f"new:{item_id}",
                now=NOW,
                payload={"why": "peer support"},
            )
    return ids


async def statuses(store: Store) -> dict[str, int]:
    async with store.unit() as unit:
        return await unit.outbox.counts()


async def rows(store: Store) -> list[OutboxItem]:
    async with store.unit() as unit:
        return list(await unit.session.scalars(select(OutboxItem).order_by(OutboxItem.id)))


# --------------------------------------------------------------------------- failed records


async def test_a_send_whose_record_fails_is_recorded_late_not_sent_again_telegram(
    store: Store, vocabulary: Vocabulary, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    clock = FrozenClock(NOW)
    calls = failing_records(monkeypatch, store.dialect, times=3)
    await queue_alerts(store, [Chat("telegram", str(500 + n)) for n in range(5)])
    async with FakeTelegramServer(limits=TelegramLimits(enabled=False)) as fake:
        async with telegram_bot(fake) as bot:
            channel = TelegramChannel(bot, send_limits=FAST)
            dispatcher = Dispatcher(
                store, clock, {"telegram": channel}, vocabulary, concurrency=1, **QUICK_RETRIES
            )
            with caplog.at_level(logging.WARNING, "signpost.dispatch"):
                assert await dispatcher.run_once() == 5
            clock.advance(timedelta(minutes=5))  # any lease left behind has long run out
            assert await dispatcher.run_once() == 0
        per_chat = Counter(m.chat_id for m in fake.sent_messages())

    assert per_chat == {500 + n: 1 for n in range(5)}, "an alert was sent twice"
    assert len(calls) == 5 + 3  # three refused records, each tried again
    assert await statuses(store) == {"sent": 5}
    sent_ids = {row.platform_message_id for row in await rows(store)}
    assert None not in sent_ids
    assert sum("could not record the send of" in r.message for r in caplog.records) == 3


async def test_a_send_whose_record_fails_is_recorded_late_not_sent_again_slack(
    store: Store, vocabulary: Vocabulary, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FrozenClock(NOW)
    failing_records(monkeypatch, store.dialect, times=2)
    await queue_alerts(store, [Chat("slack", f"C0{n}", kind="channel") for n in range(3)])
    async with FakeSlackServer(limits=SlackLimits(enabled=False)) as slack:
        channel = SlackChannel(
            slack_client(slack, timeout=2), per_channel_per_second=1000, workspace_per_minute=1e6
        )
        dispatcher = Dispatcher(store, clock, {"slack": channel}, vocabulary, **QUICK_RETRIES)
        assert await dispatcher.run_once() == 3
        clock.advance(timedelta(minutes=5))
        assert await dispatcher.run_once() == 0
        per_channel = Counter(m.channel for m in slack.posted_messages())

    assert per_channel == {"C00": 1, "C01": 1, "C02": 1}
    assert await statuses(store) == {"sent": 3}


async def test_a_record_that_never_gets_through_leaves_the_row_to_its_lease(
    store: Store, vocabulary: Vocabulary, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    """Patience has an end: the row is then left leased (at least once beats never), and the
    dispatcher carries on with other chats instead of dying."""
    failing_records(monkeypatch, store.dialect, times=10_000)
    await queue_alerts(store, [Chat("telegram", "600"), Chat("telegram", "601")])
    async with FakeTelegramServer(limits=TelegramLimits(enabled=False)) as fake:
        async with telegram_bot(fake) as bot:
            channel = TelegramChannel(bot, send_limits=FAST)
            dispatcher = Dispatcher(
                store,
                FrozenClock(NOW),
                {"telegram": channel},
                vocabulary,
                record_backoff=(0.01, 0.01),
                record_patience=0.05,
            )
            with caplog.at_level(logging.ERROR, "signpost.dispatch"):
                assert await dispatcher.run_once() == 2
        assert len(fake.sent_messages()) == 2
    assert await statuses(store) == {"leased": 2}
    assert any("could not be processed" in r.message for r in caplog.records)


# --------------------------------------------------------------------------- split messages


async def digest_of(store: Store, where: Chat, items: int) -> int:
    ids = []
    for n in range(items):
        title = f"Call {n:02d}: evaluation of peer-support and wellbeing services, region {n}"
        item = opportunity(f"digest-{n}", title=title, closes_at=NOW + timedelta(days=10 + n))
        ids.append(await add_opportunity(store, item))
    async with store.unit() as unit:
        chat = await unit.chats.ensure(where, now=NOW)
        await unit.outbox.enqueue(
            chat_id=chat.id,
            reason="digest",
            dedupe_key="digest:2026-03-02",
            now=NOW,
            payload={"ids": ids, "title": "Daily digest"},
        )
    return chat.id


class FailingThirdTelegram(TelegramChannel):
    """The real channel; the fake Bot API answers its third sendMessage with a 500."""

    def __init__(self, bot, fake: FakeTelegramServer) -> None:
        super().__init__(bot, send_limits=FAST, max_chars=1000)
        self.fake, self.calls = fake, 0

    async def _send_message(self, chat, message, reply_to):
        self.calls += 1
        if self.calls == 3:
            self.fake.fail_next(1, status=500, method="sendMessage")
        return await super()._send_message(chat, message, reply_to)


async def test_a_failed_part_of_a_split_telegram_message_resumes_after_the_last_sent(
    store: Store, vocabulary: Vocabulary
) -> None:
    clock = FrozenClock(NOW)
    chat_id = await digest_of(store, Chat("telegram", "-700", kind="group"), 30)
    async with FakeTelegramServer(limits=TelegramLimits(enabled=False)) as fake:
        async with telegram_bot(fake) as bot:
            channel = FailingThirdTelegram(bot, fake)
            dispatcher = Dispatcher(store, clock, {"telegram": channel}, vocabulary)
            assert await dispatcher.run_once() == 1
            [waiting] = await rows(store)
            assert (waiting.status, waiting.attempts) == ("pending", 1)
            first_two = [str(m.message_id) for m in fake.sent_messages(-700)]
            assert len(first_two) == 2 and waiting.sent_parts == first_two
            clock.advance(timedelta(seconds=15))  # the backoff after one failure
            assert await dispatcher.run_once() == 1
        messages = fake.sent_messages(-700)
        failed = [c for c in fake.calls_to("sendMessage") if c.status == 500]

    assert len(failed) == 1
    assert len(messages) >= 4, "the digest was not split into several messages"
    shown = "\n".join(m.plain_text for m in messages)
    for n in range(30):
        assert shown.count(f"Call {n:02d}: evaluation") == 1, f"item {n} not shown exactly once"
    assert Counter(m.plain_text for m in messages).most_common(1)[0][1] == 1
    [sent] = await rows(store)
    assert (sent.status, sent.chat_id) == ("sent", chat_id)
    assert sent.platform_message_id == first_two[0]  # updates thread under the first part
    assert sent.sent_parts == [str(m.message_id) for m in messages]


class FailingSecondSlack(SlackChannel):
    def __init__(self, client, fake: FakeSlackServer) -> None:
        super().__init__(client, per_channel_per_second=1000, workspace_per_minute=1e6)
        self.fake, self.calls = fake, 0

    async def _post(self, channel, message, thread, reply):
        self.calls += 1
        if self.calls == 2:
            self.fake.fail_next(1, status=503, method="chat.postMessage")
        return await super()._post(channel, message, thread, reply)


async def test_a_failed_part_of_a_split_slack_message_resumes_after_the_last_sent(
    store: Store, vocabulary: Vocabulary
) -> None:
    clock = FrozenClock(NOW)
    await digest_of(store, Chat("slack", "C0DIGEST", kind="channel"), 40)
    async with FakeSlackServer(limits=SlackLimits(enabled=False)) as slack:
        channel = FailingSecondSlack(slack_client(slack, timeout=2), slack)
        dispatcher = Dispatcher(store, clock, {"slack": channel}, vocabulary)
        assert await dispatcher.run_once() == 1
        assert len(slack.posted_messages("C0DIGEST")) == 1
        clock.advance(timedelta(seconds=15))
        assert await dispatcher.run_once() == 1
        posted = slack.posted_messages("C0DIGEST")

    assert len(posted) >= 2, "the digest was not split into several messages"
    shown = "\n".join(str(m.blocks) for m in posted)
    for n in range(40):
        assert shown.count(f"Call {n:02d}: evaluation") == 1, f"item {n} not shown exactly once"
    [sent] = await rows(store)
    assert sent.status == "sent" and sent.platform_message_id == posted[0].ts


# --------------------------------------------------------------------------- a real outage


def through(url: str, port: int) -> str:
    parts = urlsplit(url)
    netloc = f"{parts.username}@127.0.0.1:{port}" if parts.username else f"127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=netloc))


@pytest.fixture
def postgres_url() -> str:
    return require_postgres()


@pytest.mark.postgres
async def test_a_postgres_outage_mid_fan_out_sends_nothing_twice(
    postgres_url: str, vocabulary: Vocabulary, caplog
) -> None:
    """The proxy is cut once 60 of 200 alerts have arrived and restored 1.5 s later, with
    32 chats in flight and 2-second leases (so a send recorded only when its lease has run out
    would be claimed and sent again: what happened before the records were retried)."""
    url = postgres_url
    schema = PostgresSchema(url)
    await schema.create()
    target = urlsplit(url)
    proxy = await CuttableProxy(target.hostname or "127.0.0.1", target.port or 5432).start()
    direct = Store.from_url(url, schema=schema.name)
    await direct.upgrade()
    proxied = Store.from_url(through(url, proxy.port), schema=schema.name)
    stop = asyncio.Event()
    try:
        async with FakeTelegramServer(limits=TelegramLimits(enabled=False)) as fake:
            chat_ids = await seed_fan_out(direct, 200)
            async with telegram_bot(fake) as bot:
                # 300 a second: a few dozen sends are always waiting their turn, in flight.
                limits = SendLimits(overall_per_second=300, overall_burst=10)
                channel = TelegramChannel(bot, send_limits=limits)
                dispatcher = Dispatcher(
                    proxied,
                    SystemClock(),
                    {"telegram": channel},
                    vocabulary,
                    lease=timedelta(seconds=2),
                    record_backoff=(0.05, 0.2),
                )
                with caplog.at_level(logging.WARNING, "signpost.dispatch"):
                    running = asyncio.create_task(dispatcher.run_forever(stop, idle=0.05))
                    await until(lambda: len(fake.sent_messages()) >= 60, 30, "60 alerts")
                    await proxy.cut()
                    at_cut = len(fake.sent_messages())
                    await asyncio.sleep(1.5)
                    await proxy.restore()
                    await until(lambda: _emptied(direct), 60, "an empty outbox")
                    await asyncio.sleep(2.5)  # a lease left behind would run out and resend
                    stop.set()
                    await running
            counts = Counter(m.chat_id for m in fake.sent_messages())
        assert at_cut < 200, "the fan-out finished before the outage"
        assert set(counts) == set(chat_ids), "an alert was lost"
        duplicates = sum(n - 1 for n in counts.values())
        assert duplicates == 0, f"{duplicates} duplicates after a database outage"
        assert await statuses(direct) == {"sent": 200}
        late = [r for r in caplog.records if "could not record the send of" in r.message]
        assert late, "no send was caught by the outage between the platform and the record"
    finally:
        stop.set()
        await proxied.close()
        await direct.close()
        await proxy.close()
        await schema.drop()


async def _emptied(store: Store) -> bool:
    return await unfinished(store) == 0
