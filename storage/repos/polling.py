"""Polling state: per-source health and per-URL validators for conditional GET."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import HttpValidator, SourceState


@dataclass(slots=True)
class SourceHealth:
    """A snapshot of one source's polling state, for reports, health checks and backoff."""

    name: str
    enabled: bool
    consecutive_failures: int
    last_attempt_at: datetime | None
    last_success_at: datetime | None
    next_poll_at: datetime | None
    last_error: str | None
    items_last_parsed: int | None
    items_max_parsed: int
    markup_suspect: bool
    last_duration_ms: int | None
    held_at: datetime | None = None  # held after a flood: items stored, alerts not sent
    held_reason: str | None = None


def _health(row: SourceState) -> SourceHealth:
    return SourceHealth(
        name=row.name,
        enabled=row.enabled,
        consecutive_failures=row.consecutive_failures,
        last_attempt_at=row.last_attempt_at,
        last_success_at=row.last_success_at,
        next_poll_at=row.next_poll_at,
        last_error=row.last_error,
        items_last_parsed=row.items_last_parsed,
        items_max_parsed=row.items_max_parsed,
        markup_suspect=row.markup_suspect,
        last_duration_ms=row.last_duration_ms,
        held_at=row.held_at,
        held_reason=row.held_reason,
    )


class PollingRepo:
    """Reads and writes ``sources`` and ``http_validators``."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _row(self, name: str) -> SourceState:
        row = await self.session.get(SourceState, name)
        if row is None:
            row = SourceState(
                name=name,
                enabled=True,
                consecutive_failures=0,
                items_max_parsed=0,
                markup_suspect=False,
            )
            self.session.add(row)
            await self.session.flush()
        return row

    async def get(self, name: str) -> SourceHealth | None:
        row = await self.session.get(SourceState, name)
        return _health(row) if row else None

    async def all(self) -> list[SourceHealth]:
        rows = await self.session.scalars(select(SourceState).order_by(SourceState.name))
        return [_health(row) for row in rows]

    async def record_success(
        self,
        name: str,
        *,
        now: datetime,
        items: int | None,
        next_poll_at: datetime,
        duration_ms: int,
    ) -> SourceHealth:
        """A poll that worked. ``items=None`` means "not modified": the item counts stay.

        A source that used to yield items and now yields none is marked ``markup_suspect``
        (its markup probably changed) instead of being taken at its word.
        """
        row = await self._row(name)
        row.last_attempt_at = now
        row.last_success_at = now
        row.next_poll_at = next_poll_at
        row.consecutive_failures = 0
        row.last_duration_ms = duration_ms
        if items is not None:
            row.markup_suspect = items == 0 and row.items_max_parsed > 0
            if row.markup_suspect:
                row.last_error = "markup may have changed: the page parsed to no items"
                row.last_error_at = now
            else:
                row.last_error = None
            row.items_last_parsed = items
            row.items_max_parsed = max(row.items_max_parsed, items)
        return _health(row)

    async def record_failure(
        self, name: str, *, now: datetime, error: str, next_poll_at: datetime, duration_ms: int
    ) -> SourceHealth:
        row = await self._row(name)
        row.last_attempt_at = now
        row.consecutive_failures += 1
        row.last_error = error[:2000]
        row.last_error_at = now
        row.next_poll_at = next_poll_at
        row.last_duration_ms = duration_ms
        return _health(row)

    async def mark_admins_alerted(self, name: str, now: datetime) -> None:
        row = await self._row(name)
        row.admins_alerted_at = now

    async def new_items_history(self, name: str) -> tuple[list[int] | None, datetime | None]:
        """(new items in recent polls, oldest first — None before the first poll; when the
        source was held, or None): what ``bot.core.floods`` judges a poll against."""
        row = await self.session.get(SourceState, name)
        if row is None:
            return None, None
        history = row.new_items_history
        return (None if history is None else [int(n) for n in history]), row.held_at

    async def record_new_items(self, name: str, count: int | None, *, keep: int) -> None:
        """Remember one poll's new items (``None``: the first poll, whose backlog is not
        what the source usually yields, only starts the history)."""
        row = await self._row(name)
        history = list(row.new_items_history or [])
        if count is not None:
            history = [*history, count][-keep:]
        row.new_items_history = history

    async def hold(self, name: str, *, now: datetime, reason: str) -> bool:
        """Hold a source's alerts; False when it was held already."""
        row = await self._row(name)
        if row.held_at is not None:
            return False
        row.held_at, row.held_reason = now, reason[:2000]
        return True

    async def release(self, name: str) -> bool:
        """Let a held source's alerts out again; False when it was not held."""
        row = await self.session.get(SourceState, name)
        if row is None or row.held_at is None:
            return False
        row.held_at, row.held_reason = None, None
        return True

    async def validators(self, url: str) -> tuple[str | None, str | None]:
        """(ETag, Last-Modified) last seen for ``url``."""
        row = await self.session.get(HttpValidator, url)
        return (row.etag, row.last_modified) if row else (None, None)

    async def save_validators(
        self, url: str, etag: str | None, last_modified: str | None, now: datetime
    ) -> None:
        row = await self.session.get(HttpValidator, url)
        if etag is None and last_modified is None:
            if row is not None:
                await self.session.delete(row)
            return
        if row is None:
            row = HttpValidator(url=url)
            self.session.add(row)
        row.etag, row.last_modified, row.updated_at = etag, last_modified, now
