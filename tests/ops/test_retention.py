"""Retention deletes finished outbox rows past the limit, and nothing still to be sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from bot.clock import FrozenClock
from bot.core.model import Chat
from bot.ops.retention import prune
from storage.models import OutboxItem

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)

# (dedupe key, status, age in days)
ROWS = [
    ("sent-old", "sent", 200),
    ("sent-recent", "sent", 10),
    ("dead-old", "dead", 181),
    ("cancelled-old", "cancelled", 365),
    ("digested-old", "digested", 400),
    ("pending-old", "pending", 200),
    ("held-old", "held", 200),
    ("leased-old", "leased", 200),
]


async def add_rows(store) -> None:
    async with store.unit() as unit:
        chat = await unit.chats.ensure(Chat("telegram", "100"), now=NOW - timedelta(days=500))
        for key, status, age in ROWS:
            at = NOW - timedelta(days=age)
            await unit.outbox.enqueue(chat_id=chat.id, reason="notice", dedupe_key=key, now=at)
            await unit.session.execute(
                update(OutboxItem).where(OutboxItem.dedupe_key == key).values(status=status)
            )


async def remaining(store) -> set[str]:
    async with store.unit() as unit:
        return set(await unit.session.scalars(select(OutboxItem.dedupe_key)))


async def test_finished_rows_past_the_limit_go_and_the_rest_stay(store):
    await add_rows(store)

    assert await prune(store, FrozenClock(NOW)) == 4

    assert await remaining(store) == {"sent-recent", "pending-old", "held-old", "leased-old"}
    assert await prune(store, FrozenClock(NOW)) == 0  # running it again changes nothing


async def test_a_shorter_limit_takes_more(store):
    await add_rows(store)
    assert await prune(store, FrozenClock(NOW), days=7) == 5
    assert "sent-recent" not in await remaining(store)


async def test_a_limit_below_one_day_is_refused(store):
    with pytest.raises(ValueError, match="at least one day"):
        await prune(store, FrozenClock(NOW), days=0)
