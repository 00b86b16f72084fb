"""UKRI Funding Finder: listing, opportunity pages, the feed, council views, broken pages.

Pages live in ``tests/fixtures/ukri`` (see its README); each verbatim page has a sibling
``.expected.json``. Variants are made here from those pages by small, named edits.
"""

from __future__ import annotations

import importlib.util
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from bot.core.model import Opportunity
from sources.base import ParseError, SourceConfig
from sources.ukri import UkriSource

FIXTURES = Path(__file__).parent.parent / "fixtures" / "ukri"
ROOT = Path(__file__).parent.parent.parent
SNAPSHOTS = ROOT / "sources" / "data" / "snapshots"
SCRAPED = ROOT.parent / "shared" / "fixtures" / "ukri-listing-scraped-2025-03.json"

LISTING_URL = (
    "https://www.ukri.org/opportunity/?filter_status%5B0%5D=open&filter_order=closing_date"
)
PET_URL = "https://www.ukri.org/opportunity/national-pet-imaging-platform-data-platform/"
FLF_URL = "https://www.ukri.org/opportunity/future-leaders-fellowship-round-11/"
DEFRA_URL = "https://www.ukri.org/opportunity/defra-farming-innovation-investor-partnership-2026/"
FEED_URL = "https://www.ukri.org/opportunity/feed/"
FLF_CLOSING = '<time datetime="2026-06-16T16:00:00">16 June 2026 4:00pm UK time</time>'


def source(**options: str) -> UkriSource:
    return UkriSource(SourceConfig(name="ukri", type="ukri", url=LISTING_URL, options=options))


def page(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def edited(name: str, old: str, new: str) -> bytes:
    """``name`` with one exact piece of markup replaced (it must be there)."""
    text = page(name).decode("utf-8")
    assert old in text, f"{old!r} not in {name}"
    return text.replace(old, new).encode("utf-8")


def by_id(items: list[Opportunity]) -> dict[str, Opportunity]:
    return {item.external_id: item for item in items}


# ---------------------------------------------------------------- expected JSON, page by page
@pytest.mark.parametrize(
    ("name", "url"),
    [
        ("ukri-listing-open.html", LISTING_URL),
        ("ukri-opportunity-mrc-pet-imaging.html", PET_URL),
        ("ukri-opportunity-flf-round11.html", FLF_URL),
        ("ukri-opportunity-defra-fiip-2026.html", DEFRA_URL),
        ("ukri-opportunity-feed-constructed.xml", FEED_URL),
    ],
)
def test_page_gives_its_expected_json(name: str, url: str) -> None:
    expected = json.loads((FIXTURES / f"{name.rsplit('.', 1)[0]}.expected.json").read_text())
    assert [item.to_json() for item in source().parse(page(name), url).items] == expected


# ---------------------------------------------------------------- listing
def test_listing_reads_all_three_cards_with_councils_money_and_next_page() -> None:
    result = source().parse(page("ukri-listing-open.html"), LISTING_URL)
    items = by_id(result.items)
    assert list(items) == [
        "future-leaders-fellowship-round-11",
        "defra-farming-innovation-investor-partnership-2026",
        "national-pet-imaging-platform-data-platform",
    ]
    flf = items["future-leaders-fellowship-round-11"]
    assert flf.extra["councils"] == sorted(
        ["AHRC", "BBSRC", "EPSRC", "ESRC", "Innovate UK", "MRC", "NERC", "STFC", "UKRI"]
    )
    assert flf.funders[0] == "UKRI"  # plain text before the linked councils
    assert flf.total_fund_pence == 110_000_000 * 100
    assert flf.extra["funding_type"] == "Fellowship"
    defra = items["defra-farming-innovation-investor-partnership-2026"]
    assert defra.extra["co_funders"] == (
        "The Department for Environment, Food and Rural Affairs (Defra)"
    )
    assert defra.funders == ["Innovate UK", "Defra"]  # a co-funder is a funder (issue 14.6)
    pet = items["national-pet-imaging-platform-data-platform"]
    # the card's class names only MRC; Innovate UK comes from its funder link
    assert pet.extra["councils"] == ["Innovate UK", "MRC"]
    assert (pet.total_fund_pence, pet.award_max_pence) == (470_000_000, 470_000_000)
    assert pet.award_min_pence is None
    assert pet.summary.startswith("Apply for funding to host the Data Platform")
    assert pet.summary.endswith("eligible for MRC funding.")  # both paragraphs
    assert result.next_urls == [
        "https://www.ukri.org/opportunity/page/2/?filter_status%5B0%5D=open&filter_order=closing_date"
    ]


def test_listing_dates_are_aware_uk_local_time() -> None:
    items = by_id(source().parse(page("ukri-listing-open.html"), LISTING_URL).items)
    flf = items["future-leaders-fellowship-round-11"]
    assert flf.closes_at == datetime(2026, 6, 16, 15, 0, tzinfo=UTC)  # 4pm BST
    assert flf.opens_at == datetime(2026, 2, 2, 9, 0, tzinfo=UTC)  # 9am GMT
    assert flf.published_at == datetime(2026, 2, 2, 0, 0, tzinfo=UTC)
    for item in items.values():
        for moment in (item.opens_at, item.closes_at, item.published_at):
            assert moment is not None
            assert moment.tzinfo is not None
            assert str(moment.tzinfo) == "Europe/London"
        assert item.status == "open"
        assert item.extra["stated_status"] == "Open"


@pytest.mark.parametrize(
    ("stamp", "offset_hours", "why"),
    [
        ("2026-12-16T16:00:00", 0, "December: GMT"),
        ("2026-06-16T16:00:00", 1, "June: BST"),
        ("2026-03-28T16:00:00", 0, "Saturday before the last Sunday of March: still GMT"),
        ("2026-03-29T16:00:00", 1, "last Sunday of March, afternoon: BST has begun"),
        ("2026-10-24T16:00:00", 1, "Saturday before the last Sunday of October: still BST"),
        ("2026-10-25T16:00:00", 0, "last Sunday of October, afternoon: back to GMT"),
        ("2026-10-25T01:30:00", 1, "01:30 happens twice that night: the first (BST) is read"),
        ("2025-03-30T09:00:00", 1, "last Sunday of March 2025"),
    ],
)
def test_time_attribute_without_offset_is_uk_local(stamp: str, offset_hours: int, why: str) -> None:
    body = edited("ukri-listing-open.html", '"2026-06-16T16:00:00"', f'"{stamp}"')
    flf = source().parse(body, LISTING_URL).items[0]
    assert flf.closes_at is not None
    assert flf.closes_at.utcoffset().total_seconds() == offset_hours * 3600, why
    local = datetime.fromisoformat(stamp)
    assert flf.closes_at.astimezone(UTC).replace(tzinfo=None) == local.replace(
        hour=local.hour - offset_hours
    )


@pytest.mark.parametrize(
    ("written", "flag"),
    [("Open - no closing date", "no_closing_date"), ("To be confirmed", "closing_date_tbc")],
)
def test_closing_date_in_words_is_none_with_a_flag(written: str, flag: str) -> None:
    body = edited("ukri-listing-open.html", FLF_CLOSING, written)
    flf = source().parse(body, LISTING_URL).items[0]
    assert flf.closes_at is None
    assert flf.flags == [flag]
    assert not source().needs_detail(flf)  # UKRI said so: no page fetch will tell more


def test_rows_are_matched_by_label_not_position() -> None:
    """The first card's rows in reverse order, plus an "Award range" row."""
    soup = BeautifulSoup(page("ukri-listing-open.html"), "lxml")
    table = soup.select_one("dl.opportunity__summary")
    rows = table.find_all("div", recursive=False)
    for row in rows:
        row.extract()
    award = BeautifulSoup(
        '<div class="govuk-table__row"><dt>Award range: </dt>'
        "<dd>&pound;25,000 - &pound;50,000</dd></div>",
        "html.parser",
    )
    table.append(award)
    for row in reversed(rows):
        table.append(row)
    flf = source().parse(str(soup).encode(), LISTING_URL).items[0]
    assert [row.dt.get_text(strip=True) for row in table.find_all("div")][:2] == [
        "Award range:",
        "Closing date:",
    ]
    assert flf.closes_at == datetime(2026, 6, 16, 15, 0, tzinfo=UTC)
    assert flf.opens_at == datetime(2026, 2, 2, 9, 0, tzinfo=UTC)
    assert flf.funders[:2] == ["UKRI", "BBSRC"]
    assert flf.total_fund_pence == 11_000_000_000
    assert (flf.award_min_pence, flf.award_max_pence) == (2_500_000, 5_000_000)


def test_minimum_award_row() -> None:
    body = edited("ukri-listing-open.html", "Maximum award: </dt>", "Minimum award: </dt>").replace(
        b"Maximum award", b"Minimum award"
    )
    pet = by_id(source().parse(body, LISTING_URL).items)[
        "national-pet-imaging-platform-data-platform"
    ]
    assert (pet.award_min_pence, pet.award_max_pence) == (470_000_000, None)


# ---------------------------------------------------------------- council views
@pytest.mark.parametrize(
    ("council", "expected"),
    [
        (
            "mrc",
            {"future-leaders-fellowship-round-11", "national-pet-imaging-platform-data-platform"},
        ),
        (
            "Medical Research Council",
            {"future-leaders-fellowship-round-11", "national-pet-imaging-platform-data-platform"},
        ),
        ("esrc", {"future-leaders-fellowship-round-11"}),
        (
            "innovate-uk",
            {
                "future-leaders-fellowship-round-11",
                "defra-farming-innovation-investor-partnership-2026",
                "national-pet-imaging-platform-data-platform",
            },
        ),
        ("research-england", set()),
    ],
)
def test_council_view_keeps_that_councils_cards(council: str, expected: set[str]) -> None:
    result = source(council=council).parse(page("ukri-listing-open.html"), LISTING_URL)
    assert {item.external_id for item in result.items} == expected
    assert result.next_urls  # a view still follows the pages


def test_a_view_filters_items_ukri_already_parsed() -> None:
    """MRC and ESRC are not polled: they keep the UKRI items their council funds."""
    items = source().parse(page("ukri-listing-open.html"), LISTING_URL).items
    esrc = [item.external_id for item in items if source(council="ESRC").keeps(item)]
    assert esrc == ["future-leaders-fellowship-round-11"]
    assert all(source().keeps(item) for item in items)


def test_council_view_of_an_opportunity_page() -> None:
    body = page("ukri-opportunity-mrc-pet-imaging.html")
    assert len(source(council="mrc").parse(body, PET_URL).items) == 1
    assert source(council="esrc").parse(body, PET_URL).items == []


# ---------------------------------------------------------------- opportunity pages
def test_detail_title_summary_eligibility_and_apply_link() -> None:
    flf = source().parse(page("ukri-opportunity-flf-round11.html"), FLF_URL).items[0]
    assert flf.title == "Future Leaders Fellowships: round 11"  # no "Funding opportunity: "
    assert flf.extra["apply_url"] == "https://funding-service.ukri.org/OPP1194/apply/1222"
    assert flf.extra["last_updated"] == "2026-05-11"
    assert flf.eligibility == (
        "You must be a researcher or innovator who is either looking to establish or "
        "transition to independence. You must be based at, and have the support of, a UK "
        "organisation eligible for UKRI funding."
    )
    assert flf.summary.startswith("Apply for funding to support ambitious research")
    assert len(flf.summary) <= 600


def test_detail_without_apply_button_splits_the_br_line_into_eligibility() -> None:
    pet = source().parse(page("ukri-opportunity-mrc-pet-imaging.html"), PET_URL).items[0]
    assert pet.title == "National PET Imaging Platform: Data Platform"
    assert "apply_url" not in pet.extra
    assert pet.eligibility.startswith("You must be a member of the consortium bid")
    assert pet.eligibility.endswith("You must be invited to apply for this funding opportunity.")
    assert pet.summary.startswith("Apply for funding to host the National PET Imaging Platform")
    assert "start date" not in pet.summary  # cut at whole paragraphs before 600 characters
    assert len(pet.summary) <= 600


def test_opportunity_page_wrapped_in_post_classes_with_a_related_card() -> None:
    """WordPress may give the page's own article the "opportunity" class, and a related-
    opportunities box may show listing cards: the hidden "Funding opportunity: " title
    prefix still marks an opportunity page. (Wrapper and related card added here.)"""
    listing = page("ukri-listing-open.html").decode("utf-8")
    related = listing[
        listing.index('<div id="post-192758"') : listing.index('<div id="post-187396"')
    ].replace("This must align", "A briefing webinar on 1 June 2026 explains it. This must align")
    wrapper = '<div id="post-179370" class="post-179370 opportunity type-opportunity hentry">'
    body = edited(
        "ukri-opportunity-flf-round11.html",
        "<body>",
        f"<body>{wrapper}<aside>{related}</aside>",  # the related card comes first
    ).replace(b"</body>", b"</div></body>")
    items = source().parse(body, FLF_URL).items
    assert [item.external_id for item in items] == ["future-leaders-fellowship-round-11"]
    flf = items[0]
    assert flf.extra["apply_url"].startswith("https://funding-service.ukri.org/")
    assert flf.closes_at == datetime(2026, 6, 16, 15, 0, tzinfo=UTC)  # its own table
    assert flf.total_fund_pence == 11_000_000_000
    assert "co_funders" not in flf.extra


def test_long_description_is_trimmed_at_a_word() -> None:
    long = "<p>" + "Mental health research across the UK. " * 40 + "</p>"
    body = edited(
        "ukri-opportunity-flf-round11.html",
        '<div class="description">',
        '<div class="description">' + long,
    )
    flf = source().parse(body, FLF_URL).items[0]
    assert len(flf.summary) <= 601
    assert flf.summary.endswith("…")
    assert flf.summary.startswith("Mental health research across the UK.")


WHO_CAN_APPLY = """
<div id="who-can-apply"><h2 class="govuk-heading-l">Who can apply</h2>
<p>You can apply if you are a researcher based at a UK research organisation.</p>
<h3>Who is eligible to apply</h3><ul><li>charities may be project partners</li></ul>
<h2>What we're looking for</h2><p>Ambitious research.</p></div>
<div id="additional-info"><h2>Additional info</h2>
<p>We will hold a briefing webinar for potential applicants on 14 May 2026 at 2:00pm. The
deadline for applications is 16 June 2026 at 4:00pm.</p>
<ul><li>A networking event will take place in London on 3 December 2026, 10:30am to 4pm.</li>
<li>Watch our research office webinars about the Funding Service.</li>
<li>A further webinar will be held in July 2026.</li>
<li>The deadline is 16 June 2026; an information session on 20 May 2026 at 10am explains it.</li>
</ul></div>
"""


def _with_sections() -> bytes:
    """The real FLF page plus a constructed "Who can apply" and "Additional info" section."""
    return edited("ukri-opportunity-flf-round11.html", "</body>", WHO_CAN_APPLY + "</body>")


def test_eligibility_comes_from_the_who_can_apply_section() -> None:
    flf = source().parse(_with_sections(), FLF_URL).items[0]
    assert flf.eligibility == (
        "You can apply if you are a researcher based at a UK research organisation. "
        "Who is eligible to apply charities may be project partners"
    )


def test_events_hidden_in_a_call_become_event_items() -> None:
    call, *events = source().parse(_with_sections(), FLF_URL).items
    assert call.kind == "call"
    assert [event.kind for event in events] == ["event", "event", "event"]  # none for "July 2026"
    webinar, networking, session = events
    assert webinar.title == "Briefing webinar: Future Leaders Fellowships: round 11"
    assert webinar.starts_at == datetime(2026, 5, 14, 13, 0, tzinfo=UTC)  # 2pm BST
    assert webinar.online is True
    assert webinar.parent_external_id == "future-leaders-fellowship-round-11"
    assert webinar.external_id == "future-leaders-fellowship-round-11--briefing-webinar-20260514"
    assert webinar.summary.startswith("We will hold a briefing webinar")
    assert "deadline" not in webinar.summary  # its own sentence, not the closing date's
    assert networking.starts_at == datetime(2026, 12, 3, 10, 30, tzinfo=UTC)  # GMT
    assert networking.online is None
    assert networking.to_json()["parent_external_id"] == call.external_id
    assert networking.to_json()["starts_at"] == "2026-12-03T10:30:00+00:00"
    # the date after the phrase, not the deadline before it in the same sentence
    assert session.title == "Information session: Future Leaders Fellowships: round 11"
    assert session.starts_at == datetime(2026, 5, 20, 9, 0, tzinfo=UTC)


def test_events_follow_the_council_view() -> None:
    items = source(council="esrc").parse(_with_sections(), FLF_URL).items
    assert [item.kind for item in items] == ["call", "event", "event", "event"]
    assert source(council="research-england").parse(_with_sections(), FLF_URL).items == []


# ---------------------------------------------------------------- feed and enrichment
def test_feed_items_need_their_pages() -> None:
    items = source().parse(page("ukri-opportunity-feed-constructed.xml"), FEED_URL).items
    assert [item.closes_at for item in items] == [None, None, None]
    assert all(source().needs_detail(item) for item in items)
    assert items[0].published_at == datetime(2026, 5, 13, 8, 0, tzinfo=UTC)
    assert items[0].extra["from_feed"] is True


def test_feed_council_view_uses_the_item_categories() -> None:
    items = source(council="MRC").parse(page("ukri-opportunity-feed-constructed.xml"), FEED_URL)
    assert [item.external_id for item in items.items] == [
        "national-pet-imaging-platform-data-platform"
    ]


def test_listing_items_with_dates_need_no_page() -> None:
    items = source().parse(page("ukri-listing-open.html"), LISTING_URL).items
    assert not any(source().needs_detail(item) for item in items)


def test_parse_detail_enriches_a_feed_item() -> None:
    ukri = source()
    feed_item = ukri.parse(page("ukri-opportunity-feed-constructed.xml"), FEED_URL).items[2]
    assert feed_item.funders == []
    item = ukri.parse_detail(page("ukri-opportunity-flf-round11.html"), FLF_URL, feed_item)
    assert item.external_id == feed_item.external_id
    assert item.closes_at == datetime(2026, 6, 16, 15, 0, tzinfo=UTC)
    assert item.opens_at == datetime(2026, 2, 2, 9, 0, tzinfo=UTC)
    assert item.published_at == feed_item.published_at  # the feed's time is the finer one
    assert item.total_fund_pence == 11_000_000_000
    assert "MRC" in item.funders
    assert "MRC" in item.extra["councils"]
    assert item.eligibility.startswith("You must be a researcher or innovator")
    assert item.summary == feed_item.summary
    assert item.extra["apply_url"].startswith("https://funding-service.ukri.org/")
    assert item.extra["from_feed"] is True
    assert item.extra["detail_fetched"] is True
    assert not ukri.needs_detail(item)
    assert feed_item.closes_at is None  # the original is left alone


def test_parse_detail_records_no_closing_date() -> None:
    ukri = source()
    feed_item = ukri.parse(page("ukri-opportunity-feed-constructed.xml"), FEED_URL).items[2]
    body = edited("ukri-opportunity-flf-round11.html", FLF_CLOSING, "Open - no closing date")
    item = ukri.parse_detail(body, FLF_URL, feed_item)
    assert item.closes_at is None
    assert item.flags == ["no_closing_date"]
    assert not ukri.needs_detail(item)


def test_parse_detail_refuses_a_page_that_is_not_an_opportunity() -> None:
    item = Opportunity(source="ukri", external_id="x", url=FLF_URL, title="X")
    with pytest.raises(ParseError, match=r"opportunity__summary"):
        source().parse_detail(b"<html><body><h1>Page not found</h1></body></html>", FLF_URL, item)


# ---------------------------------------------------------------- broken and empty pages
@pytest.mark.parametrize(
    ("body", "why"),
    [
        (
            edited("ukri-listing-open.html", "hentry category-mrc", "hentry category-x").replace(
                b" opportunity type-opportunity", b" funding-card type-opportunity"
            ),
            "card class renamed: the page still paginates, so it is not an empty result",
        ),
        (
            edited("ukri-opportunity-flf-round11.html", 'id="skipnav-target"', 'id="title"'),
            "opportunity page lost its title anchor",
        ),
        (
            (
                ROOT.parent / "shared" / "fixtures" / "tnlcommunityfund-programmes-open.html"
            ).read_bytes()
            if (ROOT.parent / "shared" / "fixtures").exists()
            else b"<html><body><div class='card'>elsewhere</div></body></html>",
            "another funder's page",
        ),
        (b"", "empty body"),
        (b'<?xml version="1.0"?><rss version="2.0"><channel>', "a cut-off feed"),
        (b"<html><body><p>Service unavailable</p></body></html>", "an error page"),
    ],
)
def test_pages_that_are_not_ukri_pages_raise(body: bytes, why: str) -> None:
    with pytest.raises(ParseError):
        source().parse(body, LISTING_URL)


def test_truncated_listing_keeps_only_whole_cards() -> None:
    body = page("ukri-listing-open.html")
    cut = body[: body.index(b"Defra Farming Innovation Investor Partnership 2026")]
    result = source().parse(cut, LISTING_URL)
    assert [item.external_id for item in result.items] == ["future-leaders-fellowship-round-11"]
    assert result.items[0].closes_at is not None
    assert result.next_urls == []


@pytest.mark.parametrize("marker", [b"Total fund: ", b"post-179370 opportunity", b"<body>"])
def test_truncated_listing_with_no_whole_card_raises(marker: bytes) -> None:
    body = page("ukri-listing-open.html")
    with pytest.raises(ParseError):
        source().parse(body[: body.index(marker) + 30], LISTING_URL)


def test_truncated_opportunity_page_raises() -> None:
    body = page("ukri-opportunity-flf-round11.html")
    with pytest.raises(ParseError, match="truncated"):
        source().parse(body[: body.index(b'<div class="description">')], FLF_URL)


def test_a_listing_that_found_nothing_is_empty_not_an_error() -> None:
    body = (
        b"<html><head><title>Funding finder</title></head><body>"
        b'<form action="/opportunity/"><input name="keywords" value="zebrafish">'
        b'<input type="checkbox" name="filter_status[]" value="open"></form>'
        b"<p>No opportunities found.</p></body></html>"
    )
    result = source().parse(body, "https://www.ukri.org/opportunity/?keywords=zebrafish")
    assert result.items == []
    assert result.next_urls == []


# ---------------------------------------------------------------- offline snapshots
def test_snapshot_copies_are_the_verbatim_pages() -> None:
    pairs = [
        ("ukri-listing-open-2026-06.html", "ukri-listing-open.html"),
        ("ukri-opportunity-mrc-pet-imaging.html", "ukri-opportunity-mrc-pet-imaging.html"),
        ("ukri-opportunity-flf-round11.html", "ukri-opportunity-flf-round11.html"),
    ]
    for snapshot, fixture in pairs:
        assert (SNAPSHOTS / snapshot).read_bytes() == page(fixture)


def _reconstructed() -> list[Opportunity]:
    body = (SNAPSHOTS / "ukri-listing-reconstructed-2025-03.html").read_bytes()
    return source().parse(body, "https://www.ukri.org/opportunity/").items


def test_reconstructed_snapshot_gives_122_cards_with_aware_dates() -> None:
    items = _reconstructed()
    assert len(items) == 122
    assert sum(item.status == "open" for item in items) == 115
    assert sum(item.status == "upcoming" for item in items) == 7
    assert sum("no_closing_date" in item.flags for item in items) == 45
    assert sum("closing_date_tbc" in item.flags for item in items) == 3
    for item in items:
        assert item.closes_at is not None or item.flags
        for moment in (item.opens_at, item.closes_at, item.published_at):
            assert moment is None or moment.utcoffset() is not None
    bridge = items[0]
    assert bridge.title == "BridgeAI innovation exchange: empowering AI innovation"
    assert (bridge.award_min_pence, bridge.award_max_pence) == (2_500_000, 5_000_000)
    assert bridge.closes_at == datetime(2025, 4, 23, 10, 0, tzinfo=UTC)  # 11am BST
    assert not any(source().needs_detail(item) for item in items)


def test_reconstructed_snapshot_answers_mental_health_in_the_mrc_view() -> None:
    body = (SNAPSHOTS / "ukri-listing-reconstructed-2025-03.html").read_bytes()
    mrc = source(council="mrc").parse(body, "https://www.ukri.org/opportunity/").items
    mental = [item for item in mrc if "mental health" in item.title.lower()]
    assert {item.external_id for item in mental} >= {
        "neurosciences-and-mental-health-programme",
        "neurosciences-and-mental-health-new-investigator",
        "neurosciences-and-mental-health-research",
    }
    for item in mental:
        assert item.funders == ["MRC"]
        assert item.closes_at == datetime(2025, 4, 30, 15, 0, tzinfo=UTC)


@pytest.mark.skipif(not SCRAPED.exists(), reason="the shared scraped JSON is not beside the repo")
def test_reconstructed_snapshot_is_what_the_script_builds() -> None:
    spec = importlib.util.spec_from_file_location(
        "build_ukri_snapshot", ROOT / "scripts" / "build_ukri_snapshot.py"
    )
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    built = script.build(json.loads(SCRAPED.read_text(encoding="utf-8")))
    on_disk = (SNAPSHOTS / "ukri-listing-reconstructed-2025-03.html").read_text(encoding="utf-8")
    assert built == on_disk


# ---------------------------------------------------------------- an Innovate UK page (14.6)
def defra_page(url: str = DEFRA_URL) -> Opportunity:
    return source().parse(page("ukri-opportunity-defra-fiip-2026.html"), url).items[0]


def test_the_summary_leaves_out_the_callout_box_and_stops_at_the_first_heading() -> None:
    summary = defra_page().summary
    assert summary.startswith("UK registered micro, small and medium sized enterprises")
    assert "Innovation Funding Service" not in summary
    assert summary.endswith("from selected investor partners.")  # not "Eligibility summary"


def test_eligibility_list_items_stay_apart() -> None:
    assert defra_page().eligibility == (
        "This competition is open to single applicants only. To lead a project your "
        "organisation must: be a UK registered micro, small or medium sized enterprise (SME); "
        "carry out its project work in the UK; be seeking private financing of at least "
        "twice the amount of the grant requested"
    )


def test_a_co_funder_is_among_the_funders() -> None:
    item = defra_page()
    assert item.funders == ["Innovate UK", "Defra"]
    assert item.extra["councils"] == ["Innovate UK"]  # Defra is not a UKRI council


def test_a_page_read_with_the_listing_url_takes_its_id_from_its_canonical_link() -> None:
    canonical = f'<link rel="canonical" href="{DEFRA_URL}">'  # as live pages have; the copy lost it
    body = edited("ukri-opportunity-defra-fiip-2026.html", "<head>", f"<head>{canonical}")
    item = source().parse(body, LISTING_URL).items[0]
    assert (item.external_id, item.url) == (
        "defra-farming-innovation-investor-partnership-2026",
        DEFRA_URL,
    )


def test_a_page_without_its_own_address_is_refused_rather_than_given_the_listings_id() -> None:
    with pytest.raises(ParseError, match="no canonical link: give the page's own URL"):
        defra_page(LISTING_URL)
