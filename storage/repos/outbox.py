"""The outbox: every message to send is a row, and the row is the truth.

Rows are unique per (chat, ``dedupe_key``), so replaying a poll or a job can never queue
the same alert twice. A dispatcher *leases* rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL,
so replicas never take the same row); a lease that runs out because its process died is
taken again. Statuses::

    held ──(digest job)──> digested          pending ──lease──> leased ──> sent
                                               ^                   |──> pending (retry later)
                                               └───────────────────|──> dead (gave up)
                                                                   └──> cancelled (obsolete)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OutboxItem

# Lower runs first. Answers to commands never queue at all; they are sent directly.
PRIORITY = {
    "urgent": 10,
    "new": 20,
    "update": 20,
    "reminder": 30,
    "digest": 50,
    "broadcast": 60,
    "glossary": 70,
    "notice": 15,
}


@dataclass(slots=True)
class QueuedMessage:
    """A leased row, as the dispatcher sees it."""

    id: int
    chat_id: int
    opportunity_id: int | None
    reason: str
    payload: dict[str, Any]
    attempts: int
    created_at: datetime
    # Platform ids of the parts of a split message an earlier try already sent.
    sent_parts: list[str] = field(default_factory=list)


def _queued(row: OutboxItem) -> QueuedMessage:
    return QueuedMessage(
        row.id,
        row.chat_id,
        row.opportunity_id,
        row.reason,
        dict(row.payload or {}),
        row.attempts,
        row.created_at,
        [str(part) for part in row.sent_parts or []],
    )


def _leased_to(row_id: int, owner: str) -> tuple:
    """The row is still ours: leased, by us (another worker may have taken it over)."""
    return (
        OutboxItem.id == row_id,
        OutboxItem.lease_owner == owner,
        OutboxItem.status == "leased",
    )


class OutboxRepo:
    """Reads and writes ``outbox``."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def enqueue(
        self,
        *,
        chat_id: int,
        reason: str,
        dedupe_key: str,
        now: datetime,
        opportunity_id: int | None = None,
        payload: dict[str, Any] | None = None,
        priority: int | None = None,
        held: bool = False,
    ) -> bool:
        """Queue a message unless the same (chat, key) was queued before; True if queued."""
        values = {
            "chat_id": chat_id,
            "opportunity_id": opportunity_id,
            "reason": reason,
            "dedupe_key": dedupe_key[:255],
            "priority": PRIORITY.get(reason, 50) if priority is None else priority,
            "payload": payload or {},
            "status": "held" if held else "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        dialect = self.session.bind.dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        statement = (
            insert(OutboxItem)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["chat_id", "dedupe_key"])
        )
        result = await self.session.execute(statement)
        return bool(result.rowcount)

    async def claim(
        self,
        *,
        owner: str,
        now: datetime,
        lease: timedelta,
        limit: int = 50,
        platforms: Sequence[str] | None = None,
    ) -> list[QueuedMessage]:
        """Lease up to ``limit`` due rows, highest priority first, oldest first."""
        from storage.models import Chat

        due = ((OutboxItem.status == "pending") & (OutboxItem.next_attempt_at <= now)) | (
            (OutboxItem.status == "leased") & (OutboxItem.lease_until < now)
        )
        query = select(OutboxItem.id).where(due)
        if platforms is not None:
            query = query.join(Chat, Chat.id == OutboxItem.chat_id).where(
                Chat.platform.in_(list(platforms)), Chat.active.is_(True)
            )
        query = query.order_by(OutboxItem.priority, OutboxItem.id).limit(limit)
        if self.session.bind.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=OutboxItem)
        ids = list(await self.session.scalars(query))
        if not ids:
            return []
        await self.session.execute(
            update(OutboxItem)
            .where(OutboxItem.id.in_(ids))
            .values(
                status="leased",
                lease_owner=owner,
                lease_until=now + lease,
                attempts=OutboxItem.attempts + 1,
            )
        )
        rows = await self.session.scalars(
            select(OutboxItem)
            .where(OutboxItem.id.in_(ids))
            .order_by(OutboxItem.priority, OutboxItem.id)
            .execution_options(populate_existing=True)
        )
        return [_queued(row) for row in rows]

    async def renew(self, row_id: int, owner: str, *, until: datetime) -> bool:
        """Extend our lease just before sending; False when another worker has taken the
        row (our batch outlasted the lease), which must then not be sent again."""
        result = await self.session.execute(
            update(OutboxItem).where(*_leased_to(row_id, owner)).values(lease_until=until)
        )
        return bool(result.rowcount)

    async def _finish(self, row_id: int, owner: str, **values: Any) -> bool:
        """Update a row only while we still hold its lease (it may have been re-leased)."""
        result = await self.session.execute(
            update(OutboxItem)
            .where(*_leased_to(row_id, owner))
            .values(lease_owner=None, lease_until=None, **values)
        )
        return bool(result.rowcount)

    async def record_parts(self, row_id: int, owner: str, parts: Sequence[str]) -> bool:
        """Remember which parts of a split message are out, before the next one is sent."""
        result = await self.session.execute(
            update(OutboxItem).where(*_leased_to(row_id, owner)).values(sent_parts=list(parts))
        )
        return bool(result.rowcount)

    async def mark_sent(
        self,
        row_id: int,
        owner: str,
        *,
        now: datetime,
        message_id: str | None,
        parts: Sequence[str] = (),
    ) -> bool:
        """Record a send; False when the row was no longer leased to us.

        Sent is a fact, so it is recorded even then, unless the row is finished already: a
        worker that has since claimed the row finds its lease gone when it renews it before
        sending, and does not send it again.
        """
        values: dict[str, Any] = {
            "status": "sent",
            "sent_at": now,
            "platform_message_id": message_id,
            "error": None,
            "sent_parts": list(parts) or None,
        }
        if await self._finish(row_id, owner, **values):
            return True
        await self.session.execute(
            update(OutboxItem)
            .where(OutboxItem.id == row_id, OutboxItem.status.in_(["leased", "pending"]))
            .values(lease_owner=None, lease_until=None, **values)
        )
        return False

    async def retry_later(
        self, row_id: int, owner: str, *, at: datetime, error: str, count_attempt: bool = True
    ) -> bool:
        """Back to pending at ``at``. A rate-limit wait is not a failed attempt."""
        values: dict[str, Any] = {"status": "pending", "next_attempt_at": at, "error": error[:1000]}
        if not count_attempt:
            values["attempts"] = OutboxItem.attempts - 1
        return await self._finish(row_id, owner, **values)

    async def mark_dead(self, row_id: int, owner: str, *, error: str) -> bool:
        return await self._finish(row_id, owner, status="dead", error=error[:1000])

    async def cancel(self, row_id: int, owner: str, *, why: str) -> bool:
        return await self._finish(row_id, owner, status="cancelled", error=why[:1000])

    async def release_chat(self, chat_id: int, *, now: datetime) -> int:
        """A paused chat's leased rows go back to pending so they wait for its return."""
        result = await self.session.execute(
            update(OutboxItem)
            .where(OutboxItem.chat_id == chat_id, OutboxItem.status == "leased")
            .values(status="pending", lease_owner=None, lease_until=None, next_attempt_at=now)
        )
        return result.rowcount or 0

    async def held_for_chat(self, chat_id: int) -> list[QueuedMessage]:
        rows = await self.session.scalars(
            select(OutboxItem)
            .where(OutboxItem.chat_id == chat_id, OutboxItem.status == "held")
            .order_by(OutboxItem.id)
        )
        return [_queued(row) for row in rows]

    async def chats_with_held(self) -> list[int]:
        rows = await self.session.scalars(
            select(OutboxItem.chat_id).where(OutboxItem.status == "held").distinct()
        )
        return list(rows)

    async def mark_digested(self, ids: Sequence[int]) -> None:
        if ids:
            await self.session.execute(
                update(OutboxItem).where(OutboxItem.id.in_(list(ids))).values(status="digested")
            )

    async def digest_held(self, chat_id: int, dedupe_keys: Sequence[str]) -> int:
        """Mark a chat's held rows with these keys as folded into a digest."""
        if not dedupe_keys:
            return 0
        result = await self.session.execute(
            update(OutboxItem)
            .where(
                OutboxItem.chat_id == chat_id,
                OutboxItem.status == "held",
                OutboxItem.dedupe_key.in_([key[:255] for key in dedupe_keys]),
            )
            .values(status="digested")
        )
        return result.rowcount or 0

    async def release_held(self, opportunity_id: int, chat_id: int, *, now: datetime) -> int:
        """Send a held digest item at once (its deadline came too close to wait)."""
        result = await self.session.execute(
            update(OutboxItem)
            .where(
                OutboxItem.chat_id == chat_id,
                OutboxItem.opportunity_id == opportunity_id,
                OutboxItem.status == "held",
            )
            .values(status="pending", next_attempt_at=now, priority=PRIORITY["urgent"])
        )
        return result.rowcount or 0

    async def message_id_for(self, chat_id: int, opportunity_id: int) -> str | None:
        """The platform id of the first alert about an opportunity in a chat (for threads)."""
        return await self.session.scalar(
            select(OutboxItem.platform_message_id)
            .where(
                OutboxItem.chat_id == chat_id,
                OutboxItem.opportunity_id == opportunity_id,
                OutboxItem.status == "sent",
                OutboxItem.reason.in_(["new", "urgent"]),
            )
            .order_by(OutboxItem.id)
            .limit(1)
        )

    async def depth(self, now: datetime) -> tuple[int, float]:
        """(rows waiting to be sent, age in seconds of the oldest)."""
        row = (
            await self.session.execute(
                select(func.count(), func.min(OutboxItem.created_at)).where(
                    OutboxItem.status.in_(["pending", "leased"])
                )
            )
        ).one()
        count, oldest = row
        if oldest is not None and oldest.tzinfo is None:
            from datetime import UTC

            oldest = oldest.replace(tzinfo=UTC)
        return count, (now - oldest).total_seconds() if oldest else 0.0

    async def counts(self) -> dict[str, int]:
        rows = await self.session.execute(
            select(OutboxItem.status, func.count()).group_by(OutboxItem.status)
        )
        return dict(rows.all())

    async def prune(self, before: datetime, statuses: Sequence[str]) -> int:
        """Delete finished rows queued before ``before`` (the retention job)."""
        from sqlalchemy import delete

        result = await self.session.execute(
            delete(OutboxItem).where(
                OutboxItem.status.in_(list(statuses)), OutboxItem.created_at < before
            )
        )
        return result.rowcount or 0

    async def get(self, row_id: int) -> OutboxItem | None:
        return await self.session.get(OutboxItem, row_id)
