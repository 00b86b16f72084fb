"""The dispatcher's decisions, driven through the real channels against the fake platforms.

``tests/delivery/test_dispatcher.py`` checks each decision with a scripted channel; here the
answer comes over HTTP from the fake Bot API or Web API, through python-telegram-bot's or
slack_sdk's own error handling and the channel's mapping, on SQLite and PostgreSQL. Time is
never waited for: the dispatcher reads a ``FrozenClock`` and the fakes a ``ManualClock``, and
both are moved together when a test says "later".
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.clock import FrozenClock
from bot.core.model import Chat
from bot.core.pipeline import Vocabulary
from bot.delivery.dispatcher import Dispatcher
from bot.slack.channel import SlackChannel
from bot.telegram.channel import GONE_MARK, TelegramChannel
from storage.models import OutboxItem
from storage.store import Store
from tests.helpers.builders import NOW, add_opportunity, opportunity
from tests.helpers.fake_slack import FakeSlackServer, SlackLimits, slack_client
from tests.helpers.fake_telegram import (
    MAX_TEXT_LENGTH,
    FakeTelegramServer,
    ManualClock,
    TelegramLimits,
    telegram_bot,
    utf16_length,
)
from tests.helpers.limits import UNTHROTTLED_TELEGRAM as FAST_TELEGRAM

FAST_SLACK = {"per_channel_per_second": 1000.0, "workspace_per_minute": 1e6}
UNLIMITED_TELEGRAM = TelegramLimits(enabled=False)
UNLIMITED_SLACK = SlackLimits(enabled=False)


@pytest.fixture(autouse=True)
def _timedelta_durations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture(scope="module")
def vocabulary() -> Vocabulary:
    return Vocabulary.load()


@dataclass
class Clocks:
    """The dispatcher's clock and the fake platform's, moved together."""

    dispatcher: FrozenClock
    platform: ManualClock

    def advance(self, seconds: float) -> None:
        self.dispatcher.advance(timedelta(seconds=seconds))
        self.platform.advance(seconds)


@pytest.fixture
def clocks() -> Clocks:
    return Clocks(FrozenClock(NOW), ManualClock())


@dataclass
class Telegram:
    """The fake Bot API and a real ``TelegramChannel`` over a real PTB ``Bot`` pointed at it."""

    fake: FakeTelegramServer
    channel: TelegramChannel


@asynccontextmanager
async def open_telegram(limits: TelegramLimits, clock: ManualClock) -> AsyncIterator[Telegram]:
    async with (
        FakeTelegramServer(limits=limits, clock=clock) as fake,
        telegram_bot(fake) as bot,
    ):
        yield Telegram(fake, TelegramChannel(bot, send_limits=FAST_TELEGRAM))


@pytest.fixture
async def telegram(clocks: Clocks) -> AsyncIterator[Telegram]:
    async with open_telegram(UNLIMITED_TELEGRAM, clocks.platform) as opened:
        yield opened


@pytest.fixture
async def slack(clocks: Clocks) -> AsyncIterator[FakeSlackServer]:
    async with FakeSlackServer(limits=UNLIMITED_SLACK, clock=clocks.platform) as server:
        yield server


def telegram_dispatcher(
    store: Store, telegram: Telegram, vocabulary: Vocabulary, clocks: Clocks, **options
) -> Dispatcher:
    channels = {"telegram": telegram.channel}
    return Dispatcher(store, clocks.dispatcher, channels, vocabulary, **options)


def slack_dispatcher(
    store: Store, slack: FakeSlackServer, vocabulary: Vocabulary, clocks: Clocks
) -> Dispatcher:
    channel = SlackChannel(slack_client(slack, timeout=2), **FAST_SLACK)
    return Dispatcher(store, clocks.dispatcher, {"slack": channel}, vocabulary)


async def queue_alerts(
    store: Store, where: Chat, count: int = 1, *, title: str = "Peer support pilot"
) -> tuple[Chat, list[int]]:
    """Store ``count`` open calls and queue a "new" alert about each for ``where``."""
    ids = []
    for n in range(count):
        item = opportunity(
            f"{title}-{n}", title=f"{title} {n}", closes_at=NOW + timedelta(days=30 + n)
        )
        ids.append(await add_opportunity(store, item))
    async with store.unit() as unit:
        chat = await unit.chats.ensure(where, now=NOW)
        for item_id in ids:
            await unit.outbox.enqueue(
                chat_id=chat.id,
                opportunity_id=item_id,
                reason="new",
                dedupe_key=f"new:{item_id}",
                now=NOW,
                payload={"why": "peer support"},
            )
    return chat, await row_ids(store, chat.id)


async def row_ids(store: Store, chat_id: int) -> list[int]:
    async with store.unit() as unit:
        query = select(OutboxItem.id).where(OutboxItem.chat_id == chat_id).order_by(OutboxItem.id)
        return list(await unit.session.scalars(query))


async def row(store: Store, row_id: int) -> OutboxItem:
    async with store.unit() as unit:
        found = await unit.outbox.get(row_id)
    assert found is not None
    return found


async def stored_chat(store: Store, chat_id: int) -> Chat:
    async with store.unit() as unit:
        found = await unit.chats.get(chat_id)
    assert found is not None
    return found


async def resume(store: Store, chat_id: int) -> None:
    async with store.unit() as unit:
        await unit.chats.resume(chat_id, NOW)


# --------------------------------------------------------------------------- Telegram


@pytest.mark.parametrize(
    ("fault", "chat_id", "kind", "reason"),
    [
        ("block", 42, "private", "Forbidden: bot was blocked by the user"),
        ("deactivate", 43, "private", "Forbidden: user is deactivated"),
        ("kick", -44, "group", "Forbidden: bot was kicked from the group chat"),
        ("lose", -1000000000045, "supergroup", "Chat not found"),  # as PTB words it
    ],
)
async def test_a_chat_telegram_refuses_is_paused_and_its_alert_waits_for_it(
    store: Store,
    telegram: Telegram,
    vocabulary: Vocabulary,
    clocks: Clocks,
    fault: str,
    chat_id: int,
    kind: str,
    reason: str,
) -> None:
    fake = telegram.fake
    getattr(fake, fault)(chat_id)
    chat, [row_id] = await queue_alerts(store, Chat("telegram", str(chat_id), kind=kind))
    dispatcher = telegram_dispatcher(store, telegram, vocabulary, clocks)

    assert await dispatcher.run_once() == 1
    paused = await stored_chat(store, chat.id)
    assert not paused.active
    assert paused.paused_reason == GONE_MARK + reason
    waiting = await row(store, row_id)
    assert (waiting.status, waiting.attempts) == ("pending", 0)  # kept, and not a failure
    clocks.advance(3600)
    assert await dispatcher.run_once() == 0  # a paused chat's alerts are not even claimed
    assert len(fake.calls_to("sendMessage")) == 1

    fake.restore(chat_id)  # the user unblocks the bot, or it is added back
    await resume(store, chat.id)
    assert await dispatcher.run_once() == 1
    [message] = fake.sent_messages(chat_id)
    assert "Peer support pilot 0" in message.plain_text
    sent = await row(store, row_id)
    assert (sent.status, sent.attempts) == ("sent", 1)
    assert sent.platform_message_id == str(message.message_id)


async def test_a_migrated_group_moves_and_the_alert_arrives_at_the_new_id(
    store: Store, telegram: Telegram, vocabulary: Vocabulary, clocks: Clocks
) -> None:
    fake = telegram.fake
    fake.migrate(-77, -1000000000077)
    chat, [row_id] = await queue_alerts(store, Chat("telegram", "-77", kind="group"))
    dispatcher = telegram_dispatcher(store, telegram, vocabulary, clocks)

    assert await dispatcher.run_once() == 1
    moved = await stored_chat(store, chat.id)
    assert (moved.platform_chat_id, moved.kind, moved.active) == (
        "-1000000000077",
        "supergroup",
        True,
    )
    assert (await row(store, row_id)).attempts == 0
    assert await dispatcher.run_once() == 1  # at once: no wait after a move

    assert fake.sent_messages(-77) == []
    [message] = fake.sent_messages(-1000000000077)
    assert "Peer support pilot 0" in message.plain_text
    assert (await row(store, row_id)).status == "sent"


@pytest.mark.parametrize(
    ("chat_id", "kind", "limits", "wait"),
    [
        (42, "private", TelegramLimits(private_per_second=0.2, private_burst=1), 5),
        (-42, "group", TelegramLimits(group_per_minute=6, group_burst=1), 10),
    ],
)
async def test_a_429_waits_exactly_retry_after_then_sends_and_counts_no_attempt(
    store: Store,
    vocabulary: Vocabulary,
    clocks: Clocks,
    chat_id: int,
    kind: str,
    limits: TelegramLimits,
    wait: int,
) -> None:
    """The fake's limits are set below the channel's throttle, so Telegram itself says no."""
    async with open_telegram(limits, clocks.platform) as telegram:
        _, (first, second) = await queue_alerts(store, Chat("telegram", str(chat_id), kind=kind), 2)
        dispatcher = telegram_dispatcher(store, telegram, vocabulary, clocks)

        assert await dispatcher.run_once() == 2
        assert telegram.fake.rate_limited == 1
        assert (await row(store, first)).status == "sent"
        waiting = await row(store, second)
        assert (waiting.status, waiting.attempts) == ("pending", 0)
        assert waiting.next_attempt_at == NOW + timedelta(seconds=wait)
        assert f"retry after {wait}" in waiting.error

        clocks.advance(wait - 0.001)
        assert await dispatcher.run_once() == 0  # not a moment early
        clocks.advance(0.001)
        assert await dispatcher.run_once() == 1
        sent = await row(store, second)
        assert (sent.status, sent.attempts) == ("sent", 1)  # the refused try was not counted
        texts = [m.plain_text for m in telegram.fake.sent_messages(chat_id)]
        assert len(texts) == 2
        assert "Peer support pilot 0" in texts[0] and "Peer support pilot 1" in texts[1]
        assert telegram.fake.rate_limited == 1


async def test_server_errors_back_off_then_dead_letter_and_tell_on_dead(
    store: Store, telegram: Telegram, vocabulary: Vocabulary, clocks: Clocks
) -> None:
    fake = telegram.fake
    for status in (500, 502, 503):
        fake.fail_next(1, status=status, method="sendMessage")
    dead: list[tuple[int, str]] = []

    async def on_dead(queued, error: str) -> None:
        dead.append((queued.id, error))

    _, [row_id] = await queue_alerts(store, Chat("telegram", "42"))
    dispatcher = telegram_dispatcher(
        store, telegram, vocabulary, clocks, max_attempts=3, on_dead=on_dead
    )

    backoffs = []
    for attempt in (1, 2):
        assert await dispatcher.run_once() == 1
        failed = await row(store, row_id)
        assert (failed.status, failed.attempts) == ("pending", attempt)
        backoff = (failed.next_attempt_at - clocks.dispatcher.now()).total_seconds()
        backoffs.append(backoff)
        clocks.advance(backoff - 1)
        assert await dispatcher.run_once() == 0  # still backing off
        clocks.advance(1)
    assert backoffs == [15, 30]  # doubling from 15 s
    assert dead == []

    assert await dispatcher.run_once() == 1
    given_up = await row(store, row_id)
    assert (given_up.status, given_up.attempts) == ("dead", 3)
    assert dead == [(row_id, given_up.error)]
    assert "Service Unavailable" in given_up.error or "503" in given_up.error
    assert fake.token not in given_up.error
    assert [c.status for c in fake.calls_to("sendMessage")] == [500, 502, 503]
    assert fake.sent_messages() == []
    clocks.advance(24 * 3600)
    assert await dispatcher.run_once() == 0  # dead stays dead


async def test_a_40_item_digest_arrives_as_several_messages_telegram_accepts(
    store: Store, telegram: Telegram, vocabulary: Vocabulary, clocks: Clocks
) -> None:
    ids = []
    for n in range(40):
        title = (
            f"Call {n:02d}: R&D <evaluation> of peer-support & wellbeing services for "
            f"“young carers” in region {n}"
        )
        item = opportunity(
            f"digest-{n}",
            title=title,
            url=f"https://funder.example/calls/{n}?a=1&b=<2>",
            funders=["National Institute for Health and Care Research"],
            closes_at=NOW + timedelta(days=10 + n),
        )
        ids.append(await add_opportunity(store, item))
    async with store.unit() as unit:
        chat = await unit.chats.ensure(Chat("telegram", "-500", kind="group"), now=NOW)
        await unit.outbox.enqueue(
            chat_id=chat.id,
            reason="digest",
            dedupe_key="digest:2026-03-02",
            now=NOW,
            payload={"ids": ids, "title": "Daily digest"},
        )
    dispatcher = telegram_dispatcher(store, telegram, vocabulary, clocks)

    assert await dispatcher.run_once() == 1

    calls = telegram.fake.calls_to("sendMessage")
    assert calls and all(call.status == 200 for call in calls)  # the fake's HTML parser agreed
    messages = telegram.fake.sent_messages(-500)
    assert len(messages) >= 2
    assert all(utf16_length(m.plain_text) <= MAX_TEXT_LENGTH for m in messages)
    shown = "\n".join(m.plain_text for m in messages)
    for n in range(40):
        heading = f"Call {n:02d}: R&D <evaluation> of peer-support"
        assert shown.count(heading) == 1  # every item once, none cut in half
    [row_id] = await row_ids(store, chat.id)
    assert (await row(store, row_id)).status == "sent"


LATER_ALERTS_BUG = (
    "BUG: after a 429, a pause or a move, the chat's other rows in the same batch stay "
    "leased until the lease (2 min) runs out, with an attempt counted, instead of following "
    "the first (retry_after, resume, the new id)"
)


async def test_a_chats_later_alerts_wait_exactly_retry_after_too(
    store: Store, vocabulary: Vocabulary, clocks: Clocks
) -> None:
    """Someone else spent the chat's budget: the first of two alerts meets the 429."""
    limits = TelegramLimits(private_per_second=0.2, private_burst=1)
    async with open_telegram(limits, clocks.platform) as telegram:
        await telegram.channel.bot.send_message(42, "another process's message")
        _, (_, second) = await queue_alerts(store, Chat("telegram", "42"), 2)
        dispatcher = telegram_dispatcher(store, telegram, vocabulary, clocks)

        assert await dispatcher.run_once() == 2
        assert telegram.fake.rate_limited == 1
        clocks.advance(5)
        await dispatcher.run_once()
        clocks.advance(5)  # the first alert's turn was at 5 s, the second's at 10 s
        await dispatcher.run_once()

        later = await row(store, second)
        assert (later.status, later.attempts) == ("sent", 1)
        assert len(telegram.fake.sent_messages(42)) == 3


async def test_a_chats_later_alerts_arrive_after_it_is_resumed_too(
    store: Store, telegram: Telegram, vocabulary: Vocabulary, clocks: Clocks
) -> None:
    telegram.fake.block(42)
    chat, (_, second) = await queue_alerts(store, Chat("telegram", "42"), 2)
    dispatcher = telegram_dispatcher(store, telegram, vocabulary, clocks)
    assert await dispatcher.run_once() == 2
    assert not (await stored_chat(store, chat.id)).active

    telegram.fake.restore(42)
    await resume(store, chat.id)
    clocks.advance(1)
    await dispatcher.run_once()

    later = await row(store, second)
    assert (later.status, later.attempts) == ("sent", 1)
    assert len(telegram.fake.sent_messages(42)) == 2


async def test_a_moved_groups_later_alerts_follow_it_at_once(
    store: Store, telegram: Telegram, vocabulary: Vocabulary, clocks: Clocks
) -> None:
    telegram.fake.migrate(-77, -1000000000077)
    _, (_, second) = await queue_alerts(store, Chat("telegram", "-77", kind="group"), 2)
    dispatcher = telegram_dispatcher(store, telegram, vocabulary, clocks)
    assert await dispatcher.run_once() == 2
    await dispatcher.run_once()

    later = await row(store, second)
    assert (later.status, later.attempts) == ("sent", 1)
    assert len(telegram.fake.sent_messages(-1000000000077)) == 2


# --------------------------------------------------------------------------- Slack


@pytest.mark.parametrize("error", ["channel_not_found", "not_in_channel", "account_inactive"])
async def test_a_slack_channel_that_cannot_receive_is_paused_and_its_alert_waits(
    store: Store, slack: FakeSlackServer, vocabulary: Vocabulary, clocks: Clocks, error: str
) -> None:
    slack.fail_channel("C0GONE", error)
    chat, [row_id] = await queue_alerts(store, Chat("slack", "C0GONE", kind="channel"))
    dispatcher = slack_dispatcher(store, slack, vocabulary, clocks)

    assert await dispatcher.run_once() == 1
    paused = await stored_chat(store, chat.id)
    assert not paused.active and error in (paused.paused_reason or "")
    waiting = await row(store, row_id)
    assert (waiting.status, waiting.attempts) == ("pending", 0)
    assert await dispatcher.run_once() == 0

    slack.restore("C0GONE")
    await resume(store, chat.id)
    assert await dispatcher.run_once() == 1
    [posted] = slack.posted_messages("C0GONE")
    assert "Peer support pilot 0" in str(posted.blocks)
    sent = await row(store, row_id)
    assert (sent.status, sent.platform_message_id) == ("sent", posted.ts)


async def test_a_slack_429_waits_exactly_retry_after(
    store: Store, vocabulary: Vocabulary, clocks: Clocks
) -> None:
    limits = SlackLimits(channel_per_second=0.2, channel_burst=1)
    async with FakeSlackServer(limits=limits, clock=clocks.platform) as slack:
        _, (first, second) = await queue_alerts(store, Chat("slack", "C0ALERTS", kind="channel"), 2)
        dispatcher = slack_dispatcher(store, slack, vocabulary, clocks)

        assert await dispatcher.run_once() == 2
        assert slack.rate_limited == 1
        [refused] = [c for c in slack.calls_to("chat.postMessage") if c.status == 429]
        assert refused.response == {"ok": False, "error": "ratelimited"}
        waiting = await row(store, second)
        assert (waiting.status, waiting.attempts) == ("pending", 0)
        assert waiting.next_attempt_at == NOW + timedelta(seconds=5)  # Slack's Retry-After

        clocks.advance(4.999)
        assert await dispatcher.run_once() == 0
        clocks.advance(0.001)
        assert await dispatcher.run_once() == 1
        assert len(slack.posted_messages("C0ALERTS")) == 2
        assert (await row(store, first)).status == (await row(store, second)).status == "sent"
        assert slack.rate_limited == 1
