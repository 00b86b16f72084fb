"""Search benchmark: /calls over 100,000 opportunities, and what the handler adds to the query.

Setup: 100,000 opportunities from ``bench/_data.py`` (real UKRI titles and taxonomy phrases;
35% closed, 50% open, 15% upcoming; 80% calls; 2% re-posts marked as duplicates), tagged by
the real tagger, with the pipeline's search text, bulk-inserted with core ``insert(...)``
executemany in one transaction. The live search index is kept by the schema itself: the
triggers of migration 0002_live fill ``live_opportunities`` with the originals not closed,
and its FTS5 table on SQLite or its ``search_vector`` GIN index on PostgreSQL (where
``ANALYZE`` then runs, as autovacuum would soon after such a load). The clock is frozen at
the data's day (``bench._distributions.NOW``): search applies it to every row.

Measured, over a mix of realistic queries (topics that expand to synonyms, plain words, an
alias, a funder, rare words, a query that finds nothing), interleaved round by round:
- the /calls handler, ``queries.search(None, services, query, kind="call")``: synonym
  expansion, a unit of work, the ranked query, loading the page, the reply;
- the raw full-text query, ``SearchRepo.search`` with the same alternatives, kinds and page,
  timed alone inside an already connected unit.

Targets: handler p95 at most 50 ms; handler p50 at most 3 times the raw query's p50.

    .venv/bin/python bench/search.py [--postgres [URL]] [--rows 100000] [--rounds 8]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from bench._common import Stopwatch, bench_parser, check, emit, note, open_store, ratio  # noqa: E402
from bench._data import Generator  # noqa: E402
from bench._distributions import NOW, vocabulary  # noqa: E402
from bench._rows import bulk_insert, opportunity_rows  # noqa: E402
from bot.clock import FrozenClock  # noqa: E402
from bot.core import queries  # noqa: E402
from bot.core.context import Services  # noqa: E402
from storage.store import Store  # noqa: E402

P95_TARGET_MS = 50.0
RATIO_TARGET = 3.0
KIND = "call"
NO_MATCH = "zebrafish xenotransplantation"
RARE = ("trichotillomania", "misophonia", "hikikomori")
QUERIES = (
    "mental health",
    "dementia carers",
    "suicide prevention",
    "young people",
    "peer support",
    "psychosis",
    "eating disorders",
    "loneliness",
    "social prescribing",
    "lived experience",
    "homelessness",
    "veterans",
    "perinatal mental health",
    "digital mental health apps",
    "co-production",
    "early career fellowship",
    "PTSD",
    "autism",
    "health inequalities",
    "crisis",
    "CYP",
    "NIHR",
    "arts therapy evaluation",
    *RARE,
    NO_MATCH,
)


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (``share`` in 0..1) of ``values``."""
    ordered = sorted(values)
    rank = max(1, round(share * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


async def handler_ms(services: Services, query: str) -> float:
    with Stopwatch() as watch:
        reply = await queries.search(None, services, query, kind=KIND)
    check(bool(reply.text), f"no reply text for {query!r}")
    return watch.seconds * 1000


async def raw_ms(store: Store, alternatives: list[list[str]]) -> tuple[float, list[int], int]:
    async with store.unit() as unit:
        await unit.session.execute(text("SELECT 1"))  # connect before the clock starts
        with Stopwatch() as watch:
            page = await unit.search.search(
                alternatives, now=NOW, kinds=[KIND], limit=queries.PAGE_SIZE
            )
    return watch.seconds * 1000, [item.id for item in page.items], page.total


async def measure(store: Store, services: Services, rounds: int, rows: int) -> dict:
    alternatives = {q: queries.search_alternatives(q, services) for q in QUERIES}
    totals: dict[str, int] = {}
    for query in QUERIES:  # warm-up, and the handler's page must be the raw query's page
        items, total = await queries.find(services, query, kind=KIND)
        _, ids, raw_total = await raw_ms(store, alternatives[query])
        check([i.id for i in items] == ids, f"handler and raw query differ for {query!r}")
        check(total == raw_total, f"totals differ for {query!r}: {total} != {raw_total}")
        totals[query] = total
    check(totals[NO_MATCH] == 0, f"{NO_MATCH!r} found {totals[NO_MATCH]}")
    for word in RARE:  # about 0.03% of rows each, so a smoke run may find none
        check(totals[word] < max(200, rows // 500), f"rare {word!r} found {totals[word]}")
        check(totals[word] > 0 or rows < 20_000, f"rare {word!r} found nothing")
    check(totals["mental health"] > rows // 100, f"'mental health' found {totals['mental health']}")

    handler: dict[str, list[float]] = {q: [] for q in QUERIES}
    raw: dict[str, list[float]] = {q: [] for q in QUERIES}
    for _ in range(rounds):
        for query in QUERIES:
            handler[query].append(await handler_ms(services, query))
            raw[query].append((await raw_ms(store, alternatives[query]))[0])

    by_query = sorted(QUERIES, key=lambda q: -statistics.median(handler[q]))
    for query in by_query:
        note(
            f"{query!r:34} hits {totals[query]:6}  alternatives {len(alternatives[query]):2}  "
            f"handler p50 {statistics.median(handler[query]):7.2f} ms  "
            f"raw p50 {statistics.median(raw[query]):7.2f} ms"
        )
    all_handler = [ms for q in QUERIES for ms in handler[q]]
    all_raw = [ms for q in QUERIES for ms in raw[q]]
    p50, p95 = statistics.median(all_handler), percentile(all_handler, 0.95)
    raw_p50 = statistics.median(all_raw)
    return {
        "queries": len(QUERIES),
        "calls": len(all_handler),
        "p50_ms": round(p50, 2),
        "p95_ms": round(p95, 2),
        "max_ms": round(max(all_handler), 2),
        "p95_target_ms": P95_TARGET_MS,
        "p95_ratio_to_target": ratio(p95, P95_TARGET_MS),
        "raw_p50_ms": round(raw_p50, 2),
        "raw_p95_ms": round(percentile(all_raw, 0.95), 2),
        "handler_to_raw_p50": ratio(p50, raw_p50),
        "handler_to_raw_target": RATIO_TARGET,
        "slowest": {q: round(statistics.median(handler[q]), 1) for q in by_query[:3]},
        "hits": {q: totals[q] for q in by_query[:3]},
    }


async def run(args: argparse.Namespace) -> dict:
    with Stopwatch() as gen:
        rows = opportunity_rows(Generator(), args.rows)
    note(f"generated {len(rows)} opportunities in {gen.seconds:.1f} s")
    services = None
    with tempfile.TemporaryDirectory() as workdir:
        store, schema = await open_store(args.postgres, Path(workdir))
        try:
            with Stopwatch() as insert:
                await bulk_insert(store, {"opportunities": rows})
                if store.dialect == "postgresql":
                    async with store.database.engine.begin() as conn:
                        await conn.execute(text("ANALYZE opportunities, live_opportunities"))
            note(f"inserted with the full-text index in {insert.seconds:.1f} s")
            del rows
            # The data's own day: open, upcoming and closed are relative to it.
            services = Services(store=store, clock=FrozenClock(NOW), vocabulary=vocabulary())
            figures = await measure(store, services, args.rounds, args.rows)
        finally:
            await store.close()
            if schema is not None:
                await schema.drop()
    return {
        "bench": "search",
        "database": "postgresql" if args.postgres else "sqlite",
        "rows": args.rows,
        "insert_s": round(insert.seconds, 3),
        **figures,
    }


def main(argv: list[str] | None = None) -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=8, help="passes over the query mix")
    args = parser.parse_args(argv)
    check(args.rounds >= 1, "--rounds must be at least 1")
    logging.basicConfig(level=logging.WARNING)
    emit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
