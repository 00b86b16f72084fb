"""Full-text search on both databases: relevance, closing-date order, filters, hostile input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from bot.core.model import Opportunity
from storage.repos.search import fts5_expression

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def item(n: int, title: str, summary: str = "", **extra) -> Opportunity:
    return Opportunity(
        source="test",
        external_id=str(n),
        url=f"https://example.org/{n}",
        title=title,
        summary=summary,
        closes_at=extra.pop("closes_at", datetime(2026, 6, n, tzinfo=UTC)),
        **extra,
    )


@pytest.fixture
async def filled(store):
    items = [
        item(1, "Dementia carers network", "Support for people caring for relatives"),
        item(2, "Youth mental health research", "Mental health of young people"),
        item(3, "Psychiatric genetics call", "Genomics of severe mental illness"),
        item(4, "Mental health in the workplace", "Employers and mental health"),
        item(5, "Closed mental health call", "Old", status="closed"),
        item(6, "Mental health internship", "Paid summer placement", kind="internship"),
        item(7, "Coastal erosion", "Geology and mental health of fishermen"),
    ]
    async with store.unit() as unit:
        for one in items:
            await unit.opportunities.upsert(one, now=NOW, search_text="")
    return store


async def test_title_matches_rank_before_body_matches_and_closed_are_excluded(filled):
    async with filled.unit() as unit:
        page = await unit.search.search([["mental", "health"]], now=NOW, limit=10)
    titles = [o.title for o in page.items]
    assert "Closed mental health call" not in titles
    assert titles[-1] == "Coastal erosion"  # body-only match ranks last
    assert set(titles[:3]) == {
        "Youth mental health research",
        "Mental health in the workplace",
        "Mental health internship",
    }
    assert page.total == 4


async def test_synonym_alternatives_widen_the_search(filled):
    async with filled.unit() as unit:
        page = await unit.search.search(
            [["mental", "health"], ["psychiatric"]], now=NOW, kinds=["call"]
        )
    assert "Psychiatric genetics call" in [o.title for o in page.items]
    assert all(o.kind == "call" for o in page.items)


async def test_paging_is_stable(filled):
    async with filled.unit() as unit:
        first = await unit.search.search([["mental", "health"]], now=NOW, limit=2)
        second = await unit.search.search([["mental", "health"]], now=NOW, limit=2, offset=2)
    assert len(first.items) == len(second.items) == 2
    assert not {o.id for o in first.items} & {o.id for o in second.items}


@pytest.mark.parametrize(
    "query", ['"', "AND OR NOT", "*", "mental* NEAR(", "'; DROP TABLE opportunities; --", "()"]
)
async def test_hostile_queries_are_just_text(filled, query):
    async with filled.unit() as unit:
        page = await unit.search.search([query.split()], now=NOW)
        still_there = await unit.search.search([["dementia"]], now=NOW)
    assert page.total >= 0
    assert still_there.total == 1


def test_fts5_expression_quotes_every_term():
    assert fts5_expression([["a", 'b"c'], ["d e"]]) == '("a" AND "b""c") OR ("d e")'


# ------------------------------------------------------------ the clock, not the stored status
# Three weeks into June items 1-3 have closed, but nothing ran close-expired: they still say
# "open" in the table.
LATER = datetime(2026, 6, 3, 12, tzinfo=UTC)


async def live_ids(store) -> set[int]:
    """What the live table holds (and, on SQLite, the FTS5 index: they must agree)."""
    async with store.database.engine.connect() as conn:
        ids = set((await conn.execute(text("SELECT id FROM live_opportunities"))).scalars())
        if store.dialect == "sqlite":
            indexed = set(
                (await conn.execute(text("SELECT rowid FROM opportunities_fts"))).scalars()
            )
            assert indexed == ids
    return ids


async def ids_of(store, *external_ids: str) -> set[int]:
    async with store.unit() as unit:
        return {(await unit.opportunities.find("test", e)).id for e in external_ids}


async def test_search_applies_the_clock_and_agrees_with_the_listing(filled):
    async with filled.unit() as unit:
        page = await unit.search.search([["mental", "health"]], now=LATER, limit=10)
        listed = await unit.opportunities.listing(now=LATER, limit=10)
    titles = [o.title for o in page.items]
    assert set(titles[:2]) == {"Mental health in the workplace", "Mental health internship"}
    assert titles[2:] == ["Coastal erosion"]
    assert page.total == 3
    assert {o.external_id for o in listed} == {"4", "6", "7"}
    assert {o.status for o in page.items + listed} == {"open"}


async def test_close_expired_takes_rows_out_of_the_live_index(filled):
    assert await live_ids(filled) == await ids_of(filled, "1", "2", "3", "4", "6", "7")
    async with filled.unit() as unit:
        closed = await unit.opportunities.close_expired(LATER)
    assert set(closed) == await ids_of(filled, "1", "2", "3")
    assert await live_ids(filled) == await ids_of(filled, "4", "6", "7")
    reopened = item(2, "Youth mental health research", closes_at=datetime(2026, 9, 1, tzinfo=UTC))
    async with filled.unit() as unit:
        await unit.opportunities.upsert(reopened, now=LATER, search_text="")
        page = await unit.search.search([["youth"]], now=LATER)
    assert [o.title for o in page.items] == ["Youth mental health research"]
    assert await live_ids(filled) == await ids_of(filled, "2", "4", "6", "7")


async def test_duplicates_and_deleted_rows_leave_the_index(filled):
    copy = item(1, "Dementia carers network", "Support for people caring for relatives")
    copy.source = "elsewhere"
    async with filled.unit() as unit:
        result = await unit.opportunities.upsert(copy, now=NOW, search_text="")
        await unit.session.execute(text("DELETE FROM opportunities WHERE external_id = '7'"))
    assert result.duplicate_of_id is not None
    assert result.id not in await live_ids(filled)
    assert await live_ids(filled) == await ids_of(filled, "1", "2", "3", "4", "6")


async def test_upcoming_items_come_after_open_ones_with_statuses_as_of_now(store):
    items = [
        item(
            1, "Mental health mental health fellowship", opens_at=datetime(2026, 4, 28, tzinfo=UTC)
        ),
        item(2, "Mental health awards", "For mental health", status="upcoming"),
        item(3, "Research on health", "mental", opens_at=datetime(2026, 2, 1, tzinfo=UTC)),
    ]
    async with store.unit() as unit:
        for one in items:
            await unit.opportunities.upsert(one, now=NOW, search_text="")
        page = await unit.search.search([["mental", "health"]], now=NOW)
        listed = await unit.opportunities.listing(now=NOW, upcoming_last=True)
        later = await unit.search.search(
            [["mental", "health"]], now=datetime(2026, 5, 1, tzinfo=UTC)
        )
    assert [(o.external_id, o.status) for o in page.items] == [
        ("3", "open"),
        ("1", "upcoming"),  # the better match, but not open yet
        ("2", "upcoming"),  # the page said so and gives no opening date
    ]
    assert (page.total, page.upcoming) == (3, 2)
    assert [o.external_id for o in listed] == ["3", "1", "2"]
    # Once its opening date has passed it is open, whatever was stored.
    assert [(o.external_id, o.status) for o in later.items] == [
        ("1", "open"),
        ("3", "open"),
        ("2", "upcoming"),
    ]
    assert later.upcoming == 1


def event(n: int, title: str, starts: datetime, ends: datetime | None = None) -> Opportunity:
    return Opportunity(
        source="test",
        external_id=f"event-{n}",
        url=f"https://example.org/events/{n}",
        title=title,
        kind="event",
        starts_at=starts,
        ends_at=ends,
    )


async def test_events_that_have_happened_are_not_listed_or_found(store):
    events = [
        event(1, "Peer support workshop", datetime(2023, 9, 14, 10, tzinfo=UTC)),
        event(2, "Peer support conference", NOW - timedelta(days=1), NOW + timedelta(hours=5)),
        event(3, "Peer support webinar", NOW + timedelta(days=3)),
        event(4, "Peer support drop-in", NOW - timedelta(hours=3), NOW - timedelta(hours=1)),
    ]
    async with store.unit() as unit:
        for one in events:  # stored as the parser gave them: "open"
            await unit.opportunities.upsert(one, now=NOW - timedelta(days=900), search_text="")
        found = await unit.search.search([["peer", "support"]], now=NOW, kinds=["event"])
        listed = await unit.opportunities.listing(kinds=["event"], now=NOW, order="starts_at")
        closed = await unit.opportunities.close_expired(NOW)
    assert [o.external_id for o in listed] == ["event-2", "event-3"]  # one is under way
    assert {o.external_id for o in found.items} == {"event-2", "event-3"}
    assert len(closed) == 2
    assert await live_ids(store) == {o.id for o in listed}


async def test_upgrading_from_0001_indexes_what_is_stored_and_downgrades(database_url):
    from alembic import command

    from storage.db import alembic_config
    from storage.store import Store
    from tests.helpers.databases import PostgresSchema

    def migrate(connection, revision: str, down: bool = False) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)

    schema = PostgresSchema(database_url) if database_url.startswith("postgresql") else None
    if schema is not None:
        await schema.create()
    store = Store.from_url(database_url, schema=schema.name if schema else None)
    try:
        async with store.database.engine.begin() as conn:
            await conn.run_sync(migrate, "0001")
        async with store.unit() as unit:
            await unit.opportunities.upsert(item(1, "Dementia carers"), now=NOW, search_text="")
            await unit.opportunities.upsert(
                item(2, "Dementia research", status="closed"), now=NOW, search_text=""
            )
        await store.upgrade()
        async with store.unit() as unit:
            page = await unit.search.search([["dementia"]], now=NOW)
        assert [o.title for o in page.items] == ["Dementia carers"]
        async with store.database.engine.begin() as conn:
            await conn.run_sync(migrate, "0001", True)
        await store.upgrade()
        async with store.unit() as unit:
            assert (await unit.search.search([["dementia"]], now=NOW)).total == 1
    finally:
        await store.close()
        if schema is not None:
            await schema.drop()


async def test_counts_by_status_as_at_now(filled):
    async with filled.unit() as unit:
        stored = await unit.opportunities.count_by_status()
        now = await unit.opportunities.count_by_status(LATER)
    assert stored == {"open": 6, "closed": 1}
    assert now == {"open": 3, "closed": 4}
