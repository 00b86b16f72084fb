"""Fetching and parsing one source's pages for a poll: the start pages (conditionally), the
listing's next pages, and the detail pages of items that need them.

Apart from ``sources.poller`` so that the poller reads as the poll's outcome (ingest, what is
recorded on the source, when it is polled next) while the walk over pages sits here. Nothing
here writes: the validators seen are handed back in the ``Harvest`` for the poller to save
once ingest has returned.

Parsing runs in worker processes, never on the event loop (``sources.parsing``). Items past
the source's ``max_items_per_page`` and ``max_items`` are left out, and the log says how many.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urldefrag, urljoin

from bot.core.model import Opportunity
from sources.base import FetchError, FetchResult, ParseError, ParseResult, Source, SourceError
from sources.parsing import ParseLimitError, parse_detail, parse_page
from storage.store import Store

__all__ = ["Harvest", "PageFetcher", "harvest_source"]

logger = logging.getLogger(__name__)


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


async def _parse(source: Source, page: FetchResult) -> tuple[ParseResult, int]:
    try:
        return await parse_page(source, page.body, page.url)
    except ParseLimitError as exc:
        raise ParseLimitError(f"{exc} (at {page.url})") from None
    except ParseError as exc:
        raise ParseError(f"markup may have changed: {exc} (at {page.url})") from exc


def _capped(
    source: Source, page: str, items: list[Opportunity], found: int, room: int
) -> list[Opportunity]:
    """At most the page's (already applied by the worker) and the source's share of the
    ``found`` items, saying when some are left out."""
    cap = min(source.config.max_items_per_page, max(room, 0))
    if found > cap:
        logger.warning(
            "%s: %d items on %s; keeping %d (max_items_per_page %d, max_items %d)",
            source.name,
            found,
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
        parsed, found = await _parse(source, page)
        room = source.config.max_items - len(harvest.items)
        harvest.items.extend(_capped(source, page.url, parsed.items, found, room))
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
            enriched, *extra = await parse_detail(source, page.body, page.url, items[index])
        except ParseLimitError as exc:
            raise ParseLimitError(f"{exc} (at {page.url})") from None
        except ParseError as exc:
            raise ParseError(f"markup may have changed: {exc} (at {page.url})") from exc
        items[index] = enriched
        announced.extend(extra)
    items.extend(announced)
