"""Benchmark data as database rows: plain dicts for SQLAlchemy core ``insert(table)``
executemany, with explicit ids, inserted in one transaction (see ``bench/_data.py``)."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping
from typing import Any

from sqlalchemy import insert, text

from bench._data import Generator
from bench._distributions import NOW, vocabulary
from bot.core.model import Opportunity
from bot.core.pipeline import search_text
from sources.normalise import canonical_url, fingerprint
from storage.models import Chat as ChatRow
from storage.models import Opportunity as OpportunityRow
from storage.models import Subscription as SubscriptionRow
from storage.store import Store


def opportunity_row(item: Opportunity, row_id: int, text_for_search: str) -> dict[str, Any]:
    """The ``opportunities`` row the upsert would write for ``item`` (the content hash is a
    cheap stand-in: nothing here compares it)."""
    return {
        "id": row_id,
        "source": item.source,
        "external_id": item.external_id,
        "url": item.url,
        "canonical_url": canonical_url(item.url),
        "fingerprint": fingerprint(item.title, item.closes_at),
        "duplicate_of_id": None,
        "parent_id": None,
        "title": item.title,
        "kind": item.kind,
        "status": item.status,
        "funders": item.funders,
        "opens_at": item.opens_at,
        "closes_at": item.closes_at,
        "published_at": item.published_at,
        "starts_at": None,
        "ends_at": None,
        "location": None,
        "online": None,
        "total_fund_pence": item.total_fund_pence,
        "award_min_pence": None,
        "award_max_pence": item.award_max_pence,
        "summary": item.summary,
        "eligibility": item.eligibility,
        "search_text": text_for_search,
        "topics": item.topics,
        "roles": item.roles,
        "flags": item.flags,
        "glossary_terms": [],
        "extra": {},
        "content_hash": hashlib.sha256(item.external_id.encode()).hexdigest(),
        "first_seen_at": item.published_at or NOW,
        "last_seen_at": NOW,
        "updated_at": NOW,
        "last_changes": [],
    }


def opportunity_rows(generator: Generator, count: int) -> list[dict[str, Any]]:
    """``count`` rows with their search text; about 2% are re-posts of an earlier row
    (``duplicate_of_id`` set), which search leaves out."""
    vocab = vocabulary()
    rng = random.Random(generator.seed * 13)
    rows = []
    for row_id, item in enumerate(generator.opportunities(count), start=1):
        row = opportunity_row(item, row_id, search_text(item, vocab))
        if row_id > 100 and rng.random() < 0.02:
            row["duplicate_of_id"] = rng.randint(1, row_id - 1)
        rows.append(row)
    return rows


TABLES = {
    "chats": ChatRow.__table__,
    "subscriptions": SubscriptionRow.__table__,
    "opportunities": OpportunityRow.__table__,
}


async def bulk_insert(
    store: Store, rows_by_table: Mapping[str, list[dict[str, Any]]], chunk: int = 5000
) -> None:
    """Insert rows with core ``insert(table)`` executemany, in one transaction, then move
    PostgreSQL's id sequences past the explicit ids."""
    async with store.database.engine.begin() as conn:
        for name, rows in rows_by_table.items():
            table = TABLES[name]
            for start in range(0, len(rows), chunk):
                await conn.execute(insert(table), rows[start : start + chunk])
            if store.dialect == "postgresql" and rows:
                await conn.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), :top)"),
                    {"top": max(row["id"] for row in rows)},
                )
