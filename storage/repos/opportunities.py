"""Opportunities: upsert with change detection and cross-source de-duplication."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.model import Opportunity
from bot.core.status import as_of
from sources.normalise import canonical_url, fingerprint
from storage.models import Opportunity as OpportunityRow

# Fields whose change a subscriber should hear about, and the words an alert uses for them.
NOTABLE_CHANGES = ("closes_at", "opens_at", "status")
_COPIED = [
    "url",
    "title",
    "kind",
    "status",
    "funders",
    "opens_at",
    "closes_at",
    "published_at",
    "starts_at",
    "ends_at",
    "location",
    "online",
    "total_fund_pence",
    "award_min_pence",
    "award_max_pence",
    "summary",
    "eligibility",
    "topics",
    "roles",
    "flags",
    "glossary_terms",
    "extra",
]


@dataclass(slots=True)
class UpsertResult:
    """What storing one item did. ``changes`` name notable fields that moved, such as
    ``closes_at`` or ``status:upcoming->open``."""

    id: int
    outcome: str  # "new", "updated", "unchanged"
    changes: list[str] = field(default_factory=list)
    duplicate_of_id: int | None = None


def content_hash(item: Opportunity) -> str:
    data = item.to_json() | {"eligibility": item.eligibility, "extra": item.extra}
    data["glossary_terms"] = item.glossary_terms
    raw = json.dumps(data, sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


def to_model(row: OpportunityRow) -> Opportunity:
    item = Opportunity(source=row.source, external_id=row.external_id, url=row.url, title="")
    for name in _COPIED:
        setattr(item, name, getattr(row, name))
    item.funders, item.topics = list(row.funders), list(row.topics)
    item.roles, item.flags = list(row.roles), list(row.flags)
    item.glossary_terms, item.extra = list(row.glossary_terms), dict(row.extra)
    item.id = row.id
    return item


def live_at(now: datetime) -> list[ColumnElement[bool]]:
    """SQL for "not over at ``now``": before its closing time, and an event before its end
    (or start, without an end). The same rule as ``bot.core.status.status_at``."""
    row = OpportunityRow
    event_end = func.coalesce(row.ends_at, row.starts_at)
    return [
        or_(row.closes_at.is_(None), row.closes_at > now),
        or_(row.kind != "event", event_end.is_(None), event_end > now),
    ]


def over_at(now: datetime) -> ColumnElement[bool]:
    """The negation of ``live_at``: past its closing time, or an event that is over."""
    row = OpportunityRow
    event_end = func.coalesce(row.ends_at, row.starts_at)
    return or_(row.closes_at <= now, and_(row.kind == "event", event_end <= now))


def upcoming_at(now: datetime) -> ColumnElement[bool]:
    """SQL for "not open yet at ``now``": a future opening date, or none and a page that
    said "opening soon"."""
    row = OpportunityRow
    return or_(row.opens_at > now, and_(row.opens_at.is_(None), row.status == "upcoming"))


def _changes(row: OpportunityRow, item: Opportunity) -> list[str]:
    changes = []
    if row.closes_at != item.closes_at:
        changes.append("closes_at")
    if row.opens_at != item.opens_at:
        changes.append("opens_at")
    if row.status != item.status:
        changes.append(f"status:{row.status}->{item.status}")
    return changes


class OpportunityRepo:
    """Reads and writes ``opportunities``."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def upsert(
        self, item: Opportunity, *, now: datetime, search_text: str = ""
    ) -> UpsertResult:
        """Insert or update by (source, external_id) and say what changed."""
        digest = content_hash(item)
        row = await self.session.scalar(
            select(OpportunityRow).where(
                OpportunityRow.source == item.source,
                OpportunityRow.external_id == item.external_id,
            )
        )
        if row is not None:
            row.last_seen_at = now
            if row.content_hash == digest:
                return UpsertResult(row.id, "unchanged", duplicate_of_id=row.duplicate_of_id)
            changes = _changes(row, item)
            self._copy(row, item, digest, search_text)
            row.updated_at = now
            row.last_changes = changes
            await self.session.flush()
            return UpsertResult(row.id, "updated", changes, row.duplicate_of_id)
        row = OpportunityRow(
            source=item.source,
            external_id=item.external_id,
            first_seen_at=now,
            last_seen_at=now,
            updated_at=now,
            last_changes=[],
        )
        self._copy(row, item, digest, search_text)
        row.duplicate_of_id = await self._original_of(row)
        if item.parent_external_id:
            row.parent_id = await self.session.scalar(
                select(OpportunityRow.id).where(
                    OpportunityRow.source == item.source,
                    OpportunityRow.external_id == item.parent_external_id,
                )
            )
        self.session.add(row)
        await self.session.flush()
        return UpsertResult(row.id, "new", duplicate_of_id=row.duplicate_of_id)

    @staticmethod
    def _copy(row: OpportunityRow, item: Opportunity, digest: str, search_text: str) -> None:
        for name in _COPIED:
            value = getattr(item, name)
            setattr(row, name, list(value) if isinstance(value, list) else value)
        row.canonical_url = canonical_url(item.url)
        row.fingerprint = fingerprint(item.title, item.closes_at)
        row.content_hash = digest
        row.search_text = search_text

    async def _original_of(self, row: OpportunityRow) -> int | None:
        """The first copy of the same call from another source (same canonical URL, or the
        same title and closing day), so a re-post is stored but never alerted twice."""
        return await self.session.scalar(
            select(OpportunityRow.id)
            .where(
                OpportunityRow.source != row.source,
                OpportunityRow.duplicate_of_id.is_(None),
                or_(
                    OpportunityRow.canonical_url == row.canonical_url,
                    OpportunityRow.fingerprint == row.fingerprint,
                ),
            )
            .order_by(OpportunityRow.id)
            .limit(1)
        )

    async def get(self, opportunity_id: int) -> Opportunity | None:
        row = await self.session.get(OpportunityRow, opportunity_id)
        return to_model(row) if row else None

    async def by_ids(self, ids: Iterable[int]) -> list[Opportunity]:
        wanted = list(ids)
        if not wanted:
            return []
        rows = await self.session.scalars(
            select(OpportunityRow).where(OpportunityRow.id.in_(wanted))
        )
        by_id = {row.id: to_model(row) for row in rows}
        return [by_id[i] for i in wanted if i in by_id]

    async def find(self, source: str, external_id: str) -> Opportunity | None:
        row = await self.session.scalar(
            select(OpportunityRow).where(
                OpportunityRow.source == source, OpportunityRow.external_id == external_id
            )
        )
        return to_model(row) if row else None

    async def listing(
        self,
        *,
        kinds: Sequence[str] = (),
        statuses: Sequence[str] = ("open", "upcoming"),
        closing_before: datetime | None = None,
        closing_after: datetime | None = None,
        now: datetime | None = None,
        upcoming_last: bool = False,
        limit: int = 50,
        offset: int = 0,
        order: str = "closes_at",
    ) -> list[Opportunity]:
        """Originals (not duplicates) filtered by kind, stored status and closing window.

        With ``now``, only what is live at ``now`` (nothing past its closing time or, for an
        event, its end, whatever the stored status says), with statuses as at ``now``;
        ``upcoming_last`` then lists what is open before what has not opened yet."""
        query = select(OpportunityRow).where(OpportunityRow.duplicate_of_id.is_(None))
        if kinds:
            query = query.where(OpportunityRow.kind.in_(kinds))
        if statuses:
            query = query.where(OpportunityRow.status.in_(statuses))
        if closing_before is not None:
            query = query.where(OpportunityRow.closes_at <= closing_before)
        if closing_after is not None:
            query = query.where(OpportunityRow.closes_at > closing_after)
        ordering = []
        if now is not None:
            query = query.where(*live_at(now))
            if upcoming_last:
                ordering.append(case((upcoming_at(now), 1), else_=0))
        column = getattr(OpportunityRow, order)
        query = query.order_by(*ordering, column.is_(None), column, OpportunityRow.id)
        rows = await self.session.scalars(query.limit(limit).offset(offset))
        items = [to_model(row) for row in rows]
        return as_of(items, now) if now is not None else items

    async def close_expired(self, now: datetime) -> list[int]:
        """Mark as closed what has passed its closing time, and events that are over;
        returns their ids. (Readers apply the clock themselves: this keeps the stored
        status, and so the live search index, from filling up with the past.)"""
        rows = list(
            await self.session.scalars(
                select(OpportunityRow).where(OpportunityRow.status != "closed", over_at(now))
            )
        )
        for row in rows:
            row.status = "closed"
            row.updated_at = now
        return [row.id for row in rows]

    async def count_by_status(self, now: datetime | None = None) -> dict[str, int]:
        """How many of each status: as stored, or with ``now`` as at ``now`` (the rule of
        ``bot.core.status.status_at``), which is what a report should say."""
        status = OpportunityRow.status
        if now is not None:
            status = case(
                (over_at(now), "closed"),
                (OpportunityRow.status == "closed", "closed"),
                (upcoming_at(now), "upcoming"),
                else_="open",
            )
        # Grouped outside, so PostgreSQL sees one expression, not two with their own params.
        statuses = select(status.label("status")).subquery()
        rows = await self.session.execute(
            select(statuses.c.status, func.count()).group_by(statuses.c.status)
        )
        return dict(rows.all())
