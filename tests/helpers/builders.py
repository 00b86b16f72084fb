"""Small builders for the core's dataclasses, and a look into the outbox, for any test.

Each builder gives a plain, valid value with neutral text (no words that the tagger turns into
topics, roles or flags) and takes keyword overrides for what a test is about::

    item = opportunity("call-1", title="Peer support research", closes_at=...)
    sub = subscription(topics=["peer-support"], mode="daily")
    chat_row, subs = await add_chat(store, chat(term_of_week=True), sub, now=NOW)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from bot.core.model import Chat, Opportunity, Subscription
from storage.models import OutboxItem
from storage.store import Store

__all__ = [
    "NOW",
    "OutboxRow",
    "add_chat",
    "add_opportunity",
    "chat",
    "opportunity",
    "outbox_rows",
    "subscription",
]

# A Monday in winter (GMT): UK local time equals UTC.
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def opportunity(external_id: str = "1", **overrides: Any) -> Opportunity:
    """An open call from the test source; ``url`` follows ``external_id`` unless given."""
    values: dict[str, Any] = {
        "source": "stub",
        "external_id": external_id,
        "url": f"https://funder.example/calls/{external_id}",
        "title": f"Pilot call {external_id}",
        "kind": "call",
        "status": "open",
    }
    values.update(overrides)
    return Opportunity(**values)


def subscription(chat_id: int = 1, **overrides: Any) -> Subscription:
    """An instant subscription about anything, unless overridden."""
    return Subscription(chat_id=chat_id, **overrides)


def chat(platform_chat_id: str = "100", **overrides: Any) -> Chat:
    """A private Telegram chat in Europe/London, unless overridden."""
    values: dict[str, Any] = {"platform": "telegram", "platform_chat_id": platform_chat_id}
    values.update(overrides)
    return Chat(**values)


async def add_chat(
    store: Store, new_chat: Chat, *subs: Subscription, now: datetime = NOW
) -> tuple[Chat, list[Subscription]]:
    """Store ``new_chat`` and ``subs`` (their ``chat_id`` is set to the stored chat's id)."""
    async with store.unit() as unit:
        stored = await unit.chats.ensure(new_chat, now=now)
        added = [
            await unit.chats.add_subscription(replace(sub, chat_id=stored.id, id=None), now=now)
            for sub in subs
        ]
    return stored, added


async def add_opportunity(store: Store, item: Opportunity, *, now: datetime = NOW) -> int:
    """Store ``item`` as it is (no tagging, no matching) and return its id."""
    async with store.unit() as unit:
        result = await unit.opportunities.upsert(item, now=now)
    item.id = result.id
    return result.id


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One outbox row as a test sees it."""

    id: int
    chat_id: int
    opportunity_id: int | None
    reason: str
    dedupe_key: str
    status: str
    payload: dict[str, Any]


async def outbox_rows(store: Store, chat_id: int | None = None) -> list[OutboxRow]:
    """Every outbox row (of one chat, when given), oldest first."""
    query = select(OutboxItem).order_by(OutboxItem.id)
    if chat_id is not None:
        query = query.where(OutboxItem.chat_id == chat_id)
    async with store.unit() as unit:
        rows = list(await unit.session.scalars(query))
        return [
            OutboxRow(
                row.id,
                row.chat_id,
                row.opportunity_id,
                row.reason,
                row.dedupe_key,
                row.status,
                dict(row.payload or {}),
            )
            for row in rows
        ]
