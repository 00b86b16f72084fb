"""HtmlListingSource: selectors from the sources file against saved listing pages
(see tests/fixtures/html/README.md)."""

from __future__ import annotations

from datetime import datetime

import pytest

from sources.base import ParseError, SourceConfig
from sources.html import HtmlListingSource, SelectorConfigError
from sources.normalise import UK

PAGE_1 = "https://foundation.example.org.uk/grants/"
PAGE_2 = "https://foundation.example.org.uk/grants/page/2/"
SMALL_FUNDER = {
    "item": "article.grant-card",
    "title": ".grant-card__title",
    "link": ".grant-card__title a",
    "summary": ".grant-card__summary",
    "date": ".grant-card__deadline",
    "amount": ".grant-card__amount",
    "next": "a.pagination__next",
}
# The same source type reading real pages: what a deployer would write for UKRI and TNLCF.
UKRI = {
    "item": "div.opportunity",
    "title": "h3.entry-title",
    "link": "a.ukri-funding-opp__link",
    "summary": "div.entry-content p",
    "date": 'div.govuk-table__row:has(> dt:-soup-contains("Closing date")) time',
    "amount": 'div.govuk-table__row:has(> dt:-soup-contains("Maximum award", "Award range")) dd',
    "next": "a.next.page-numbers",
}
TNLCF = {
    "item": "div.card-results > div.card",
    "title": "div.card-body h2",
    "link": "div.card-body h2 a",
    "summary": "div.card-body p",
    "amount": 'div.card-footer li:-soup-contains("Amount:")',
    "next": 'a[aria-label="Go to next page"]',
}


def make_source(options: dict[str, str], url: str = PAGE_1, kind: str = "call"):
    config = SourceConfig(
        name="small-funder",
        type="html",
        url=url,
        kind=kind,
        topics=["mental-health"],
        funders=["Example Community Foundation"],
        options=dict(options),
    )
    return HtmlListingSource(config)


def read(fixtures_dir, name: str) -> bytes:
    return (fixtures_dir / "html" / name).read_bytes()


def test_first_page(fixtures_dir):
    result = make_source(SMALL_FUNDER).parse(
        read(fixtures_dir, "small-funder-grants-page1.html"), PAGE_1
    )
    # The third card has no link ("opening soon"): skipped, not an error.
    assert [item.title for item in result.items] == [
        "Community Mental Health Fund",
        "Young Minds Together",
    ]
    fund, young = result.items
    # A site-relative link resolved against the page.
    assert fund.url == "https://foundation.example.org.uk/grants/community-mental-health-fund/"
    assert (
        fund.external_id == "https://foundation.example.org.uk/grants/community-mental-health-fund"
    )
    # <time datetime="2024-06-14">: a day without an hour is the end of that day, UK time.
    assert fund.closes_at == datetime(2024, 6, 14, 23, 59, tzinfo=UK)
    assert (fund.award_min_pence, fund.award_max_pence) == (None, 1_000_000)
    # Text date with a time; an id without the tracking parameters the link carries.
    assert young.closes_at == datetime(2024, 6, 14, 17, 0, tzinfo=UK)
    assert young.external_id == "https://foundation.example.org.uk/grants/young-minds-together"
    assert (young.award_min_pence, young.award_max_pence) == (100_000, 500_000)
    assert fund.summary.startswith("Grants for grassroots groups supporting adults")
    assert fund.source == "small-funder"
    assert fund.funders == ["Example Community Foundation"]
    assert fund.topics == ["mental-health"]
    # The "next" link is relative ("page/2/") to the listing URL.
    assert result.next_urls == [PAGE_2]


def test_second_page_resolves_links_against_its_own_url(fixtures_dir):
    result = make_source(SMALL_FUNDER).parse(
        read(fixtures_dir, "small-funder-grants-page2.html"), PAGE_2
    )
    (item,) = result.items
    assert (
        item.url == "https://foundation.example.org.uk/grants/lived-experience-leadership-awards/"
    )
    assert item.closes_at is None  # "Rolling – no closing date"
    assert item.flags == ["no_closing_date"]  # the funder's words, not a missing date
    assert item.award_max_pence == 250_000  # "£2,500 each"
    assert result.next_urls == []  # the last page


def test_a_card_without_a_deadline_is_not_said_to_have_none(fixtures_dir):
    """No date and no words for "rolling": we have not been told, so no flag."""
    page = read(fixtures_dir, "small-funder-grants-page2.html").replace(
        b"Rolling &#8211; no closing date", b"See the guidance"
    )
    (item,) = make_source(SMALL_FUNDER).parse(page, PAGE_2).items
    assert item.closes_at is None
    assert item.flags == []


def test_changed_markup_is_a_parse_error(fixtures_dir):
    with pytest.raises(ParseError, match="item selector matched nothing: markup may have changed"):
        make_source(SMALL_FUNDER).parse(
            read(fixtures_dir, "small-funder-grants-redesigned.html"), PAGE_1
        )


def test_items_without_titles_or_links_are_a_parse_error(fixtures_dir):
    options = {**SMALL_FUNDER, "title": "h2.gone", "link": "h2.gone a"}
    body = read(fixtures_dir, "small-funder-grants-page1.html")
    with pytest.raises(ParseError, match="no title and link"):
        make_source(options).parse(body, PAGE_1)


def test_base_href_is_honoured():
    body = b"""<html><head><base href="https://cdn.example.org/site/"></head><body>
    <div class="c"><a href="calls/one/">One</a></div></body></html>"""
    options = {"item": "div.c", "title": "a", "link": "a"}
    (item,) = make_source(options).parse(body, PAGE_1).items
    assert item.url == "https://cdn.example.org/site/calls/one/"


def test_studentship_titles_are_internships_whatever_the_default():
    body = b"""<ul><li><a href="/s/1">PhD studentship in youth mental health</a></li>
    <li><a href="/s/2">Seed fund for peer researchers</a></li></ul>"""
    options = {"item": "li", "title": "a", "link": "a"}
    items = make_source(options).parse(body, PAGE_1).items
    assert [item.kind for item in items] == ["internship", "call"]


def test_real_ukri_listing_page(fixtures_dir):
    url = "https://www.ukri.org/opportunity/?filter_status%5B%5D=open&filter_order=closing_date"
    result = make_source(UKRI, url).parse(read(fixtures_dir, "ukri-listing-open.real.html"), url)
    assert len(result.items) == 3
    flf, _defra, pet = result.items
    assert flf.url == "https://www.ukri.org/opportunity/future-leaders-fellowship-round-11/"
    # <time datetime="2026-06-16T16:00:00">: no offset, UK local time (BST).
    assert flf.closes_at == datetime(2026, 6, 16, 16, 0, tzinfo=UK)
    assert pet.award_max_pence == 470_000_000
    assert result.next_urls == [
        "https://www.ukri.org/opportunity/page/2/?filter_status%5B0%5D=open&filter_order=closing_date"
    ]


def test_real_tnlcf_listing_page(fixtures_dir):
    url = "https://www.tnlcommunityfund.org.uk/funding/programmes?status=open"
    result = make_source(TNLCF, url).parse(
        read(fixtures_dir, "tnlcf-programmes-open.real.html"), url
    )
    assert [item.title for item in result.items] == [
        "Community Action",
        "Dormant Assets for All",
        "National Lottery Awards for All England",
    ]
    action = result.items[0]
    assert (
        action.url
        == "https://www.tnlcommunityfund.org.uk/funding/funding-programmes/community-action"
    )
    assert (action.award_min_pence, action.award_max_pence) == (2_000_100, 25_000_000)
    # "?status=open&page=2" is relative to the listing URL.
    assert result.next_urls == [
        "https://www.tnlcommunityfund.org.uk/funding/programmes?status=open&page=2"
    ]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"item": "div", "title": "h2"}, "lack required selector(s) link"),
        ({"title": "h2", "link": "a"}, "lack required selector(s) item"),
        ({}, "item, title, link"),
        ({"item": "div", "title": "h2", "link": "  "}, "selector(s) link"),
        ({"item": "div[", "title": "h2", "link": "a"}, "option 'item' is not a valid CSS selector"),
        ({"item": "div", "title": "h2", "link": "a", "next": "a:nope"}, "option 'next'"),
    ],
)
def test_bad_selectors_fail_at_construction(options, message):
    with pytest.raises(SelectorConfigError, match="source 'small-funder' \\(type html\\)") as error:
        make_source(options)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_cards_nested_in_cards_each_take_their_own_fields():
    """A hostile page nests every card in the one before, its own title after the nested
    card: each card is read from its own content (and in linear time, see bench/parse_lag.py)."""
    depth = 50
    opened = "".join(f'<div class="card"><a href="/c/{n}">link</a>' for n in range(depth))
    closed = "".join(f"<h3>Card {n}</h3></div>" for n in reversed(range(depth)))
    source = HtmlListingSource(
        SourceConfig(
            name="nested",
            type="html",
            url="https://funder.example/",
            options={"item": "div.card", "title": "h3", "link": "a"},
        )
    )
    items = source.parse(f"<html><body>{opened}{closed}</body></html>".encode(), source.config.url)
    assert [item.title for item in items.items] == [f"Card {n}" for n in range(depth)]
    assert [item.url for item in items.items][:2] == [
        "https://funder.example/c/0",
        "https://funder.example/c/1",
    ]
