"""The poller: the failure table, ordering of validators and ingest, backoff, pagination.

Every test that takes ``store`` runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urljoin

import httpx
import pytest
from bs4 import BeautifulSoup
from sqlalchemy import event, func, select

from bot.clock import FrozenClock
from bot.core.model import Opportunity
from sources import parsing
from sources.base import ParseError, ParseResult, Source, SourceConfig
from sources.http import Fetcher, build_http_client
from sources.poller import IngestStats, due, poll_many, poll_source, retry_delay
from storage.models import Opportunity as OpportunityRow
from tests.helpers.fake_website import FakeWebsite, Route, refused_url

NOW = datetime(2025, 3, 28, 12, 0, tzinfo=UTC)
INTERVAL = timedelta(hours=6)


def listing(*ids: int, next_url: str | None = None) -> str:
    links = "".join(f'<li><a href="/calls/{n}">Call {n}</a></li>' for n in ids)
    more = f'<a rel="next" href="{next_url}">Next</a>' if next_url else ""
    return f"<html><body><ul class='calls'>{links}</ul>{more}</body></html>"


def detail(closes: str) -> str:
    return f"<html><body><time class='closes' datetime='{closes}'>soon</time></body></html>"


class ListSource(Source):
    """A listing of ``<ul class="calls"><li><a>`` and, when asked, a closing date per call."""

    type_name = "test-list"

    def parse(self, body: bytes, url: str) -> ParseResult:
        if b"</html>" not in body:
            raise ParseError("page is truncated: no closing </html>")
        soup = BeautifulSoup(body, "html.parser")
        calls = soup.select_one("ul.calls")
        if calls is None:
            raise ParseError("no ul.calls listing")
        items = [
            Opportunity(
                source=self.name,
                external_id=link["href"],
                url=urljoin(url, link["href"]),
                title=link.get_text(strip=True),
            )
            for link in calls.select("li > a")
        ]
        return ParseResult(items, [link["href"] for link in soup.select("a[rel=next]")])

    def needs_detail(self, item: Opportunity) -> bool:
        return bool(self.config.options.get("details"))

    def parse_detail(self, body: bytes, url: str, item: Opportunity) -> Opportunity:
        closes = BeautifulSoup(body, "html.parser").select_one("time.closes")
        if closes is None:
            raise ParseError("no closing date")
        item.closes_at = datetime.fromisoformat(closes["datetime"])
        return item


def make_source(name: str, url: str, **options) -> ListSource:
    config = SourceConfig(name=name, type="test-list", url=url, interval_minutes=360)
    config.options.update(options)
    return ListSource(config)


class MidRandom(random.Random):
    """Jitter at its midpoint, so next-poll times are exact."""

    def uniform(self, a: float, b: float) -> float:
        return (a + b) / 2


class StoreIngest:
    """The smallest real ingest: upsert each item and count the outcomes."""

    def __init__(self, store, clock) -> None:
        self.store, self.clock = store, clock
        self.calls: list[tuple[str, int]] = []

    async def __call__(self, source: Source, items: list[Opportunity]) -> IngestStats:
        self.calls.append((source.name, len(items)))
        stats = IngestStats()
        async with self.store.unit() as unit:
            for item in items:
                result = await unit.opportunities.upsert(item, now=self.clock.now())
                setattr(stats, result.outcome, getattr(stats, result.outcome) + 1)
        return stats


class WriteCounter:
    """Counts INSERT / UPDATE / DELETE statements per table while attached."""

    PATTERN = re.compile(r'^\s*(?:INSERT INTO|UPDATE|DELETE FROM)\s+"?(\w+)', re.IGNORECASE)

    def __init__(self, store) -> None:
        self.engine = store.database.engine.sync_engine
        self.tables: dict[str, int] = {}

    def __enter__(self) -> WriteCounter:
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc_info: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, conn, cursor, statement, parameters, context, executemany) -> None:
        match = self.PATTERN.match(statement)
        if match:
            self.tables[match.group(1)] = self.tables.get(match.group(1), 0) + 1


class Sleeps:
    async def __call__(self, seconds: float) -> None:
        return None


@pytest.fixture
async def site():
    async with FakeWebsite() as website:
        yield website


@pytest.fixture
async def fetcher():
    timeout = httpx.Timeout(0.3, connect=0.3)
    async with build_http_client("SignpostBot/test (+https://example.org)", timeout=timeout) as c:
        yield Fetcher(c, min_gap=0.0, robots_ttl=0.0, deadline=1.0, sleep=Sleeps())


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def ingest(store, clock) -> StoreIngest:
    return StoreIngest(store, clock)


@pytest.fixture
def poll(fetcher, store, clock, ingest):
    """``poll_source`` with this test's collaborators and exact (midpoint) jitter."""

    async def run(source: Source, **kwargs):
        kwargs.setdefault("ingest", ingest)
        return await poll_source(
            source, fetcher=fetcher, store=store, clock=clock, rng=MidRandom(), **kwargs
        )

    return run


async def health_of(store, name: str):
    async with store.unit() as unit:
        return await unit.polling.get(name)


async def rows_of(store, source: str) -> int:
    async with store.unit() as unit:
        query = select(func.count()).where(OpportunityRow.source == source)
        return await unit.session.scalar(query)


# ---------------------------------------------------------------- the failure table
@dataclass(frozen=True)
class Case:
    breaks: Callable[[FakeWebsite, ListSource], None]
    outcome: str
    error: str | None  # a fragment of last_error; {url} is the source's URL, {origin} its site
    suspect: bool = False


PAGE = listing(1, 2, 3)
FAILURES = {
    "500": Case(lambda s, _: s.fail("/a", 500), "failed", "HTTP 500 from {url} (gave up after 3"),
    "timeout": Case(lambda s, _: s.hang("/a"), "failed", "timed out fetching {url}"),
    "connection refused": Case(
        lambda _, src: setattr(src.config, "url", refused_url("/a")),
        "failed",
        "robots.txt at {origin}/robots.txt is unreachable",
    ),
    "304": Case(lambda s, _: None, "unchanged", None),
    "empty 200": Case(lambda s, _: s.serve("/a", b""), "failed", "empty response (HTTP 200) from"),
    "trickling body": Case(
        lambda s, _: s.trickle("/a", interval=0.1),  # each byte inside the 0.3 s read timeout
        "failed",
        "deadline of 1 s passed fetching {url}",
    ),
    "10 MB body": Case(
        lambda s, _: s.huge("/a"), "failed", "response from {url} is larger than the 10 MB limit"
    ),
    "truncated HTML": Case(
        lambda s, _: s.serve("/a", PAGE[:70]),
        "failed",
        "markup may have changed: page is truncated: no closing </html> (at {url})",
    ),
    "body cut mid-transfer": Case(
        lambda s, _: s.truncate("/a", PAGE[:70], declared=len(PAGE)),
        "failed",
        "connection failed for {url}",
    ),
    "changed markup (items gone)": Case(
        lambda s, _: s.serve("/a", "<html><ul class='calls'><div>Call 1</div></ul></html>"),
        "ok",
        "markup may have changed: the page parsed to no items",
        suspect=True,
    ),
    "changed markup (listing gone)": Case(
        lambda s, _: s.serve("/a", "<html><div class='grid'>Call 1</div></html>"),
        "failed",
        "markup may have changed: no ul.calls listing (at {url})",
    ),
    "robots disallow": Case(
        lambda s, _: s.robots("User-agent: *\nDisallow: /a\n"),
        "failed",
        "robots.txt disallows {url} for SignpostBot",
    ),
    "redirect loop": Case(
        lambda s, _: (s.redirect("/a", "/a2"), s.redirect("/a2", "/a")),
        "failed",
        "too many redirects (>5) from {url}",
    ),
    "wrong content type": Case(
        lambda s, _: s.serve("/a", b"%PDF-1.7", content_type="application/pdf"),
        "failed",
        "wrong content type application/pdf from {url}",
    ),
}


@pytest.mark.parametrize("case", FAILURES.values(), ids=FAILURES.keys())
async def test_failure_is_recorded_on_its_source_and_the_other_source_still_delivers(
    case, store, site, fetcher, clock, ingest, poll
):
    broken = make_source("a", site.url("/a"))
    healthy = make_source("b", site.url("/b"))
    site.serve("/a", PAGE, etag='"a1"')
    site.serve("/b", listing(10, 11))
    assert (await poll(broken)).new == 3
    clock.advance(timedelta(hours=7))
    case.breaks(site, broken)

    first, second = await poll_many(
        [broken, healthy], fetcher=fetcher, store=store, clock=clock, ingest=ingest
    )

    url = broken.config.url
    origin = url.removesuffix("/a")
    assert first.outcome == case.outcome, first.error
    health = await health_of(store, "a")
    if case.error is None:
        assert first.error is None and health.last_error is None
    else:
        assert case.error.format(url=url, origin=origin) in first.error
        assert case.error.format(url=url, origin=origin) in health.last_error
    assert health.markup_suspect is case.suspect
    if case.outcome == "failed":
        assert health.consecutive_failures == 1
        assert health.last_success_at == NOW
        assert NOW + timedelta(hours=7) + 0.9 * INTERVAL <= health.next_poll_at
        assert health.next_poll_at <= NOW + timedelta(hours=7) + 1.1 * INTERVAL
    else:
        assert health.consecutive_failures == 0
        assert health.last_success_at == clock.now()
    assert health.items_last_parsed == (0 if case.suspect else 3)
    assert await rows_of(store, "a") == 3
    assert (second.outcome, second.new, second.items) == ("ok", 2, 2)
    assert await rows_of(store, "b") == 2


async def test_a_trickling_site_gives_back_the_hosts_slot_by_its_deadline(store, site, clock):
    """One slot per host: the healthy source of the same host gets it once the deadline of
    the trickling request passes, and both outcomes are recorded."""
    site.trickle("/a", interval=0.1)
    site.serve("/b", listing(10, 11))
    timeout = httpx.Timeout(0.3, connect=0.3)
    async with build_http_client("SignpostBot/test", timeout=timeout) as client:
        fetcher = Fetcher(client, per_host=1, min_gap=0.0, deadline=1.0, sleep=Sleeps())
        async with asyncio.timeout(20):  # today's code would wait here for ever
            first, second = await poll_many(
                [make_source("a", site.url("/a")), make_source("b", site.url("/b"))],
                fetcher=fetcher,
                store=store,
                clock=clock,
                ingest=StoreIngest(store, clock),
            )
    assert first.outcome == "failed"
    assert first.error == f"deadline of 1 s passed fetching {site.url('/a')}"
    assert (await health_of(store, "a")).last_error == first.error
    assert (second.outcome, second.new) == ("ok", 2)
    assert len(site.hits("/a")) == 1  # a deadline is not retried: the site would trickle again


async def test_a_poll_ends_by_its_deadline_and_the_failure_is_recorded(store, site, poll):
    for n in range(1, 30):  # each page in time for the fetch deadline, the poll too slow
        site.route(f"/p{n}", Route(body=listing(n, next_url=f"/p{n + 1}").encode(), delay=0.1))
    source = make_source("a", site.url("/p1"))
    source.config.max_pages = 30
    source.config.poll_deadline_seconds = 0.5
    async with asyncio.timeout(20):
        report = await poll(source)
    assert (report.outcome, report.error) == ("failed", "poll deadline of 0.5 s passed")
    health = await health_of(store, "a")
    assert (health.last_error, health.consecutive_failures) == (report.error, 1)
    assert await rows_of(store, "a") == 0
    assert len([r for r in site.requests if r.path.startswith("/p")]) < 10


# ---------------------------------------------------------------- ordering and state
async def test_validators_are_saved_only_after_ingest_succeeds(store, site, poll, ingest):
    source = make_source("a", site.url("/a"))
    site.serve("/a", listing(1, 2), etag='"v1"')

    async def broken_ingest(source, items):
        raise RuntimeError("database went away")

    failed = await poll(source, ingest=broken_ingest)
    assert (failed.outcome, failed.error) == (
        "failed",
        "unexpected RuntimeError: database went away",
    )
    async with store.unit() as unit:
        assert await unit.polling.validators(site.url("/a")) == (None, None)

    recovered = await poll(source)
    unchanged = await poll(source)
    assert (recovered.outcome, recovered.new) == ("ok", 2)
    assert unchanged.outcome == "unchanged"
    first, second, third = site.hits("/a")
    assert "if-none-match" not in first.headers and "if-none-match" not in second.headers
    assert third.headers["if-none-match"] == '"v1"'
    async with store.unit() as unit:
        assert await unit.polling.validators(site.url("/a")) == ('"v1"', None)
    assert ingest.calls == [("a", 2)]


async def test_not_modified_writes_nothing_but_poll_state(store, site, poll, ingest, clock):
    source = make_source("a", site.url("/a"))
    site.serve("/a", listing(1, 2), etag='"v1"', last_modified="Fri, 28 Mar 2025 09:00:00 GMT")
    await poll(source)
    clock.advance(INTERVAL)
    with WriteCounter(store) as writes:
        report = await poll(source)
    assert (report.outcome, report.items, report.new) == ("unchanged", 0, 0)
    assert writes.tables == {"sources": 1}
    assert ingest.calls == [("a", 2)]
    health = await health_of(store, "a")
    assert (health.last_success_at, health.items_last_parsed) == (clock.now(), 2)
    assert health.next_poll_at == clock.now() + INTERVAL


@pytest.mark.parametrize(
    ("interval_hours", "failures", "expected_hours"),
    [(6, 1, 6), (6, 2, 12), (6, 3, 24), (6, 4, 24), (1, 5, 16), (1, 6, 24), (48, 3, 48)],
)
def test_retry_delay_doubles_from_the_interval_and_caps_at_a_day(
    interval_hours, failures, expected_hours
):
    delay = retry_delay(timedelta(hours=interval_hours), failures)
    assert delay == timedelta(hours=expected_hours)


async def test_consecutive_failures_back_off_then_success_resets(store, site, poll, clock):
    source = make_source("a", site.url("/a"))
    site.fail("/a", 503)
    for hours in (6, 12, 24, 24):
        report = await poll(source)
        assert report.next_poll_at - clock.now() == timedelta(hours=hours)
        clock.advance(timedelta(hours=hours))
    assert (await health_of(store, "a")).consecutive_failures == 4
    site.serve("/a", listing(1))
    assert (await poll(source)).outcome == "ok"
    health = await health_of(store, "a")
    assert (health.consecutive_failures, health.last_error) == (0, None)
    assert health.next_poll_at == clock.now() + INTERVAL


async def test_success_schedules_the_next_poll_within_ten_percent(store, site, fetcher, clock):
    site.serve("/a", listing(1))
    report = await poll_source(
        make_source("a", site.url("/a")),
        fetcher=fetcher,
        store=store,
        clock=clock,
        ingest=StoreIngest(store, clock),
    )
    assert 0.9 * INTERVAL <= report.next_poll_at - clock.now() <= 1.1 * INTERVAL


# ---------------------------------------------------------------- pages and details
async def test_next_pages_are_followed_once_each_up_to_max_pages(store, site, poll):
    site.serve("/p1", listing(1, next_url="/p2"))
    site.serve("/p2", listing(2, next_url="/p1"))  # back to the start: not fetched again
    report = await poll(make_source("a", site.url("/p1")))
    assert (report.pages, report.items) == (2, 2)
    assert len(site.hits("/p1")) == 1

    for n in range(1, 5):
        site.serve(f"/q{n}", listing(10 + n, next_url=f"/q{n + 1}"))
    report = await poll(make_source("q", site.url("/q1")), max_pages=3)
    assert (report.pages, report.items) == (3, 3)
    assert site.hits("/q4") == []


async def test_detail_pages_enrich_items_up_to_the_bound(store, site, poll, caplog):
    site.serve("/a", listing(1, 2, 3))
    site.serve("/calls/1", detail("2025-04-30T16:00:00+01:00"))
    site.serve("/calls/2", detail("2025-05-31T12:00:00+01:00"))
    source = make_source("a", site.url("/a"), details=True)
    with caplog.at_level(logging.WARNING, logger="sources.harvest"):
        report = await poll(source, max_details=2)
    assert (report.outcome, report.new) == ("ok", 3)
    assert site.hits("/calls/3") == []
    assert "3 items need detail pages; fetching the first 2" in caplog.text
    async with store.unit() as unit:
        call = await unit.opportunities.find("a", "/calls/1")
    assert call.closes_at == datetime(2025, 4, 30, 15, 0, tzinfo=UTC)


async def test_a_failed_detail_page_fails_the_poll_rather_than_drop_dates(store, site, poll):
    site.serve("/a", listing(1, 2))
    site.serve("/calls/1", detail("2025-04-30T16:00:00+01:00"))
    site.route("/calls/2", Route(status=500))
    report = await poll(make_source("a", site.url("/a"), details=True))
    assert report.outcome == "failed"
    assert report.error.startswith(f"HTTP 500 from {site.url('/calls/2')}")
    assert await rows_of(store, "a") == 0


async def test_unexpected_errors_are_logged_with_the_source_and_recorded(
    store, site, fetcher, clock, ingest, caplog
):
    class Broken(ListSource):
        def parse(self, body: bytes, url: str) -> ParseResult:
            raise KeyError("href")

    site.serve("/a", listing(1))
    site.serve("/b", listing(2))
    broken = Broken(SourceConfig(name="broken", type="x", url=site.url("/a")))
    with caplog.at_level(logging.ERROR, logger="sources.poller"):
        reports = await poll_many(
            [broken, make_source("b", site.url("/b"))],
            fetcher=fetcher,
            store=store,
            clock=clock,
            ingest=ingest,
            concurrency=1,
        )
    assert [r.outcome for r in reports] == ["failed", "ok"]
    assert reports[0].error == "unexpected KeyError: 'href'"
    assert "poll of source broken failed unexpectedly" in caplog.text
    assert (await health_of(store, "broken")).last_error == "unexpected KeyError: 'href'"


async def test_due_picks_new_and_overdue_enabled_sources(store, site, poll, clock):
    site.serve("/a", listing(1))
    polled = make_source("polled", site.url("/a"))
    fresh = make_source("fresh", site.url("/a"))
    off = make_source("off", site.url("/a"))
    off.config.enabled = False
    await poll(polled)
    assert await due([polled, fresh, off], store, clock.now()) == [fresh]
    later = clock.now() + INTERVAL
    assert await due([polled, fresh, off], store, later) == [polled, fresh]


async def test_unreachable_host_fails_without_touching_other_sources(store, fetcher, clock):
    ingest = StoreIngest(store, clock)
    source = make_source("gone", refused_url("/feed"))
    [report] = await poll_many([source], fetcher=fetcher, store=store, clock=clock, ingest=ingest)
    assert report.outcome == "failed"
    assert ingest.calls == []


# ---------------------------------------------------------------- poisoned items
POISONED_CARDS = {
    "overflow": "up to £" + "9" * 400,
    "past-bigint": "£99,999,999,999,999,999,999",
    "surrogate": "£5,000",
    "nul": "£6,000",
    "healthy": "£25,000 - £50,000",
}


def poisoned_listing() -> str:
    titles = {"surrogate": "Call &#xD800;three", "nul": "Call &#0;four\x00"}
    cards = "".join(
        f"<div class='card'><h3><a href='/c/{key}'>{titles.get(key, 'Call ' + key)}</a></h3>"
        f"<span class='amount'>{amount}</span></div>"
        for key, amount in POISONED_CARDS.items()
    )
    return f"<html><body>{cards}</body></html>"


async def test_poisoned_items_cost_their_bad_parts_and_the_siblings_are_stored(
    store, site, poll, clock
):
    """Each of these failed the whole source: float overflow, an amount past the database
    integer, a lone surrogate and a NUL (PostgreSQL refuses it)."""
    from bot.core.pipeline import Ingestor, Vocabulary
    from sources.html import HtmlListingSource
    from sources.normalise import canonical_url

    site.serve("/cards", poisoned_listing())
    options = {"item": "div.card", "title": "h3", "link": "h3 a", "amount": ".amount"}
    config = SourceConfig(name="cards", type="html", url=site.url("/cards"), options=options)
    report = await poll(HtmlListingSource(config), ingest=Ingestor(store, clock, Vocabulary.load()))
    assert (report.outcome, report.new, report.skipped, report.error) == ("ok", 5, 0, None)
    async with store.unit() as unit:
        stored = {
            key: await unit.opportunities.find("cards", canonical_url(site.url(f"/c/{key}")))
            for key in POISONED_CARDS
        }
    assert stored["overflow"].award_max_pence is None
    assert stored["past-bigint"].award_max_pence is None
    assert "\x00" not in stored["nul"].title and "\ud800" not in stored["surrogate"].title
    assert (stored["healthy"].award_min_pence, stored["healthy"].award_max_pence) == (
        2_500_000,
        5_000_000,
    )


# ---------------------------------------------------------------- parsing off the loop
class ProcessNotingSource(ListSource):
    """Notes in each item the process it was parsed in, and sleeps there when asked to."""

    def parse(self, body: bytes, url: str) -> ParseResult:
        time.sleep(self.config.options.get("sleep", 0))
        parsed = super().parse(body, url)
        for item in parsed.items:
            item.extra["parsed_in"] = multiprocessing.current_process().name
        return parsed


async def test_pages_are_parsed_in_a_worker_process_not_on_the_event_loop(store, site, poll):
    site.serve("/a", listing(1, 2))
    source = ProcessNotingSource(SourceConfig(name="a", type="test-list", url=site.url("/a")))
    assert (await poll(source)).new == 2
    async with store.unit() as unit:
        item = await unit.opportunities.find("a", "/calls/1")
    assert item.extra["parsed_in"] not in ("", multiprocessing.current_process().name)


async def test_a_parse_past_its_budget_fails_the_poll(store, site, poll, monkeypatch):
    monkeypatch.setattr(parsing, "PARSE_BUDGET", 0.5)
    site.serve("/a", listing(1, 2))
    config = SourceConfig(name="a", type="test-list", url=site.url("/a"), options={"sleep": 5})
    report = await poll(ProcessNotingSource(config))
    assert report.outcome == "failed"
    where = site.url("/a")
    assert report.error == f"parsing took longer than 0.5 s (at {where})"
    assert (await health_of(store, "a")).last_error == report.error


async def test_items_past_the_page_and_source_caps_are_left_out_and_logged(
    store, site, poll, caplog
):
    site.serve("/p1", listing(*range(1, 11), next_url="/p2"))
    site.serve("/p2", listing(*range(11, 21), next_url="/p3"))
    site.serve("/p3", listing(*range(21, 31)))
    source = make_source("a", site.url("/p1"))
    source.config.max_items_per_page, source.config.max_items = 4, 6
    with caplog.at_level(logging.WARNING, logger="sources.harvest"):
        report = await poll(source)
    assert (report.outcome, report.items, report.new) == ("ok", 6, 6)
    assert f"a: 10 items on {site.url('/p1')}; keeping 4" in caplog.text
    assert f"a: 10 items on {site.url('/p2')}; keeping 2" in caplog.text
    assert site.hits("/p3") == []
