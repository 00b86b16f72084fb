"""One poll of one source, and a cycle over many.

A poll fetches the start pages conditionally, follows the listing's next pages, enriches the
items that need their own page (that fetching is ``sources.harvest``), hands the items to
``ingest`` and records the outcome on the source. The order is deliberate:

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
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from urllib.parse import urlsplit

from bot.clock import Clock
from bot.core.model import Opportunity
from sources.base import FetchError, Source, SourceError
from sources.harvest import PageFetcher, harvest_source
from storage.store import Store

__all__ = [
    "DEFAULT_MAX_DETAILS",
    "Ingest",
    "IngestStats",
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
    skipped: int = 0  # items that could not be stored; their siblings were
    first_error: str | None = None

    def skip(self, external_id: str, error: Exception) -> None:
        """Count an item left out, keeping the first reason for the source's report."""
        self.skipped += 1
        if self.first_error is None:
            self.first_error = f"item {external_id!r}: {type(error).__name__}: {error}"[:500]


Ingest = Callable[[Source, list[Opportunity]], Awaitable[IngestStats]]


@dataclass(slots=True)
class PollReport:
    """One source's poll, for the CLI summary, metrics and logs."""

    source: str
    outcome: Literal["ok", "unchanged", "failed"]
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    items: int = 0
    pages: int = 0
    error: str | None = None
    duration_ms: int = 0
    next_poll_at: datetime | None = None


def retry_delay(interval: timedelta, failures: int) -> timedelta:
    """The wait after ``failures`` consecutive failures: the interval, doubled for each
    failure after the first, capped at a day (or at the interval, if that is longer)."""
    cap = max(DAY, interval)
    return min(interval * 2 ** min(max(failures - 1, 0), _MAX_DOUBLINGS), cap)


def _jittered(delay: timedelta, rng: random.Random, cap: timedelta | None = None) -> timedelta:
    moved = delay * rng.uniform(1 - JITTER, 1 + JITTER)
    return min(moved, cap) if cap is not None else moved


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
    deadline: float | None = None,
) -> PollReport:
    """Poll one source and record the outcome on it. Never raises (except cancellation).

    Fetching and parsing end by ``deadline`` seconds (the source's ``poll_deadline_seconds``
    unless given); past it the poll is a failure like any other. Ingest is not under the
    deadline: it is our own database, and cutting a transaction short would only waste it.
    """
    rng = rng or random.Random()
    started = time.perf_counter()
    report = PollReport(source=source.name, outcome="failed")
    interval = timedelta(minutes=source.config.interval_minutes)
    try:
        pages = max_pages or source.config.max_pages
        limit = deadline or source.config.poll_deadline_seconds
        harvest = await _harvest_by(limit, source, fetcher, store, pages, max_details)
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
            report.skipped = stats.skipped
            if stats.skipped and report.error is None:
                report.error = f"{stats.skipped} items skipped; first: {stats.first_error}"
    except SourceError as exc:
        report.outcome, report.error = "failed", str(exc) or type(exc).__name__
        await _record_failure(source, store, clock, report, interval, started, rng)
    except Exception as exc:  # the per-source loop boundary: log, record, carry on
        logger.exception("poll of source %s failed unexpectedly", source.name)
        report.outcome, report.error = "failed", f"unexpected {type(exc).__name__}: {exc}"
        await _record_failure(source, store, clock, report, interval, started, rng)
    return report


async def _harvest_by(limit: float, source: Source, *args):
    """``harvest_source`` ended at ``limit`` seconds, with the error to record."""
    timer = asyncio.timeout(limit)
    try:
        async with timer:
            return await harvest_source(source, *args)
    except TimeoutError as exc:
        if not timer.expired():
            raise
        raise FetchError(f"poll deadline of {limit:g} s passed") from exc


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
