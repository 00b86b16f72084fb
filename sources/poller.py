"""One poll of one source, and a cycle over many.

A poll fetches the start pages conditionally, follows the listing's next pages, enriches the
items that need their own page, hands the items to ``ingest`` and records the outcome on the
source. The order is deliberate:

- validators (ETag / Last-Modified) are saved only *after* ingest returned, so a crash in
  between makes the next poll fetch the page again rather than skip content never stored;
- a 304 on the start page writes nothing but the source's poll state;
- every failure, expected (``SourceError``) or not, stops at ``poll_source`` and is recorded
  on that source with backoff: one broken source never stops the others.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, Protocol
from urllib.parse import urldefrag, urljoin, urlsplit

from bot.clock import Clock
from bot.core.model import Opportunity
from sources.base import FetchError, FetchResult, ParseError, ParseResult, Source, SourceError
from storage.store import Store

__all__ = [
    "DEFAULT_MAX_DETAILS",
    "Ingest",
    "IngestStats",
    "PageFetcher",
    "PollReport",
    "due",
    "poll_many",
    "poll_source",
    "retry_delay",
]

logger = logging.getLogger(__name__)

DAY = timedelta(days=1)
JITTER = 0.10  # ±10% on every next-poll time, so sources polled together drift apart
DEFAULT_MAX_DETAILS = 25  # detail pages per poll: at a 1 s gap, 25 s more per poll at most
_MAX_DOUBLINGS = 16


@dataclass(slots=True)
class IngestStats:
    """What ingest did with a poll's items."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0


Ingest = Callable[[Source, list[Opportunity]], Awaitable[IngestStats]]


class PageFetcher(Protocol):
    """What the poller needs from ``sources.http.Fetcher``; a fake can stand in."""

    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult: ...


@dataclass(slots=True)
class PollReport:
    """One source's poll, for the CLI summary, metrics and logs."""

    source: str
    outcome: Literal["ok", "unchanged", "failed"]
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    items: int = 0
    pages: int = 0
    error: str | None = None
    duration_ms: int = 0
    next_poll_at: datetime | None = None


@dataclass(slots=True)
class _Harvest:
    items: list[Opportunity] = field(default_factory=list)
    pages: int = 0
    not_modified: bool = False
    validators: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    known: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)


def retry_delay(interval: timedelta, failures: int) -> timedelta:
    """The wait after ``failures`` consecutive failures: the interval, doubled for each
    failure after the first, capped at a day (or at the interval, if that is longer)."""
    cap = max(DAY, interval)
    return min(interval * 2 ** min(max(failures - 1, 0), _MAX_DOUBLINGS), cap)


def _jittered(delay: timedelta, rng: random.Random, cap: timedelta | None = None) -> timedelta:
    moved = delay * rng.uniform(1 - JITTER, 1 + JITTER)
    return min(moved, cap) if cap is not None else moved


def _raise_for(page: FetchResult) -> None:
    """Turn a page that cannot be parsed into the error to record."""
    if page.error is not None:
        raise page.error
    if page.not_modified:
        raise FetchError(f"unexpected 304 for an unconditional request to {page.url}")
    if not page.body.strip():
        raise FetchError(f"empty response (HTTP {page.status}) from {page.url}")


def _parse(source: Source, page: FetchResult) -> ParseResult:
    try:
        return source.parse(page.body, page.url)
    except ParseError as exc:
        raise ParseError(f"markup may have changed: {exc} (at {page.url})") from exc


async def _start_pages(
    source: Source, fetcher: PageFetcher, store: Store
) -> tuple[list[FetchResult], _Harvest]:
    """Fetch the start URLs with their validators. Only these are fetched conditionally: a
    304 on a later page would leave its items out of an otherwise changed listing."""
    harvest = _Harvest()
    urls = list(dict.fromkeys(source.start_urls()))
    if not urls:
        raise SourceError(f"source {source.name} has no start URL")
    async with store.unit() as unit:
        for url in urls:
            harvest.known[url] = await unit.polling.validators(url)
    pages = list(
        await asyncio.gather(
            *(
                fetcher.fetch(url, etag=harvest.known[url][0], last_modified=harvest.known[url][1])
                for url in urls
            )
        )
    )
    for page in pages:
        if page.error is not None:
            raise page.error
    if all(page.not_modified for page in pages):
        harvest.not_modified, harvest.pages = True, len(pages)
        return pages, harvest
    # Some start page changed: the unchanged ones are needed in full to list every item.
    for index, page in enumerate(pages):
        if page.not_modified:
            pages[index] = await fetcher.fetch(page.url)
    return pages, harvest


async def _harvest(
    source: Source, fetcher: PageFetcher, store: Store, max_pages: int, max_details: int
) -> _Harvest:
    first, harvest = await _start_pages(source, fetcher, store)
    if harvest.not_modified:
        return harvest
    seen = {page.url for page in first}
    todo: deque[FetchResult | str] = deque(first)
    limit = max(max_pages, len(first))
    while todo and harvest.pages < limit:
        entry = todo.popleft()
        page = await fetcher.fetch(entry) if isinstance(entry, str) else entry
        _raise_for(page)
        harvest.pages += 1
        if page.url in harvest.known:
            harvest.validators[page.url] = (page.etag, page.last_modified)
        parsed = _parse(source, page)
        harvest.items.extend(parsed.items)
        for link in parsed.next_urls:
            absolute = urldefrag(urljoin(page.url, link)).url
            if absolute not in seen:
                seen.add(absolute)
                todo.append(absolute)
    if todo:
        logger.info("%s: stopped after %d pages (max_pages)", source.name, harvest.pages)
    await _enrich(source, fetcher, harvest.items, max_details)
    return harvest


async def _enrich(
    source: Source, fetcher: PageFetcher, items: list[Opportunity], max_details: int
) -> None:
    """Fill items from their own pages. A failed detail page fails the poll: ingesting the
    item without its dates would read as "deadline removed" and alert subscribers wrongly."""
    wanted = [index for index, item in enumerate(items) if source.needs_detail(item)]
    if len(wanted) > max_details:
        logger.warning(
            "%s: %d items need detail pages; fetching the first %d this poll",
            source.name,
            len(wanted),
            max_details,
        )
        wanted = wanted[:max_details]
    pages = await asyncio.gather(*(fetcher.fetch(items[index].url) for index in wanted))
    announced: list[Opportunity] = []
    for index, page in zip(wanted, pages, strict=True):
        _raise_for(page)
        try:
            enriched, *extra = source.detail_items(page.body, page.url, items[index])
        except ParseError as exc:
            raise ParseError(f"markup may have changed: {exc} (at {page.url})") from exc
        items[index] = enriched
        announced.extend(extra)
    items.extend(announced)


async def poll_source(
    source: Source,
    *,
    fetcher: PageFetcher,
    store: Store,
    clock: Clock,
    ingest: Ingest,
    max_pages: int | None = None,
    max_details: int = DEFAULT_MAX_DETAILS,
    rng: random.Random | None = None,
) -> PollReport:
    """Poll one source and record the outcome on it. Never raises (except cancellation)."""
    rng = rng or random.Random()
    started = time.perf_counter()
    report = PollReport(source=source.name, outcome="failed")
    interval = timedelta(minutes=source.config.interval_minutes)
    try:
        pages = max_pages or source.config.max_pages
        harvest = await _harvest(source, fetcher, store, pages, max_details)
        report.pages, report.items = harvest.pages, len(harvest.items)
        stats = None if harvest.not_modified else await ingest(source, harvest.items)
        now = clock.now()
        report.next_poll_at = now + _jittered(interval, rng)
        report.duration_ms = _elapsed_ms(started)
        async with store.unit() as unit:
            for url, (etag, modified) in harvest.validators.items():
                if (etag, modified) != harvest.known.get(url):
                    await unit.polling.save_validators(url, etag, modified, now)
            health = await unit.polling.record_success(
                source.name,
                now=now,
                items=None if stats is None else len(harvest.items),
                next_poll_at=report.next_poll_at,
                duration_ms=report.duration_ms,
            )
        if stats is None:
            report.outcome = "unchanged"
        else:
            report.outcome = "ok"
            report.new, report.updated, report.unchanged = stats.new, stats.updated, stats.unchanged
            report.error = health.last_error if health.markup_suspect else None
    except SourceError as exc:
        report.outcome, report.error = "failed", str(exc) or type(exc).__name__
        await _record_failure(source, store, clock, report, interval, started, rng)
    except Exception as exc:  # the per-source loop boundary: log, record, carry on
        logger.exception("poll of source %s failed unexpectedly", source.name)
        report.outcome, report.error = "failed", f"unexpected {type(exc).__name__}: {exc}"
        await _record_failure(source, store, clock, report, interval, started, rng)
    return report


def _elapsed_ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


async def _record_failure(
    source: Source,
    store: Store,
    clock: Clock,
    report: PollReport,
    interval: timedelta,
    started: float,
    rng: random.Random,
) -> None:
    logger.warning("poll of %s failed: %s", source.name, report.error)
    report.duration_ms = _elapsed_ms(started)
    try:
        async with store.unit() as unit:
            health = await unit.polling.get(source.name)
            failures = (health.consecutive_failures if health else 0) + 1
            now = clock.now()
            cap = max(DAY, interval)
            report.next_poll_at = now + _jittered(retry_delay(interval, failures), rng, cap)
            await unit.polling.record_failure(
                source.name,
                now=now,
                error=report.error or "unknown error",
                next_poll_at=report.next_poll_at,
                duration_ms=report.duration_ms,
            )
    except Exception:  # the database itself failing must not take the cycle down
        logger.exception("could not record the failed poll of %s", source.name)


async def due(sources: Iterable[Source], store: Store, now: datetime) -> list[Source]:
    """The enabled sources never polled, or whose next poll time has come."""
    async with store.unit() as unit:
        states = {health.name: health for health in await unit.polling.all()}
    chosen = []
    for source in sources:
        state = states.get(source.name)
        if not source.config.enabled or (state is not None and not state.enabled):
            continue
        if state is None or state.next_poll_at is None or state.next_poll_at <= now:
            chosen.append(source)
    return chosen


def _by_host_round_robin(sources: Sequence[Source]) -> list[int]:
    """Indexes of ``sources`` interleaved by host. The fetcher serialises each host, so
    starting ten sources of one host first would leave the concurrency slots waiting on it
    while other hosts sit idle."""
    groups: dict[str, deque[int]] = {}
    for index, source in enumerate(sources):
        try:
            host = urlsplit(source.start_urls()[0]).netloc
        except Exception:  # a broken source still gets polled, and fails in its own report
            host = ""
        groups.setdefault(host, deque()).append(index)
    order: list[int] = []
    while groups:
        for host in list(groups):
            order.append(groups[host].popleft())
            if not groups[host]:
                del groups[host]
    return order


async def poll_many(
    sources: Sequence[Source],
    *,
    fetcher: PageFetcher,
    store: Store,
    clock: Clock,
    ingest: Ingest,
    concurrency: int = 8,
    max_pages: int | None = None,
    max_details: int = DEFAULT_MAX_DETAILS,
    rng: random.Random | None = None,
) -> list[PollReport]:
    """Poll ``sources`` with at most ``concurrency`` at once; reports in input order."""
    limit = asyncio.Semaphore(concurrency)

    async def one(source: Source) -> PollReport:
        async with limit:
            return await poll_source(
                source,
                fetcher=fetcher,
                store=store,
                clock=clock,
                ingest=ingest,
                max_pages=max_pages,
                max_details=max_details,
                rng=rng,
            )

    order = _by_host_round_robin(sources)
    tasks = {index: asyncio.ensure_future(one(sources[index])) for index in order}
    await asyncio.gather(*tasks.values(), return_exceptions=True)
    reports = []
    for index, source in enumerate(sources):
        task = tasks[index]
        if task.exception() is not None:  # poll_source records its own errors; belt and braces
            error = f"unexpected {type(task.exception()).__name__}: {task.exception()}"
            reports.append(PollReport(source=source.name, outcome="failed", error=error))
        else:
            reports.append(task.result())
    return reports
