"""Fetching and parsing one source's pages for a poll: the start pages (conditionally), the
listing's next pages, and the detail pages of items that need them.

Apart from ``sources.poller`` so that the poller reads as the poll's outcome (ingest, what is
recorded on the source, when it is polled next) while the walk over pages sits here. Nothing
here writes: the validators seen are handed back in the ``Harvest`` for the poller to save
once ingest has returned.

Parsing runs in a small pool of worker threads, never on the event loop: a 100,000-event
calendar takes seconds of CPU, and commands, the dispatcher and ``/healthz`` must not wait
for it. A parse past ``PARSE_BUDGET`` seconds fails the poll (the thread cannot be stopped;
its result is dropped, and the pool's size bounds how many such parses can run). Items past
the source's ``max_items_per_page`` and ``max_items`` are left out, and the log says how many.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol, TypeVar
from urllib.parse import urldefrag, urljoin

from bot.core.model import Opportunity
from sources.base import FetchError, FetchResult, ParseError, ParseResult, Source, SourceError
from storage.store import Store

__all__ = ["Harvest", "PageFetcher", "harvest_source"]

logger = logging.getLogger(__name__)

PARSE_BUDGET = 60.0  # seconds of one page's parse; 10 MB of the worst markup fits in it
PARSE_WORKERS = 2  # parsing is CPU-bound and holds the GIL for most of it: more gain nothing
_pool: ThreadPoolExecutor | None = None
T = TypeVar("T")


class PageFetcher(Protocol):
    """What the poller needs from ``sources.http.Fetcher``; a fake can stand in."""

    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult: ...


@dataclass(slots=True)
class Harvest:
    """What one poll's pages gave: the items, the pages read, whether every start page was
    unchanged (304), and each start page's validators as seen now and as known before."""

    items: list[Opportunity] = field(default_factory=list)
    pages: int = 0
    not_modified: bool = False
    validators: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    known: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)


def _raise_for(page: FetchResult) -> None:
    """Turn a page that cannot be parsed into the error to record."""
    if page.error is not None:
        raise page.error
    if page.not_modified:
        raise FetchError(f"unexpected 304 for an unconditional request to {page.url}")
    if not page.body.strip():
        raise FetchError(f"empty response (HTTP {page.status}) from {page.url}")


async def off_loop(work: Callable[..., T], *args, budget: float | None = None) -> T:
    """``work(*args)`` in a parse worker thread, ended (as a ``ParseError``) past ``budget``
    (``PARSE_BUDGET`` unless given)."""
    global _pool
    budget = budget or PARSE_BUDGET
    if _pool is None:
        _pool = ThreadPoolExecutor(PARSE_WORKERS, thread_name_prefix="signpost-parse")
    future = asyncio.get_running_loop().run_in_executor(_pool, work, *args)
    try:
        return await asyncio.wait_for(future, budget)
    except TimeoutError:
        raise ParseError(f"parsing took longer than {budget:g} s") from None


async def _parse(source: Source, page: FetchResult) -> ParseResult:
    try:
        return await off_loop(source.parse, page.body, page.url)
    except ParseError as exc:
        raise ParseError(f"markup may have changed: {exc} (at {page.url})") from exc


def _capped(source: Source, page: str, items: list[Opportunity], room: int) -> list[Opportunity]:
    """At most the page's and the source's share of ``items``, saying when some are left out."""
    cap = min(source.config.max_items_per_page, max(room, 0))
    if len(items) > cap:
        logger.warning(
            "%s: %d items on %s; keeping %d (max_items_per_page %d, max_items %d)",
            source.name,
            len(items),
            page,
            cap,
            source.config.max_items_per_page,
            source.config.max_items,
        )
        return items[:cap]
    return items


async def _start_pages(
    source: Source, fetcher: PageFetcher, store: Store
) -> tuple[list[FetchResult], Harvest]:
    """Fetch the start URLs with their validators. Only these are fetched conditionally: a
    304 on a later page would leave its items out of an otherwise changed listing."""
    harvest = Harvest()
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


async def harvest_source(
    source: Source, fetcher: PageFetcher, store: Store, max_pages: int, max_details: int
) -> Harvest:
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
        parsed = await _parse(source, page)
        room = source.config.max_items - len(harvest.items)
        harvest.items.extend(_capped(source, page.url, parsed.items, room))
        if len(harvest.items) >= source.config.max_items:
            todo.clear()  # the source's share is full: its next pages would be dropped
            break
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
            enriched, *extra = await off_loop(
                source.detail_items, page.body, page.url, items[index]
            )
        except ParseError as exc:
            raise ParseError(f"markup may have changed: {exc} (at {page.url})") from exc
        items[index] = enriched
        announced.extend(extra)
    items.extend(announced)
