"""Chats and their subscriptions: creation, pausing, migration, /forget and /export."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.model import Chat, Subscription
from storage.models import Chat as ChatRow
from storage.models import GlossarySuggestion, OutboxItem, Tracked
from storage.models import Subscription as SubscriptionRow

_CHAT_FIELDS = [
    "platform",
    "platform_chat_id",
    "thread_id",
    "kind",
    "title",
    "timezone",
    "glossary_in_alerts",
    "term_of_week",
    "active",
    "paused_reason",
    "managed_by",
]
_SUB_FIELDS = [
    "topics",
    "keywords",
    "exclude_keywords",
    "roles",
    "kinds",
    "funders",
    "min_amount_pence",
    "mode",
    "digest_hour",
    "digest_weekday",
    "reminder_days",
]


def _columns(row: Any, *, exclude: set[str] = frozenset()) -> dict[str, Any]:
    """Every mapped column of a row, datetimes as ISO 8601: a new column is exported
    without anyone remembering to add it here."""
    values: dict[str, Any] = {}
    for column in row.__table__.columns:
        if column.key in exclude:
            continue
        value = getattr(row, column.key)
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, list):
            value = list(value)
        elif isinstance(value, dict):
            value = dict(value)
        values[column.key] = value
    return values


def chat_model(row: ChatRow) -> Chat:
    chat = Chat(**{name: getattr(row, name) for name in _CHAT_FIELDS})
    chat.id = row.id
    return chat


def subscription_model(row: SubscriptionRow) -> Subscription:
    values = {name: getattr(row, name) for name in _SUB_FIELDS}
    for name, value in values.items():
        if isinstance(value, list):
            values[name] = list(value)
    return Subscription(chat_id=row.chat_id, id=row.id, **values)


class ChatRepo:
    """Reads and writes ``chats`` and ``subscriptions``."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _find_row(self, platform: str, chat_id: str, thread_id: str = "") -> ChatRow | None:
        return await self.session.scalar(
            select(ChatRow).where(
                ChatRow.platform == platform,
                ChatRow.platform_chat_id == str(chat_id),
                ChatRow.thread_id == (thread_id or ""),
            )
        )

    async def find(self, platform: str, chat_id: str, thread_id: str = "") -> Chat | None:
        row = await self._find_row(platform, chat_id, thread_id)
        return chat_model(row) if row else None

    async def threads(self, platform: str, chat_id: str) -> list[Chat]:
        """Every stored row of one platform chat: the chat itself and its forum topics."""
        rows = await self.session.scalars(
            select(ChatRow)
            .where(ChatRow.platform == platform, ChatRow.platform_chat_id == str(chat_id))
            .order_by(ChatRow.thread_id)
        )
        return [chat_model(row) for row in rows]

    async def ensure(self, chat: Chat, *, now: datetime) -> Chat:
        """The stored chat for this platform address, created on first contact."""
        row = await self._find_row(chat.platform, chat.platform_chat_id, chat.thread_id)
        if row is None:
            row = ChatRow(created_at=now, updated_at=now)
            for name in _CHAT_FIELDS:
                setattr(row, name, getattr(chat, name))
            row.platform_chat_id = str(chat.platform_chat_id)
            self.session.add(row)
            await self.session.flush()
        elif chat.title and row.title != chat.title:
            row.title, row.updated_at = chat.title, now
        return chat_model(row)

    async def get(self, chat_id: int) -> Chat | None:
        row = await self.session.get(ChatRow, chat_id)
        return chat_model(row) if row else None

    async def update_settings(self, chat_id: int, now: datetime, **values: Any) -> Chat:
        allowed = {"timezone", "glossary_in_alerts", "term_of_week", "title", "managed_by", "kind"}
        unknown = set(values) - allowed
        if unknown:
            raise ValueError(f"not chat settings: {', '.join(sorted(unknown))}")
        row = await self.session.get(ChatRow, chat_id)
        if row is None:
            raise LookupError(f"no chat {chat_id}")
        for name, value in values.items():
            setattr(row, name, value)
        row.updated_at = now
        return chat_model(row)

    async def pause(self, chat_id: int, reason: str, now: datetime) -> None:
        """Stop delivering to a chat (blocked, kicked, channel gone, or asked), saying why."""
        await self.session.execute(
            update(ChatRow)
            .where(ChatRow.id == chat_id)
            .values(active=False, paused_reason=reason[:500], paused_at=now, updated_at=now)
        )

    async def resume(self, chat_id: int, now: datetime) -> None:
        await self.session.execute(
            update(ChatRow)
            .where(ChatRow.id == chat_id)
            .values(active=True, paused_reason=None, paused_at=None, updated_at=now)
        )

    async def migrate(self, platform: str, old_id: str, new_id: str, now: datetime) -> int | None:
        """A Telegram group became a supergroup: move every thread of it to the new id."""
        rows = list(
            await self.session.scalars(
                select(ChatRow).where(
                    ChatRow.platform == platform, ChatRow.platform_chat_id == str(old_id)
                )
            )
        )
        for row in rows:
            row.platform_chat_id, row.kind, row.updated_at = str(new_id), "supergroup", now
        await self.session.flush()
        return rows[0].id if rows else None

    async def forget(self, chat_id: int) -> bool:
        """Delete everything stored about a chat (subscriptions, queue, history cascade)."""
        await self.session.execute(delete(OutboxItem).where(OutboxItem.chat_id == chat_id))
        await self.session.execute(delete(Tracked).where(Tracked.chat_id == chat_id))
        await self.session.execute(
            delete(GlossarySuggestion).where(GlossarySuggestion.chat_id == chat_id)
        )
        await self.session.execute(
            delete(SubscriptionRow).where(SubscriptionRow.chat_id == chat_id)
        )
        result = await self.session.execute(delete(ChatRow).where(ChatRow.id == chat_id))
        return bool(result.rowcount)

    async def export(self, chat_id: int) -> dict[str, Any]:
        """Everything stored about a chat, as plain JSON-ready data (/export): every column
        of its row, its subscriptions, what it tracks, every message queued or sent to it
        (with why, errors and the platform's message ids) and the glossary terms its
        people suggested — what ``forget`` deletes, so the two stay in step."""
        row = await self.session.get(ChatRow, chat_id)
        if row is None:
            return {}
        tracked = await self.session.scalars(
            select(Tracked).where(Tracked.chat_id == chat_id).order_by(Tracked.id)
        )
        sent = await self.session.scalars(
            select(OutboxItem).where(OutboxItem.chat_id == chat_id).order_by(OutboxItem.id)
        )
        suggested = await self.session.scalars(
            select(GlossarySuggestion)
            .where(GlossarySuggestion.chat_id == chat_id)
            .order_by(GlossarySuggestion.id)
        )
        return {
            "chat": _columns(row, exclude={"id"}),
            "subscriptions": [
                _columns(s, exclude={"chat_id"})
                for s in await self.session.scalars(
                    select(SubscriptionRow)
                    .where(SubscriptionRow.chat_id == chat_id)
                    .order_by(SubscriptionRow.id)
                )
            ],
            "tracked": [_columns(t, exclude={"id", "chat_id"}) for t in tracked],
            "messages": [
                _columns(m, exclude={"id", "chat_id", "lease_owner", "lease_until"}) for m in sent
            ],
            "glossary_suggestions": [_columns(g, exclude={"chat_id"}) for g in suggested],
        }

    # ------------------------------------------------------------ subscriptions
    async def add_subscription(self, sub: Subscription, *, now: datetime) -> Subscription:
        row = SubscriptionRow(chat_id=sub.chat_id, created_at=now, updated_at=now)
        for name in _SUB_FIELDS:
            value = getattr(sub, name)
            setattr(row, name, list(value) if isinstance(value, list) else value)
        self.session.add(row)
        await self.session.flush()
        return subscription_model(row)

    async def update_subscription(self, sub: Subscription, *, now: datetime) -> Subscription:
        row = await self.session.get(SubscriptionRow, sub.id)
        if row is None or row.chat_id != sub.chat_id:
            raise LookupError(f"no subscription {sub.id} in this chat")
        for name in _SUB_FIELDS:
            value = getattr(sub, name)
            setattr(row, name, list(value) if isinstance(value, list) else value)
        row.updated_at = now
        return subscription_model(row)

    async def subscriptions(self, chat_id: int) -> list[Subscription]:
        rows = await self.session.scalars(
            select(SubscriptionRow)
            .where(SubscriptionRow.chat_id == chat_id)
            .order_by(SubscriptionRow.id)
        )
        return [subscription_model(row) for row in rows]

    async def delete_subscription(self, chat_id: int, subscription_id: int) -> bool:
        result = await self.session.execute(
            delete(SubscriptionRow).where(
                SubscriptionRow.id == subscription_id, SubscriptionRow.chat_id == chat_id
            )
        )
        return bool(result.rowcount)

    async def active_subscriptions(self, chunk: int = 5000) -> list[Subscription]:
        """Every subscription of every active chat: the input of the matching index.

        Read for memory, since the index holds them all (100,000 in the benchmarks): plain
        columns rather than ORM objects, streamed in chunks so the driver never buffers the
        table, and equal values shared — one list object for every ``["mental-health"]``,
        one string for every "instant" — which takes the read from about 200 MB at its peak
        to a tenth of that (``bench/memory.py``). The lists are shared, so these
        subscriptions are read-only: the index never changes them, and neither may callers.
        """
        columns = [getattr(SubscriptionRow, name) for name in _SUB_FIELDS]
        query = (
            select(SubscriptionRow.id, SubscriptionRow.chat_id, *columns)
            .join(ChatRow, ChatRow.id == SubscriptionRow.chat_id)
            .where(ChatRow.active.is_(True))
            .order_by(SubscriptionRow.id)
            .execution_options(yield_per=chunk)
        )
        shared: dict[Any, Any] = {}

        def one(value: Any) -> Any:
            if isinstance(value, list):
                key = tuple(value)
                found = shared.get(key)
                if found is None:
                    found = [sys.intern(v) if isinstance(v, str) else v for v in value]
                    shared[key] = found
                return found
            return shared.setdefault(value, value) if isinstance(value, str) else value

        subscriptions: list[Subscription] = []
        result = await self.session.stream(query)
        async for partition in result.partitions(chunk):
            for row in partition:
                fields = zip(_SUB_FIELDS, row[2:], strict=True)
                values = {name: one(value) for name, value in fields}
                subscriptions.append(Subscription(chat_id=row[1], id=row[0], **values))
        return subscriptions

    async def managed_by(self, platform: str, user_id: str) -> list[Chat]:
        """Chats a user set up (a Slack channel's subscriber, a Telegram channel's admin)."""
        rows = await self.session.scalars(
            select(ChatRow)
            .where(ChatRow.platform == platform, ChatRow.managed_by == user_id)
            .order_by(ChatRow.id)
        )
        return [chat_model(row) for row in rows]

    async def active_chat_ids(self, platform: str | None = None) -> list[int]:
        query = select(ChatRow.id).where(ChatRow.active.is_(True)).order_by(ChatRow.id)
        if platform:
            query = query.where(ChatRow.platform == platform)
        return list(await self.session.scalars(query))

    async def term_of_week_chat_ids(self) -> list[int]:
        query = select(ChatRow.id).where(ChatRow.active.is_(True), ChatRow.term_of_week.is_(True))
        return list(await self.session.scalars(query.order_by(ChatRow.id)))

    async def subscription_version(self) -> tuple:
        """A cheap fingerprint of the subscription set, to know when an index is stale."""
        from sqlalchemy import func

        subs = (
            await self.session.execute(
                select(func.count(SubscriptionRow.id), func.max(SubscriptionRow.updated_at))
            )
        ).one()
        chats = (
            await self.session.execute(
                select(func.count(ChatRow.id), func.max(ChatRow.updated_at)).where(
                    ChatRow.active.is_(True)
                )
            )
        ).one()
        return (*subs, *chats)

    async def count_by_platform(self) -> dict[str, int]:
        from sqlalchemy import func

        rows = await self.session.execute(
            select(ChatRow.platform, func.count(SubscriptionRow.id))
            .join(SubscriptionRow, SubscriptionRow.chat_id == ChatRow.id)
            .group_by(ChatRow.platform)
        )
        return dict(rows.all())
