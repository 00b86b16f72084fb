"""JsonLdSource against a real Eventbrite organiser page and a constructed page (see
tests/fixtures/jsonld/README.md)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.clock import FrozenClock
from sources.base import ParseError, SourceConfig
from sources.jsonld import JsonLdSource
from sources.registry import build_source

ORGANISER = "https://www.eventbrite.co.uk/o/queer-lit-social-refuge-48062165483"
CAPTURED = datetime(2025, 5, 29, 9, 25, 10, tzinfo=UTC)
NETWORK = "https://network.example.org.uk/events/"


def make_source(url: str = ORGANISER, now: datetime = CAPTURED) -> JsonLdSource:
    config = SourceConfig(
        name="queerlit-eventbrite", type="jsonld", url=url, kind="event", funders=[]
    )
    return JsonLdSource(config, clock=FrozenClock(now))


def parsed(fixtures_dir, name: str, url: str = ORGANISER, now: datetime = CAPTURED):
    body = (fixtures_dir / "jsonld" / name).read_bytes()
    return make_source(url, now).parse(body, url).items


@pytest.mark.parametrize(
    "name",
    ["eventbrite-organiser-page-queerlit.html", "eventbrite-organiser-page-ldjson-itemlist.json"],
)
def test_eventbrite_organiser_page_matches_expected_json(fixtures_dir, name):
    expected = json.loads(
        (fixtures_dir / "jsonld" / "eventbrite-organiser-page-queerlit.expected.json").read_text()
    )
    assert [
        {**item.to_json(), "extra": item.extra} for item in parsed(fixtures_dir, name)
    ] == expected


def test_past_events_are_dropped_relative_to_the_clock(fixtures_dir):
    at_capture = parsed(fixtures_dir, "eventbrite-organiser-page-ldjson-itemlist.json")
    a_year_before = parsed(
        fixtures_dir,
        "eventbrite-organiser-page-ldjson-itemlist.json",
        now=datetime(2024, 9, 1, tzinfo=UTC),
    )
    assert len(at_capture) == 12
    assert len(a_year_before) == 24
    assert all(
        (item.ends_at or item.starts_at) >= CAPTURED or item.extra.get("recurring")
        for item in at_capture
    )


def test_a_series_keeps_its_first_start_and_does_not_end_with_its_last_session(fixtures_dir):
    items = {
        item.title: item for item in parsed(fixtures_dir, "eventbrite-organiser-page-queerlit.html")
    }
    quiz = items["Ancoats Quiz Night"]
    # 19:00 BST on 3 October 2024 is 18:00 UTC; the series runs to 18 December 2025 (GMT).
    assert quiz.starts_at == datetime(2024, 10, 3, 18, 0, tzinfo=UTC)
    assert quiz.ends_at is None
    assert quiz.extra["recurring"] is True
    assert quiz.extra["series_ends_at"] == "2025-12-18T22:00:00+00:00"
    one_off = items["Queer Lit Book Club: June"]
    assert one_off.ends_at == datetime(2025, 6, 4, 19, 0, tzinfo=UTC)
    assert "recurring" not in one_off.extra


def test_prices_are_pence_and_the_place_is_named(fixtures_dir):
    items = {
        item.title: item for item in parsed(fixtures_dir, "eventbrite-organiser-page-queerlit.html")
    }
    art = items["Art 4 All"]
    assert (art.extra["price_min_pence"], art.extra["price_max_pence"]) == (613, 1155)
    assert art.location == "Social Refuge, 27 Great Ancoats Street, Ancoats, M4 5AJ"
    assert art.online is False
    assert art.kind == "event" and art.status == "open"


def test_graph_statuses_schedule_and_dates(fixtures_dir):
    now = datetime(2025, 10, 1, tzinfo=UTC)
    items = parsed(fixtures_dir, "constructed-graph-statuses-schedule.html", NETWORK, now)
    by_title = {item.title: item for item in items}
    assert sorted(by_title) == [
        "Monday peer support group",
        "Peer research training",
        "Winter co-production day",
    ]  # the cancelled fair and last year's AGM are gone; the broken block is skipped
    training = by_title["Peer research training"]
    assert training.external_id == "https://network.example.org.uk/events/peer-research#event"
    assert training.url == "https://network.example.org.uk/events/peer-research"
    assert training.starts_at == datetime(2025, 10, 21, 9, 0, tzinfo=UTC)  # BST
    assert training.online is True
    assert training.extra["price_min_pence"] == 0
    winter = by_title["Winter co-production day"]
    assert winter.flags == ["postponed"]
    assert winter.extra["all_day"] is True
    # Bare dates in November are GMT; schema.org's endDate of a date is inclusive.
    assert winter.starts_at == datetime(2025, 11, 4, 0, 0, tzinfo=UTC)
    assert winter.ends_at == datetime(2025, 11, 5, 23, 59, tzinfo=UTC)
    assert winter.location == "Friends Meeting House, 6 Mount Street, Manchester M2 5NS"
    group = by_title["Monday peer support group"]
    assert group.extra["recurring"] is True
    assert group.extra["repeat_frequency"] == "P1W"
    assert group.extra["repeat_days"] == ["Monday"]
    assert group.ends_at is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty page"),
        (b"<html><body><h1>Events</h1></body></html>", "no script[type=application/ld+json]"),
        (b'<script type="application/ld+json">{oops</script>', "none of the 1 JSON-LD blocks"),
        (b"{not json", "JSON-LD document could not be read"),
    ],
)
def test_pages_without_readable_json_ld_are_parse_errors(body, message):
    with pytest.raises(ParseError, match=message.replace("[", r"\[").replace("+", r"\+")):
        make_source().parse(body, ORGANISER)


def test_json_ld_without_events_parses_to_nothing():
    body = b'<script type="application/ld+json">{"@type": "Organization", "name": "X"}</script>'
    assert make_source().parse(body, ORGANISER).items == []


def test_registered_as_jsonld():
    config = SourceConfig(name="x", type="jsonld", url=ORGANISER)
    assert isinstance(build_source(config), JsonLdSource)


def test_build_source_hands_its_clock_to_the_event_sources(fixtures_dir):
    frozen = FrozenClock(CAPTURED)
    for kind in ("jsonld", "squarespace", "ical"):
        config = SourceConfig(name="x", type=kind, url=ORGANISER)
        assert build_source(config, clock=frozen).clock is frozen
    # Source types that do not read the clock are built as before.
    assert build_source(SourceConfig(name="r", type="rss", url=ORGANISER), clock=frozen)
