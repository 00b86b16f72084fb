"""The dispatcher's decisions for each kind of platform answer, on both databases.

A scripted channel stands in for a platform here; the transports' own suites drive the same
dispatcher through the real client libraries against our fake platform servers.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import FrozenClock
from bot.core.model import Chat, Opportunity
from bot.core.pipeline import Vocabulary
from bot.delivery.channel import ChatGone, ChatMoved, Limits, Rejected, RetryAfter, Transient
from bot.delivery.dispatcher import Dispatcher

NOW = datetime(2026, 3, 1, 9, tzinfo=UTC)


class ScriptedChannel:
    platform = "console"
    limits = Limits(max_chars=500)

    def __init__(self, *answers) -> None:
        self.answers = list(answers)
        self.sent: list[tuple[str, str]] = []

    async def send(self, chat, reply) -> list[str]:
        if self.answers:
            answer = self.answers.pop(0)
            if isinstance(answer, Exception):
                raise answer
        self.sent.append((chat.platform_chat_id, reply.plain()))
        return [str(len(self.sent))]


@pytest.fixture(scope="module")
def vocabulary():
    return Vocabulary.load()


async def queue_alert(store, chat_id="42", closes=NOW + timedelta(days=30), title="Call"):
    async with store.unit() as unit:
        chat = await unit.chats.ensure(Chat("console", chat_id), now=NOW)
        result = await unit.opportunities.upsert(
            Opportunity(
                source="t",
                external_id=title,
                url="https://example.org/c",
                title=title,
                closes_at=closes,
            ),
            now=NOW,
        )
        await unit.outbox.enqueue(
            chat_id=chat.id,
            opportunity_id=result.id,
            reason="new",
            dedupe_key=f"new:{result.id}",
            now=NOW,
            payload={"why": "mental health"},
        )
    return chat


def dispatcher(store, channel, vocabulary, clock=None, **kwargs):
    return Dispatcher(store, clock or FrozenClock(NOW), {"console": channel}, vocabulary, **kwargs)


async def statuses(store):
    async with store.unit() as unit:
        return await unit.outbox.counts()


async def test_sends_once_and_records_the_message_id(store, vocabulary):
    await queue_alert(store)
    channel = ScriptedChannel()
    d = dispatcher(store, channel, vocabulary)
    assert await d.run_once() == 1
    assert await d.run_once() == 0
    assert len(channel.sent) == 1
    assert "Why: mental health" in channel.sent[0][1]
    assert await statuses(store) == {"sent": 1}


async def test_rate_limit_waits_exactly_and_is_not_an_attempt(store, vocabulary):
    await queue_alert(store)
    clock = FrozenClock(NOW)
    channel = ScriptedChannel(RetryAfter(7))
    d = dispatcher(store, channel, vocabulary, clock)
    await d.run_once()
    clock.advance(timedelta(seconds=6))
    assert await d.run_once() == 0
    clock.advance(timedelta(seconds=1))
    assert await d.run_once() == 1
    async with store.unit() as unit:
        row = await unit.outbox.get(1)
    assert (row.status, row.attempts) == ("sent", 1)


async def test_a_gone_chat_is_paused_and_its_alert_waits_for_it(store, vocabulary):
    chat = await queue_alert(store)
    channel = ScriptedChannel(ChatGone("Forbidden: bot was blocked by the user"))
    d = dispatcher(store, channel, vocabulary)
    await d.run_once()
    async with store.unit() as unit:
        paused = await unit.chats.get(chat.id)
    assert not paused.active
    assert "blocked" in paused.paused_reason
    assert await statuses(store) == {"pending": 1}
    assert await d.run_once() == 0  # nothing is claimed for a paused chat
    async with store.unit() as unit:
        await unit.chats.resume(chat.id, NOW)
    assert await d.run_once() == 1
    assert await statuses(store) == {"sent": 1}


async def test_a_moved_chat_is_migrated_and_the_alert_resent(store, vocabulary):
    await queue_alert(store, chat_id="-42")
    channel = ScriptedChannel(ChatMoved("-100042"))
    d = dispatcher(store, channel, vocabulary)
    await d.run_once()
    await d.run_once()
    assert channel.sent[0][0] == "-100042"
    assert await statuses(store) == {"sent": 1}


async def test_transient_failures_back_off_then_dead_letter(store, vocabulary):
    await queue_alert(store)
    clock = FrozenClock(NOW)
    dead = []

    async def on_dead(row, error):
        dead.append((row.id, error))

    channel = ScriptedChannel(*[Transient("HTTP 502")] * 3)
    d = dispatcher(store, channel, vocabulary, clock, max_attempts=3, on_dead=on_dead)
    for _ in range(3):
        await d.run_once()
        clock.advance(timedelta(hours=2))
    assert await statuses(store) == {"dead": 1}
    assert dead == [(1, "HTTP 502")]


async def test_a_rejected_message_is_dead_at_once(store, vocabulary):
    await queue_alert(store)
    d = dispatcher(
        store, ScriptedChannel(Rejected("Bad Request: can't parse entities")), vocabulary
    )
    await d.run_once()
    assert await statuses(store) == {"dead": 1}


async def test_an_alert_for_a_closed_opportunity_is_cancelled(store, vocabulary):
    await queue_alert(store, closes=NOW - timedelta(hours=1))
    async with store.unit() as unit:
        await unit.opportunities.close_expired(NOW)
    channel = ScriptedChannel()
    await dispatcher(store, channel, vocabulary).run_once()
    assert channel.sent == []
    assert await statuses(store) == {"cancelled": 1}


async def test_an_expired_lease_is_claimed_again(store, vocabulary):
    await queue_alert(store)
    clock = FrozenClock(NOW)
    async with store.unit() as unit:
        [claimed] = await unit.outbox.claim(
            owner="dead-worker", now=NOW, lease=timedelta(minutes=2)
        )
    d = dispatcher(store, ScriptedChannel(), vocabulary, clock)
    assert await d.run_once() == 0
    clock.advance(timedelta(minutes=3))
    assert await d.run_once() == 1
    assert claimed.id == 1


async def test_long_replies_are_split_between_items(store, vocabulary):
    async with store.unit() as unit:
        chat = await unit.chats.ensure(Chat("console", "7"), now=NOW)
        ids = []
        for n in range(6):
            result = await unit.opportunities.upsert(
                Opportunity(
                    source="t",
                    external_id=str(n),
                    url=f"https://example.org/{n}",
                    title=f"Call number {n} " + "x" * 100,
                    closes_at=NOW + timedelta(days=20 + n),
                ),
                now=NOW,
            )
            ids.append(result.id)
        await unit.outbox.enqueue(
            chat_id=chat.id,
            reason="digest",
            dedupe_key="digest:1",
            now=NOW,
            payload={"ids": ids, "title": "Daily digest"},
        )
    channel = ScriptedChannel()
    await dispatcher(store, channel, vocabulary).run_once()
    assert len(channel.sent) >= 2
    joined = "".join(text for _, text in channel.sent)
    assert all(f"Call number {n}" in joined for n in range(6))
    assert all(len(text) <= 500 for _, text in channel.sent)
