"""Which chats know about which opportunities: the basis of updates and reminders."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Chat, Tracked
from storage.models import Opportunity as OpportunityRow


@dataclass(slots=True)
class TrackedDeadline:
    chat_id: int
    opportunity_id: int
    closes_at: datetime
    reminder_days: list[int]
    tracked_since: datetime


class TrackingRepo:
    """Reads and writes ``tracked``."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def track(
        self,
        chat_id: int,
        opportunity_id: int,
        *,
        now: datetime,
        reminder_days: Sequence[int] = (14, 3),
        requested: bool = False,
    ) -> None:
        """Remember that a chat was told (or asked to be reminded) about an opportunity."""
        insert = pg_insert if self.session.bind.dialect.name == "postgresql" else sqlite_insert
        statement = insert(Tracked).values(
            chat_id=chat_id,
            opportunity_id=opportunity_id,
            requested=requested,
            dismissed=False,
            reminder_days=sorted(set(reminder_days), reverse=True),
            created_at=now,
        )
        if requested:
            statement = statement.on_conflict_do_update(
                index_elements=["chat_id", "opportunity_id"],
                set_={"requested": True, "dismissed": False},
            )
        else:
            statement = statement.on_conflict_do_nothing(
                index_elements=["chat_id", "opportunity_id"]
            )
        await self.session.execute(statement)

    async def dismiss(self, chat_id: int, opportunity_id: int, *, now: datetime) -> None:
        """ "Not relevant": no reminders or updates about it for this chat."""
        await self.track(chat_id, opportunity_id, now=now)
        row = await self.session.scalar(
            select(Tracked).where(
                Tracked.chat_id == chat_id, Tracked.opportunity_id == opportunity_id
            )
        )
        if row is not None:
            row.dismissed, row.requested = True, False

    async def chats_tracking(self, opportunity_id: int) -> list[int]:
        """Active chats that were told about an opportunity and did not dismiss it."""
        rows = await self.session.scalars(
            select(Tracked.chat_id)
            .join(Chat, Chat.id == Tracked.chat_id)
            .where(
                Tracked.opportunity_id == opportunity_id,
                Tracked.dismissed.is_(False),
                Chat.active.is_(True),
            )
            .order_by(Tracked.chat_id)
        )
        return list(rows)

    async def deadlines_within(self, now: datetime, horizon: timedelta) -> list[TrackedDeadline]:
        """Tracked, undismissed, still-open opportunities closing between now and the horizon."""
        rows = await self.session.execute(
            select(Tracked, OpportunityRow.closes_at)
            .join(OpportunityRow, OpportunityRow.id == Tracked.opportunity_id)
            .join(Chat, Chat.id == Tracked.chat_id)
            .where(
                Tracked.dismissed.is_(False),
                Chat.active.is_(True),
                OpportunityRow.status != "closed",
                OpportunityRow.closes_at > now,
                OpportunityRow.closes_at <= now + horizon,
            )
        )
        return [
            TrackedDeadline(
                t.chat_id, t.opportunity_id, closes, list(t.reminder_days), t.created_at
            )
            for t, closes in rows.all()
        ]

    async def for_chat(self, chat_id: int) -> list[int]:
        rows = await self.session.scalars(
            select(Tracked.opportunity_id).where(
                Tracked.chat_id == chat_id, Tracked.dismissed.is_(False)
            )
        )
        return list(rows)

    async def dismissed_for_chat(self, chat_id: int) -> set[int]:
        rows = await self.session.scalars(
            select(Tracked.opportunity_id).where(
                Tracked.chat_id == chat_id, Tracked.dismissed.is_(True)
            )
        )
        return set(rows)
