"""Full-text search on both databases: relevance, closing-date order, filters, hostile input."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

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
        page = await unit.search.search([["mental", "health"]], limit=10)
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
        page = await unit.search.search([["mental", "health"], ["psychiatric"]], kinds=["call"])
    assert "Psychiatric genetics call" in [o.title for o in page.items]
    assert all(o.kind == "call" for o in page.items)


async def test_paging_is_stable(filled):
    async with filled.unit() as unit:
        first = await unit.search.search([["mental", "health"]], limit=2)
        second = await unit.search.search([["mental", "health"]], limit=2, offset=2)
    assert len(first.items) == len(second.items) == 2
    assert not {o.id for o in first.items} & {o.id for o in second.items}


@pytest.mark.parametrize(
    "query", ['"', "AND OR NOT", "*", "mental* NEAR(", "'; DROP TABLE opportunities; --", "()"]
)
async def test_hostile_queries_are_just_text(filled, query):
    async with filled.unit() as unit:
        page = await unit.search.search([query.split()])
        still_there = await unit.search.search([["dementia"]])
    assert page.total >= 0
    assert still_there.total == 1


def test_fts5_expression_quotes_every_term():
    assert fts5_expression([["a", 'b"c'], ["d e"]]) == '("a" AND "b""c") OR ("d e")'
