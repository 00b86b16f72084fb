"""Reads and writes ``grants``: past awards imported from 360Giving files."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from sources.threesixty import GrantRecord
from storage.models import Grant

_COLUMNS = [
    "title",
    "description",
    "url",
    "amount_pence",
    "currency",
    "award_date",
    "funder_id",
    "funder_name",
    "recipient_id",
    "recipient_name",
    "programme",
    "topics",
    "topics_text",
    "roles",
    "locations",
    "licence",
    "publisher",
    "imported_at",
]


def _like(text: str) -> str:
    """``text`` as a LIKE pattern matched literally (``%`` and ``_`` escaped)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class GrantRepo:
    """Grants, keyed by their 360Giving identifier (a re-import updates them)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def upsert_many(self, records: Sequence[GrantRecord], *, now: datetime) -> None:
        """Insert or replace ``records`` (topics already tagged) in this unit's transaction."""
        if not records:
            return
        insert = pg_insert if self.session.bind.dialect.name == "postgresql" else sqlite_insert
        # A file may repeat an identifier; the last record wins, as a re-import would.
        rows = {
            record.grant_id: {
                "grant_id": record.grant_id,
                **{name: getattr(record, name) for name in _COLUMNS if hasattr(record, name)},
                "topics_text": " " + " ".join(record.topics) + " ",
                "imported_at": now,
            }
            for record in records
        }
        statement = insert(Grant).values(list(rows.values()))
        statement = statement.on_conflict_do_update(
            index_elements=["grant_id"],
            set_={
                **{name: statement.excluded[name] for name in _COLUMNS},
                # A re-import that does not say the licence keeps the one known before.
                **{
                    name: func.coalesce(
                        func.nullif(statement.excluded[name], ""), getattr(Grant, name)
                    )
                    for name in ("licence", "publisher")
                },
            },
        )
        await self.session.execute(statement)

    async def fill_attribution(self, *, now: datetime, licence: str, publisher: str) -> None:
        """Give the grants of the import made at ``now`` the file's licence and publisher
        where their own records named none (a package may list them after its grants)."""
        for name, value in (("licence", licence), ("publisher", publisher)):
            if value:
                column = getattr(Grant, name)
                await self.session.execute(
                    update(Grant)
                    .where(Grant.imported_at == now, column == "")
                    .values({name: value[:500]})
                )

    async def count(self) -> int:
        return await self.session.scalar(select(func.count()).select_from(Grant)) or 0

    async def matching(
        self, *, topics: Sequence[str] = (), words: str = "", limit: int = 20_000
    ) -> list[Grant]:
        """Grants tagged with any of ``topics``, or whose title or description holds
        ``words`` at the start of a word ("art" finds "art gallery", not "participation");
        the latest first, at most ``limit`` (enough for a funder summary)."""
        conditions = [Grant.topics_text.like(_like(f" {topic} "), escape="\\") for topic in topics]
        if words:
            pattern = _like(" " + words.lower())
            conditions += [
                func.lower(" " + Grant.title).like(pattern, escape="\\"),
                func.lower(" " + Grant.description).like(pattern, escape="\\"),
            ]
        if not conditions:
            return []
        rows = await self.session.scalars(
            select(Grant)
            .where(or_(*conditions))
            .order_by(Grant.award_date.desc(), Grant.id)
            .limit(limit)
        )
        return list(rows)

    async def of_funder(self, name: str, *, limit: int = 20_000) -> list[Grant]:
        """One funder's grants, found by identifier, exact name, or a part of its name."""
        folded = name.strip().lower()
        exact = await self.session.scalars(
            select(Grant)
            .where(
                or_(func.lower(Grant.funder_id) == folded, func.lower(Grant.funder_name) == folded)
            )
            .order_by(Grant.award_date.desc(), Grant.id)
            .limit(limit)
        )
        found = list(exact)
        if found:
            return found
        rows = await self.session.scalars(
            select(Grant)
            .where(func.lower(Grant.funder_name).like(_like(folded), escape="\\"))
            .order_by(Grant.award_date.desc(), Grant.id)
            .limit(limit)
        )
        return list(rows)
