"""Full-text search over open and upcoming opportunities, on SQLite FTS5 or PostgreSQL.

The caller passes *alternatives*: each is a list of words that must all appear (the user's
own query) or a phrase (a synonym from the taxonomy). Nothing the user typed reaches the
query language unquoted: FTS5 terms are double-quoted strings, PostgreSQL gets
``plainto_tsquery``/``phraseto_tsquery``, so "AND", "*" or quotes in a query are just text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.model import Opportunity
from storage.models import Opportunity as OpportunityRow
from storage.repos.opportunities import to_model


@dataclass(slots=True)
class SearchPage:
    items: list[Opportunity]
    total: int


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


# bm25() cannot sit beside a window function, so ranks are computed first, then joined.
_SQLITE = """
WITH hits AS MATERIALIZED (
  SELECT rowid AS id, bm25(opportunities_fts, 8.0, 2.0, 1.0) AS rank
  FROM opportunities_fts WHERE opportunities_fts MATCH :expression
)
SELECT o.id AS id, count(*) OVER () AS total
FROM hits JOIN opportunities o ON o.id = hits.id
WHERE o.duplicate_of_id IS NULL AND o.status IN ('open', 'upcoming') {kind_filter}
ORDER BY hits.rank, o.closes_at IS NULL, o.closes_at, o.id
LIMIT :limit OFFSET :offset
"""

# The rank is computed inside ``hits`` so the window count does not drag the tsvector along;
# ts_rank (not ts_rank_cd) because cover density costs several times more per row.
_POSTGRES = """
WITH q AS (SELECT {tsquery} AS query),
hits AS (
  SELECT o.id, o.closes_at, ts_rank(o.search_vector, q.query) AS rank
  FROM opportunities o, q
  WHERE o.search_vector @@ q.query
    AND o.duplicate_of_id IS NULL AND o.status IN ('open', 'upcoming') {kind_filter}
)
SELECT id, count(*) OVER () AS total FROM hits
ORDER BY rank DESC, closes_at IS NULL, closes_at, id
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
        kinds: Sequence[str] = (),
        limit: int = 5,
        offset: int = 0,
    ) -> SearchPage:
        """One page of matches, most relevant first, then soonest closing."""
        alternatives = [list(a) for a in alternatives if any(w.strip() for w in a)]
        if not alternatives:
            return SearchPage([], 0)
        params: dict = {"limit": limit, "offset": offset}
        kind_filter = ""
        if kinds:
            kind_filter = "AND o.kind IN :kinds"
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
        statement = text(sql)
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
        return SearchPage([to_model(loaded[i]) for i in ids if i in loaded], rows[0].total)
