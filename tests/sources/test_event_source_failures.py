"""The poller's failure table (500, timeout, changed markup, empty page, 304) for each event
source type, each against its real saved page on the loopback fake website, with a healthy
source polled alongside that must still deliver. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import FrozenClock
from sources.base import Source, SourceConfig
from sources.ical import IcalSource
from sources.jsonld import JsonLdSource
from sources.poller import poll_many
from sources.squarespace import SquarespaceEventsSource
from tests.helpers.fake_website import FakeWebsite
from tests.sources import test_poller
from tests.sources.test_poller import health_of, rows_of

# The poller tests' fixtures, shared by name (the fake website, fetcher, frozen clock, ingest).
site, fetcher, clock, ingest, poll = (
    test_poller.site,
    test_poller.fetcher,
    test_poller.clock,
    test_poller.ingest,
    test_poller.poll,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
NOW = datetime(2025, 3, 28, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Kind:
    """One source type: how to build it, its real page, and a page whose markup changed."""

    build: Callable[[SourceConfig], Source]
    page: bytes
    content_type: str
    changed: bytes
    changed_error: str
    items: int


def _at(cls, when: datetime):
    return lambda config: cls(config, clock=FrozenClock(when))


KINDS = {
    "jsonld": Kind(
        _at(JsonLdSource, datetime(2025, 5, 29, 9, 25, tzinfo=UTC)),
        (FIXTURES / "jsonld" / "eventbrite-organiser-page-queerlit.html").read_bytes(),
        "text/html; charset=utf-8",
        b"<html><body><div class='events'>Quiz night</div></body></html>",
        "markup may have changed: no script[type=application/ld+json] on the page",
        12,
    ),
    "squarespace": Kind(
        _at(SquarespaceEventsSource, datetime(2022, 10, 26, 12, 0, tzinfo=UTC)),
        (FIXTURES / "squarespace" / "squarespace-events-format-json.json").read_bytes(),
        "application/json",
        b'{"collection": {"title": "Events"}, "items": []}',
        "markup may have changed: no upcoming[] list",
        16,
    ),
    "ical": Kind(
        IcalSource,
        (FIXTURES / "ical" / "charity-events-ecp.ics").read_bytes(),
        "text/calendar; charset=utf-8",
        b"<html><body>Calendar moved</body></html>",
        "markup may have changed: not an iCalendar file",
        0,  # counted from the parser below: the calendar's own number of events
    ),
}


@dataclass(frozen=True)
class Case:
    breaks: Callable[[FakeWebsite, Kind], None]
    outcome: str
    error: str | None


CASES = {
    "500": Case(lambda s, _: s.fail("/a", 500), "failed", "HTTP 500 from {url}"),
    "timeout": Case(lambda s, _: s.hang("/a"), "failed", "timed out fetching {url}"),
    "changed markup": Case(
        lambda s, k: s.serve("/a", k.changed, content_type=k.content_type), "failed", "changed"
    ),
    "empty page": Case(
        lambda s, k: s.serve("/a", b"", content_type=k.content_type),
        "failed",
        "empty response (HTTP 200) from",
    ),
    "304": Case(lambda s, _: None, "unchanged", None),
}


@pytest.mark.parametrize("case_name", CASES)
@pytest.mark.parametrize("kind_name", KINDS)
async def test_event_source_failure_is_recorded_and_the_other_source_delivers(
    kind_name, case_name, store, site, fetcher, clock, ingest, poll
):
    kind, case = KINDS[kind_name], CASES[case_name]
    broken = kind.build(SourceConfig(name="a", type=kind_name, url=site.url("/a"), kind="event"))
    healthy = kind.build(SourceConfig(name="b", type=kind_name, url=site.url("/b"), kind="event"))
    expected = kind.items or len(broken.parse(kind.page, site.url("/a")).items)
    site.serve("/a", kind.page, content_type=kind.content_type, etag='"a1"')
    site.serve("/b", kind.page, content_type=kind.content_type)
    assert (await poll(broken)).new == expected > 0
    clock.advance(timedelta(hours=7))
    case.breaks(site, kind)

    first, second = await poll_many(
        [broken, healthy], fetcher=fetcher, store=store, clock=clock, ingest=ingest
    )

    health = await health_of(store, "a")
    assert first.outcome == case.outcome, first.error
    if case.error is None:
        assert first.error is None and health.last_error is None
    else:
        fragment = kind.changed_error if case.error == "changed" else case.error
        fragment = fragment.format(url=broken.config.url)
        assert fragment in first.error
        assert fragment in health.last_error
        assert health.consecutive_failures == 1
    assert await rows_of(store, "a") == expected  # nothing stored before is lost
    assert (second.outcome, second.new) == ("ok", expected)
    assert await rows_of(store, "b") == expected
