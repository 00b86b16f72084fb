"""Plumbing for ``bench/dispatch.py``: queueing alerts, running the dispatcher until the
queue drains, and reading what the fakes received."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from bench._common import check
from bot.clock import SystemClock
from bot.core.model import Chat, Opportunity
from bot.core.pipeline import Vocabulary
from bot.delivery.channel import Channel
from bot.delivery.dispatcher import Dispatcher
from storage.store import Store
from tests.helpers.fake_telegram import FakeTelegramServer


async def queue_alerts(
    store: Store, chats: Sequence[Chat], per_chat: int, tag: str
) -> dict[str, list[str]]:
    """``per_chat`` open calls, and a "new" alert about each for every chat, queued in one
    transaction (as an ingest would); returns each chat's expected titles, in order."""
    now = datetime.now(UTC)
    async with store.unit() as unit:
        ids, titles = [], []
        for n in range(per_chat):
            title = f"{tag} call {n:03d}: community mental health and wellbeing pilot"
            item = Opportunity(
                source="bench",
                external_id=f"{tag}-{n}",
                url=f"https://funder.example/{tag}/{n}",
                title=title,
                funders=["National Lottery Community Fund"],
                closes_at=now + timedelta(days=40),
                status="open",
            )
            ids.append((await unit.opportunities.upsert(item, now=now)).id)
            titles.append(title)
        for wanted in chats:
            chat = await unit.chats.ensure(wanted, now=now)
            for item_id in ids:
                await unit.outbox.enqueue(
                    chat_id=chat.id,
                    opportunity_id=item_id,
                    reason="new",
                    dedupe_key=f"new:{item_id}",
                    now=now,
                    payload={"why": "mental health"},
                )
    return {chat.platform_chat_id: list(titles) for chat in chats}


async def run_until(
    store: Store,
    channels: dict[str, Channel],
    vocabulary: Vocabulary,
    done: Callable[[], bool],
    *,
    within: float,
) -> float:
    """Run a dispatcher until ``done()``; returns when it started (monotonic)."""
    dispatcher = Dispatcher(store, SystemClock(), channels, vocabulary)
    stop = asyncio.Event()
    started = time.monotonic()
    task = asyncio.create_task(dispatcher.run_forever(stop))
    try:
        while not done():
            check(time.monotonic() - started < within, f"not done within {within:.0f} s")
            check(not task.done(), "the dispatcher stopped")
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await task
    return started


async def outbox_counts(store: Store) -> dict[str, int]:
    async with store.unit() as unit:
        return await unit.outbox.counts()


def most_in_window(times: Sequence[float], window: float) -> int:
    """The largest number of ``times`` inside any half-open window of ``window`` seconds."""
    ordered, best, left = sorted(times), 0, 0
    for right, at in enumerate(ordered):
        while ordered[left] <= at - window:
            left += 1
        best = max(best, right - left + 1)
    return best


def once_each(
    messages: Sequence[tuple[str, str]], expected: dict[str, list[str]], what: str
) -> None:
    """Every expected (chat, title) arrived exactly once, in ``(chat, text)`` messages."""
    received: Counter[tuple[str, str]] = Counter()
    for chat, text in messages:
        titles = [title for title in expected.get(chat, []) if title in text]
        check(len(titles) == 1, f"{what}: a message to {chat} names {len(titles)} calls")
        received[chat, titles[0]] += 1
    wanted = Counter({(chat, t): 1 for chat, titles in expected.items() for t in titles})
    check(received == wanted, f"{what}: deliveries differ from one alert per chat and call")


def telegram_messages(fake: FakeTelegramServer) -> list[tuple[str, str]]:
    return [(str(m.chat_id), m.plain_text) for m in fake.sent_messages()]
