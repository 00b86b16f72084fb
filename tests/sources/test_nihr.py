"""NihrSource against saved real NIHR pages, edited copies and a constructed listing.

The fixtures and what each shows are described in ``tests/fixtures/nihr/README.md``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from sources.base import ParseError, SourceConfig
from sources.nihr import NihrSource, page_time

HERE = Path(__file__).parent.parent / "fixtures" / "nihr"
PHR = "nihr-detail-phr-commissioned-nice-rolling"
WOMENS = "nihr-detail-womens-health-communication"
PAGE0 = "nihr-listing-open-page0.constructed"
PAGE1 = "nihr-listing-open-page1.constructed"
LISTING = "https://www.nihr.ac.uk/funding-opportunities?status[Open]=Open"
ALL_PAGES = sorted(path.name.removesuffix(".html") for path in HERE.glob("*.html"))


@pytest.fixture
def source() -> NihrSource:
    return NihrSource(SourceConfig(name="nihr", type="nihr", url=LISTING))


def load(name: str) -> tuple[bytes, dict]:
    expected = json.loads((HERE / f"{name}.expected.json").read_text(encoding="utf-8"))
    return (HERE / f"{name}.html").read_bytes(), expected


def parse(source: NihrSource, name: str):
    body, expected = load(name)
    return source.parse(body, expected["url"])


@pytest.mark.parametrize("name", ALL_PAGES)
def test_every_page_gives_its_expected_json(source, name):
    body, expected = load(name)
    result = source.parse(body, expected["url"])
    assert [item.to_json() for item in result.items] == expected["items"]
    assert result.next_urls == expected["next_urls"]


def test_phr_detail_page_fields(source):
    (call,) = parse(source, PHR).items
    assert call.title == "PHR Commissioned – NIHR NICE (rolling)"
    assert (call.kind, call.status, call.funders) == ("call", "open", ["NIHR"])
    assert call.external_id == "2026419"
    assert call.extra["reference"] == "2026/419"
    assert call.extra["programme"] == "Public Health Research"
    assert call.extra["funding_type"] == "Programme"
    assert call.eligibility.startswith("Please see our PHR programme page, and the research")
    assert call.summary.startswith("Our Public Health Research (PHR) Programme is inviting")
    assert len(call.summary) <= 601 and call.summary.endswith("…")


def test_summer_deadline_is_one_pm_uk_time_not_the_attributes_utc(source):
    """The page says 1:00 pm and "1pm" in prose; its attribute says 13:00Z. In BST the
    text is right: 12:00 UTC, shown with the +01:00 offset."""
    (call,) = parse(source, PHR).items
    assert call.closes_at == datetime(2026, 8, 18, 12, 0, tzinfo=UTC)
    assert call.closes_at.utcoffset() == timedelta(hours=1)
    assert call.opens_at == datetime(2026, 4, 28, 12, 0, tzinfo=UTC)


def test_winter_date_text_and_attribute_agree(source):
    call = parse(source, WOMENS).items[0]
    assert call.opens_at == datetime(2026, 3, 24, 13, 0, tzinfo=UTC)
    assert call.opens_at.utcoffset() == timedelta(0)
    assert call.closes_at == datetime(2026, 8, 18, 12, 0, tzinfo=UTC)


def test_key_dates_get_years_and_month_ends(source):
    (call,) = parse(source, PHR).items
    dates = call.extra["key_dates"]
    assert dates[0] == {
        "when": "28 April",
        "what": "Outline application opening date",
        "date": "2026-04-28",
        "precision": "day",
    }
    assert (dates[3]["when"], dates[3]["date"]) == ("End October 2026", "2026-10-31")
    assert (dates[2]["when"], dates[2]["date"]) == ("Early September 2026", "2026-09-01")
    assert all(entry["precision"] == "month" for entry in dates[2:])


def test_webinar_in_a_call_becomes_a_linked_event(source):
    call, event = parse(source, WOMENS).items
    assert call.extra["reference"] == "2026/379"
    assert event.kind == "event"
    assert event.parent_external_id == call.external_id == "2026379"
    assert event.external_id == "2026379/event/2026-06-09/webinar"
    assert event.title == "Webinar: Women’s health communication"
    assert event.starts_at == datetime(2026, 6, 8, 23, 0, tzinfo=UTC)
    assert event.extra["starts_on"] == "2026-06-09"
    assert event.online is True
    assert event.status == "closed"  # "We held a webinar"
    again = parse(source, WOMENS).items[1]
    assert again.external_id == event.external_id


def test_a_call_without_events_yields_only_itself(source):
    assert [item.kind for item in parse(source, PHR).items] == ["call"]


@pytest.mark.parametrize(
    ("name", "stated", "status"),
    [
        (f"{PHR}.edited-paused", "Paused", "closed"),
        (f"{WOMENS}.edited-opening-soon", "Opening soon", "upcoming"),
    ],
)
def test_edited_statuses(source, name, stated, status):
    call = parse(source, name).items[0]
    assert (call.status, call.extra["stated_status"]) == (status, stated)


@pytest.mark.parametrize(
    ("word", "status"),
    [
        ("Open", "open"),
        ("Closing soon", "open"),
        ("Closed", "closed"),
        ("Opening soon", "upcoming"),
    ],
)
def test_status_words(source, word, status):
    body, expected = load(WOMENS)
    edited = body.replace(b"\n    Open\n  </div>", f"\n    {word}\n  </div>".encode(), 1)
    assert source.parse(edited, expected["url"]).items[0].status == status


def test_unknown_status_is_a_parse_error(source):
    body, expected = load(WOMENS)
    edited = body.replace(b"\n    Open\n  </div>", b"\n    Cancelled\n  </div>", 1)
    with pytest.raises(ParseError, match="unknown opportunity status 'Cancelled'"):
        source.parse(edited, expected["url"])


def tag(markup: str):
    return BeautifulSoup(markup, "lxml").find("time")


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        ('<time datetime="2026-09-16T13:00:00Z">16 September 2026 at 1:00 pm</time>', (9, 16, 12)),
        ('<time datetime="2026-12-01T13:00:00Z">1 December 2026 at 1:00 pm</time>', (12, 1, 13)),
        ('<time datetime="2026-09-16T15:30:00Z">16 September 2026</time>', (9, 16, 14)),
        ('<time datetime="2026-09-17T15:30:00Z">16 September 2026</time>', (9, 15, 23)),
        ("<time>16 September 2026</time>", (9, 15, 23)),
    ],
)
def test_page_time_trusts_the_text_then_the_attributes_wall_clock(markup, expected):
    month, day, hour_utc = expected
    value = page_time(tag(markup))
    assert value is not None and value.utcoffset() is not None
    assert value.astimezone(UTC).timetuple()[1:4] == (month, day, hour_utc)


def test_page_time_of_nothing_is_none():
    assert page_time(None) is None
    assert page_time(tag("<time>To be confirmed</time>")) is None
    closing = page_time(tag("<time>16 September 2026</time>"), time(23, 59))
    assert closing == datetime(2026, 9, 16, 22, 59, tzinfo=UTC)


def test_listing_cards_and_zero_based_pagination(source):
    result = parse(source, PAGE0)
    assert [item.external_id for item in result.items] == ["2026419", "2026379", "2026999"]
    assert [item.status for item in result.items] == ["open", "open", "upcoming"]
    assert result.items[0].extra["programme"] == "Public Health Research"
    assert result.next_urls == [f"{LISTING}&page=1"]
    assert source.parse(load(PAGE0)[0], LISTING).next_urls == [f"{LISTING}&page=1"]
    encoded = "https://www.nihr.ac.uk/funding-opportunities?status%5BOpen%5D=Open&page=0"
    assert source.parse(load(PAGE0)[0], encoded).next_urls == [encoded.replace("=0", "=1")]
    last = parse(source, PAGE1)
    assert last.next_urls == []
    assert last.items[0].status == "open"  # "Closing soon"
    assert last.items[0].closes_at == datetime(2027, 1, 14, 13, 0, tzinfo=UTC)


def test_needs_detail_when_the_card_lacks_a_closing_date(source):
    phr, womens, soon = parse(source, PAGE0).items
    assert not source.needs_detail(phr)
    assert source.needs_detail(womens)
    assert source.needs_detail(soon)


def test_detail_page_enriches_the_listing_item(source):
    womens = parse(source, PAGE0).items[1]
    body, expected = load(WOMENS)
    enriched = source.parse_detail(body, expected["url"], womens)
    assert enriched.external_id == womens.external_id
    assert enriched.closes_at == datetime(2026, 8, 18, 12, 0, tzinfo=UTC)
    assert enriched.opens_at == womens.opens_at
    assert enriched.extra["reference"] == "2026/379"
    assert enriched.extra["programme"] == "Public Health Research"
    assert enriched.eligibility.startswith("Please see our PHR Programme page")
    assert enriched.summary.startswith("Our Public Health Research (PHR) Programme")
    assert not source.needs_detail(enriched)
    call, event = source.detail_items(body, expected["url"], womens)
    assert call == enriched
    assert event.parent_external_id == womens.external_id


def test_empty_listing_gives_no_items(source):
    result = parse(source, "nihr-listing-empty.constructed")
    assert (result.items, result.next_urls) == ([], [])


@pytest.mark.parametrize(
    ("name", "old", "new", "message"),
    [
        (PHR, b'class="summary-list"', b'class="key-facts"', "no opportunity summary list"),
        (PHR, b"<h1>", b"<h2>", "no title"),
        (PAGE0, b"node--type-funding-opportunity", b"node--type-grant", "no opportunity cards"),
        (PAGE0, b'"/funding/womens-health-communication/2026379"', b'"/w"', "card 2 lacks"),
    ],
)
def test_changed_markup_is_a_parse_error(source, name, old, new, message):
    body, expected = load(name)
    assert old in body
    with pytest.raises(ParseError, match=message):
        source.parse(body.replace(old, new), expected["url"])


@pytest.mark.parametrize("name", [PHR, WOMENS, PAGE0])
def test_truncated_page_is_a_parse_error(source, name):
    body, expected = load(name)
    with pytest.raises(ParseError, match="truncated"):
        source.parse(body[: len(body) // 2], expected["url"])


def test_empty_body_and_foreign_pages_are_parse_errors(source):
    with pytest.raises(ParseError, match="empty"):
        source.parse(b"  ", LISTING)
    with pytest.raises(ParseError, match="neither"):
        source.parse(b"<html><body><p>Hello</p></body></html>", "https://www.nihr.ac.uk/news")


def test_a_detail_page_is_recognised_under_any_url(source):
    """``signpost parse nihr FILE`` may pass the listing URL; the page's canonical link wins."""
    call = source.parse(load(PHR)[0], LISTING).items[0]
    assert call.external_id == "2026419"
    assert call.url == "https://www.nihr.ac.uk/funding/phr-commissioned-nihr-nice-rolling/2026419"


def test_events_announced_in_prose_with_and_without_a_year(source):
    """An edited PHR page: a future briefing with a time, and a networking event whose date
    has no year (it takes the year of the call's opening)."""
    body, expected = load(PHR)
    anchor = b'<p dir="ltr">Applications must be within the remit'
    added = (
        b"<p>Join our online briefing on 2 June 2026 at 2:00 pm. A recording will be shared.</p>"
        b"<p>Networking event for applicants on 15 May.</p>"
    )
    call, briefing, networking = source.parse(
        body.replace(anchor, added + anchor, 1), expected["url"]
    ).items
    assert briefing.external_id == "2026419/event/2026-06-02/briefing"
    assert briefing.title == "Briefing: PHR Commissioned – NIHR NICE (rolling)"
    assert briefing.starts_at == datetime(2026, 6, 2, 13, 0, tzinfo=UTC)  # 2 pm BST
    assert (briefing.status, briefing.online) == ("upcoming", None)
    assert briefing.extra["date_precision"] == "minute"
    assert networking.external_id == "2026419/event/2026-05-15/networking"
    assert networking.extra["starts_on"] == "2026-05-15"
    assert {briefing.parent_external_id, networking.parent_external_id} == {call.external_id}
