"""Glossary additions by admins and term suggestions from users."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import GlossarySuggestion, GlossaryTerm


@dataclass(slots=True)
class Suggestion:
    id: int
    chat_id: int | None
    user_id: str | None
    text: str
    created_at: datetime


class GlossaryRepo:
    """Reads and writes ``glossary_terms`` and ``glossary_suggestions``."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def suggest(
        self, chat_id: int | None, user_id: str | None, text: str, *, now: datetime
    ) -> int:
        row = GlossarySuggestion(
            chat_id=chat_id, user_id=user_id, text=text[:500], status="open", created_at=now
        )
        self.session.add(row)
        await self.session.flush()
        return row.id

    async def open_suggestions(self) -> list[Suggestion]:
        rows = await self.session.scalars(
            select(GlossarySuggestion)
            .where(GlossarySuggestion.status == "open")
            .order_by(GlossarySuggestion.id)
        )
        return [Suggestion(r.id, r.chat_id, r.user_id, r.text, r.created_at) for r in rows]

    async def resolve_suggestion(self, suggestion_id: int, status: str = "done") -> bool:
        result = await self.session.execute(
            update(GlossarySuggestion)
            .where(GlossarySuggestion.id == suggestion_id)
            .values(status=status)
        )
        return bool(result.rowcount)

    async def save_term(self, entry: dict[str, Any], *, by: str, now: datetime) -> None:
        """Add or replace an admin term (it overrides the packaged one with the same slug)."""
        row = await self.session.get(GlossaryTerm, entry["slug"])
        if row is None:
            row = GlossaryTerm(slug=entry["slug"])
            self.session.add(row)
        for name in ("term", "group", "definition", "audience", "example", "url"):
            setattr(row, name, entry.get(name) or "")
        row.aliases = list(entry.get("aliases") or [])
        row.related = list(entry.get("related") or [])
        row.updated_by, row.updated_at = by, now

    async def terms(self) -> list[dict[str, Any]]:
        rows = await self.session.scalars(select(GlossaryTerm).order_by(GlossaryTerm.slug))
        return [
            {
                name: getattr(r, name)
                for name in (
                    "slug",
                    "term",
                    "aliases",
                    "group",
                    "definition",
                    "audience",
                    "example",
                    "related",
                    "url",
                )
            }
            for r in rows
        ]
