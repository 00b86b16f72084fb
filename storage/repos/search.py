"""Full-text search over what is open or upcoming now, on SQLite FTS5 or PostgreSQL.

The caller passes *alternatives*: each is a list of words that must all appear (the user's
own query) or a phrase (a synonym from the taxonomy). Nothing the user typed reaches the
query language unquoted: FTS5 terms are double-quoted strings, PostgreSQL gets
``plainto_tsquery``/``phraseto_tsquery``, so "AND", "*" or quotes in a query are just text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.model import Opportunity
from bot.core.status import as_of
from storage.models import Opportunity as OpportunityRow
from storage.repos.opportunities import to_model
from storage.types import UTCDateTime


@dataclass(slots=True)
class SearchPage:
    """A page of hits; ``total`` counts every hit, ``upcoming`` those not open yet."""

    items: list[Opportunity]
    total: int
    upcoming: int = 0


def _fts5_string(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def fts5_expression(alternatives: Sequence[Sequence[str]]) -> str:
    """``("dementia" AND "carers") OR ("alzheimer")``: each alternative's words all needed."""
    groups = []
    for words in alternatives:
        quoted = [_fts5_string(w) for w in words if w.strip()]
        if quoted:
            groups.append("(" + " AND ".join(quoted) + ")")
    return " OR ".join(groups)


# Both queries rank only ``live_opportunities`` (the originals not closed, kept by triggers:
# migration 0002_live) and apply the clock themselves: ``live_until`` (closing time, or an
# event's end) must be after now, whatever the stored status says. Open items come before
# upcoming ones (``upcoming`` is 1), each group soonest closing first and no closing date
# last (what people expect, and what the reply says: ``queries.ordering_note``); relevance
# only breaks ties.
_UPCOMING = "CASE WHEN l.opens_at > :now OR (l.opens_at IS NULL AND l.status = 'upcoming') "
_UPCOMING += "THEN 1 ELSE 0 END"
_LIVE = "(l.live_until IS NULL OR l.live_until > :now)"

# bm25() cannot sit beside a window function, so the hits are gathered (ranked, joined to
# the narrow live table for the filters) once, then counted and sorted apart. The wide
# opportunities rows are not read at all.
_SQLITE = f"""
WITH live AS MATERIALIZED (
  SELECT l.id, l.closes_at, bm25(opportunities_fts, 8.0, 2.0, 1.0) AS rank,
    {_UPCOMING} AS upcoming
  FROM opportunities_fts JOIN live_opportunities l ON l.id = opportunities_fts.rowid
  WHERE opportunities_fts MATCH :expression AND {_LIVE} {{kind_filter}}
),
counts AS MATERIALIZED (SELECT count(*) AS total, sum(upcoming) AS upcoming_total FROM live)
SELECT live.id, live.upcoming, counts.total, counts.upcoming_total FROM live, counts
ORDER BY live.upcoming, live.closes_at IS NULL, live.closes_at, live.rank, live.id
LIMIT :limit OFFSET :offset
"""

# MATERIALIZED so the rank is computed once per hit and the count and sort do not drag the
# tsvector along, and so the count is made once even where the planner guesses one hit and
# would recount it per row; ts_rank (not ts_rank_cd) because cover density costs more.
_POSTGRES = f"""
WITH q AS (SELECT {{tsquery}} AS query),
hits AS MATERIALIZED (
  SELECT l.id, l.closes_at, ts_rank(l.search_vector, q.query) AS rank, {_UPCOMING} AS upcoming
  FROM live_opportunities l, q
  WHERE l.search_vector @@ q.query AND {_LIVE} {{kind_filter}}
),
counts AS MATERIALIZED (
  SELECT count(*) AS total, sum(upcoming) AS upcoming_total FROM hits
)
SELECT hits.id, hits.upcoming, counts.total, counts.upcoming_total FROM hits, counts
ORDER BY hits.upcoming, hits.closes_at IS NULL, hits.closes_at, hits.rank DESC, hits.id
LIMIT :limit OFFSET :offset
"""


class SearchRepo:
    """The one place that speaks each database's full-text dialect."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def search(
        self,
        alternatives: Sequence[Sequence[str]],
        *,
        now: datetime,
        kinds: Sequence[str] = (),
        limit: int = 5,
        offset: int = 0,
    ) -> SearchPage:
        """One page of what is open or upcoming at ``now``: open first, each group most
        relevant first, then soonest closing; statuses as at ``now``."""
        alternatives = [list(a) for a in alternatives if any(w.strip() for w in a)]
        if not alternatives:
            return SearchPage([], 0)
        params: dict = {"limit": limit, "offset": offset, "now": now}
        kind_filter = ""
        if kinds:
            kind_filter = "AND l.kind IN :kinds"
            params["kinds"] = list(kinds)
        if self.session.bind.dialect.name == "sqlite":
            sql = _SQLITE.format(kind_filter=kind_filter)
            params["expression"] = fts5_expression(alternatives)
        else:
            parts = []
            for index, words in enumerate(alternatives):
                params[f"alt{index}"] = " ".join(words)
                function = "phraseto_tsquery" if len(words) == 1 else "plainto_tsquery"
                parts.append(f"{function}('english', :alt{index})")
            sql = _POSTGRES.format(tsquery=" || ".join(parts), kind_filter=kind_filter)
        # The instant goes through the column type, so SQLite compares it as stored.
        statement = text(sql).bindparams(bindparam("now", type_=UTCDateTime()))
        if kinds:
            statement = statement.bindparams(bindparam("kinds", expanding=True))
        rows = (await self.session.execute(statement, params)).all()
        if not rows:
            return SearchPage([], 0)
        ids = [row.id for row in rows]
        loaded = {
            row.id: row
            for row in await self.session.scalars(
                select(OpportunityRow).where(OpportunityRow.id.in_(ids))
            )
        }
        items = as_of([to_model(loaded[i]) for i in ids if i in loaded], now)
        return SearchPage(items, rows[0].total, int(rows[0].upcoming_total or 0))
