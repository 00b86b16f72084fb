"""The storage API the rest of Signpost uses.

``Store.unit()`` opens one transaction and hands out repositories bound to it, so that
"store the opportunity change and queue its alerts" commits together or not at all::

    async with store.unit() as unit:
        result = await unit.opportunities.upsert(item, now=now)
        await unit.outbox.enqueue(...)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database
from storage.repos.chats import ChatRepo
from storage.repos.glossary import GlossaryRepo
from storage.repos.grants import GrantRepo
from storage.repos.opportunities import OpportunityRepo
from storage.repos.outbox import OutboxRepo
from storage.repos.polling import PollingRepo
from storage.repos.search import SearchRepo
from storage.repos.tracking import TrackingRepo


@dataclass(slots=True)
class Unit:
    """Repositories sharing one session (one transaction)."""

    session: AsyncSession
    polling: PollingRepo
    opportunities: OpportunityRepo
    chats: ChatRepo
    search: SearchRepo
    outbox: OutboxRepo
    tracking: TrackingRepo
    glossary: GlossaryRepo
    grants: GrantRepo

    @classmethod
    def bind(cls, session: AsyncSession) -> Unit:
        return cls(
            session=session,
            polling=PollingRepo(session),
            opportunities=OpportunityRepo(session),
            chats=ChatRepo(session),
            search=SearchRepo(session),
            outbox=OutboxRepo(session),
            tracking=TrackingRepo(session),
            glossary=GlossaryRepo(session),
            grants=GrantRepo(session),
        )


class Store:
    """Owns the database; everything outside ``storage/`` goes through ``unit()``."""

    def __init__(self, database: Database) -> None:
        self.database = database

    @classmethod
    def from_url(cls, url: str, **kwargs) -> Store:
        return cls(Database(url, **kwargs))

    @property
    def dialect(self) -> str:
        return self.database.dialect

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[Unit]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        async with self.database.sessions() as session, session.begin():
            yield Unit.bind(session)

    async def upgrade(self) -> str:
        return await self.database.upgrade()

    async def close(self) -> None:
        await self.database.dispose()
