"""Poll-cycle benchmark: how close a full cycle comes to what politeness allows, and proof
that an all-304 cycle writes nothing but poll state.

Setup: 50 sources on 5 loopback "hosts" (5 fake websites, one port each; the fetcher keys
politeness by origin), 10 sources per host, every answer after 300 ms. Five hosts rather
than fifty because that is the real shape (UKRI, MRC and ESRC share www.ukri.org) and because
it makes per-host politeness, not poll_many's concurrency, the limit being measured. Sources
are listed host by host, the worst order for a naive scheduler.

Ideal: each host's requests are independent of other hosts, so a cycle lasts as long as the
busiest host. With per-host concurrency c, minimum gap g between starts and latency L, request
k (from 0) can start at best at

    s_k = k*g                          if L < c*g  (the gap binds)
    s_k = floor(k/c)*L + (k mod c)*g   otherwise   (the c slots bind)

and the host is done at s_{n-1} + L; the first cycle's n includes robots.txt.

    .venv/bin/python bench/poll.py [--postgres postgresql://...] [--min-gap 0.1]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
from collections import Counter
from pathlib import Path
from urllib.parse import urljoin

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bs4 import BeautifulSoup  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from bench._common import Stopwatch, WriteCounter, check, emit, note, ratio  # noqa: E402
from bot.clock import SystemClock  # noqa: E402
from bot.core.model import Opportunity  # noqa: E402
from sources.base import ParseResult, Source, SourceConfig  # noqa: E402
from sources.http import Fetcher, build_http_client, default_user_agent  # noqa: E402
from sources.poller import IngestStats, poll_many  # noqa: E402
from storage.models import Opportunity as OpportunityRow  # noqa: E402
from storage.store import Store  # noqa: E402
from tests.helpers.databases import PostgresSchema  # noqa: E402
from tests.helpers.fake_website import FakeWebsite  # noqa: E402

ITEMS_PER_SOURCE = 3


def listing(*ids: int) -> str:
    links = "".join(f'<li><a href="/calls/{n}">Call {n}</a></li>' for n in ids)
    return f"<html><body><ul class='calls'>{links}</ul></body></html>"


class ListSource(Source):
    """A minimal listing parser, so the benchmark measures polling, not a real site's parser."""

    def parse(self, body: bytes, url: str) -> ParseResult:
        calls = BeautifulSoup(body, "html.parser").select("ul.calls > li > a")
        return ParseResult(
            [
                Opportunity(self.name, a["href"], urljoin(url, a["href"]), a.get_text(strip=True))
                for a in calls
            ]
        )


def ideal_host_seconds(requests: int, per_host: int, gap: float, latency: float) -> float:
    """When the last of ``requests`` to one host finishes, at best (see the module doc)."""
    if requests == 0:
        return 0.0
    k = requests - 1
    start = (
        k * gap if latency < per_host * gap else (k // per_host) * latency + (k % per_host) * gap
    )
    return start + latency


class UpsertIngest:
    """Stores items with the real repository, so the benchmark measures real writes."""

    def __init__(self, store: Store, clock: SystemClock) -> None:
        self.store, self.clock = store, clock

    async def __call__(self, source: Source, items: list[Opportunity]) -> IngestStats:
        stats = IngestStats()
        async with self.store.unit() as unit:
            for item in items:
                result = await unit.opportunities.upsert(item, now=self.clock.now())
                setattr(stats, result.outcome, getattr(stats, result.outcome) + 1)
        return stats


async def count_opportunities(store: Store) -> int:
    async with store.unit() as unit:
        return await unit.session.scalar(select(func.count()).select_from(OpportunityRow))


async def open_store(
    args: argparse.Namespace, workdir: Path
) -> tuple[Store, PostgresSchema | None]:
    if args.postgres:
        schema = PostgresSchema(args.postgres)
        await schema.create()
        store = Store.from_url(args.postgres, schema=schema.name)
    else:
        schema, store = None, Store.from_url(f"sqlite:///{workdir / 'bench.db'}")
    await store.upgrade()
    return store, schema


async def run(args: argparse.Namespace) -> dict:
    sites = [FakeWebsite(delay=args.latency) for _ in range(args.hosts)]
    for site in sites:
        await site.start()
    sources: list[Source] = []
    for host, site in enumerate(sites):  # host-major: the worst order for the scheduler
        for n in range(args.sources // args.hosts):
            path = f"/s{host}-{n}/calls"
            first = (host * 1000 + n) * 10
            site.serve(path, listing(*range(first, first + ITEMS_PER_SOURCE)), etag=f'"{path}"')
            config = SourceConfig(name=f"s{host}-{n}", type="bench", url=site.url(path))
            sources.append(ListSource(config))
    per_host = len(sources) // args.hosts
    clock = SystemClock()
    with tempfile.TemporaryDirectory() as workdir:
        store, schema = await open_store(args, Path(workdir))
        http = build_http_client(default_user_agent("https://example.org/signpost-bench"))
        fetcher = Fetcher(http, per_host=args.per_host, min_gap=args.min_gap)
        ingest = UpsertIngest(store, clock)

        async def cycle() -> tuple[list, float]:
            with Stopwatch() as watch:
                reports = await poll_many(
                    sources,
                    fetcher=fetcher,
                    store=store,
                    clock=clock,
                    ingest=ingest,
                    concurrency=args.concurrency,
                )
            return reports, watch.seconds

        try:
            note(f"cycle 1: {len(sources)} sources on {args.hosts} hosts")
            first, first_s = await cycle()
            before = await count_opportunities(store)
            # Real cycles are hours apart; without this pause the first request to each host
            # would wait out the gap left by cycle 1's last one, which the ideal ignores.
            await asyncio.sleep(args.min_gap)
            note("cycle 2: everything answers 304")
            with WriteCounter(store.database.engine) as writes:
                second, second_s = await cycle()
            after = await count_opportunities(store)
        finally:
            await http.aclose()
            await store.close()
            if schema is not None:
                await schema.drop()
            for site in sites:
                await site.stop()

    outcomes1 = Counter(report.outcome for report in first)
    outcomes2 = Counter(report.outcome for report in second)
    check(outcomes1 == {"ok": len(sources)}, f"cycle 1 outcomes {dict(outcomes1)}")
    check(before == len(sources) * ITEMS_PER_SOURCE, f"{before} opportunities after cycle 1")
    check(outcomes2 == {"unchanged": len(sources)}, f"cycle 2 outcomes {dict(outcomes2)}")
    check(after == before, f"cycle 2 changed opportunities: {before} -> {after}")
    check(writes.tables == {"sources"}, f"cycle 2 wrote {dict(writes.statements)}")
    ideal1 = ideal_host_seconds(per_host + 1, args.per_host, args.min_gap, args.latency)
    ideal2 = ideal_host_seconds(per_host, args.per_host, args.min_gap, args.latency)
    return {
        "bench": "poll",
        "database": "postgresql" if args.postgres else "sqlite",
        "sources": len(sources),
        "hosts": args.hosts,
        "latency_s": args.latency,
        "min_gap_s": args.min_gap,
        "per_host": args.per_host,
        "concurrency": args.concurrency,
        "cycle1_s": round(first_s, 3),
        "cycle1_ideal_s": round(ideal1, 3),
        "cycle1_ratio": ratio(first_s, ideal1),
        "cycle2_304_s": round(second_s, 3),
        "cycle2_ideal_s": round(ideal2, 3),
        "cycle2_ratio": ratio(second_s, ideal2),
        "opportunities_before": before,
        "opportunities_after": after,
        "cycle2_writes": dict(writes.statements),
        "requests": sum(len(site.requests) for site in sites),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", metavar="URL", help="run on PostgreSQL instead of SQLite")
    parser.add_argument("--sources", type=int, default=50)
    parser.add_argument("--hosts", type=int, default=5)
    parser.add_argument("--latency", type=float, default=0.3, help="seconds per answer")
    parser.add_argument("--min-gap", type=float, default=1.0, help="seconds between starts")
    parser.add_argument("--per-host", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args(argv)
    check(args.sources % args.hosts == 0, "--sources must be a multiple of --hosts")
    logging.basicConfig(level=logging.WARNING)
    emit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
