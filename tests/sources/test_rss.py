"""RssSource against saved RSS 2.0 and Atom feeds (see tests/fixtures/rss/README.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from sources.base import ParseError, SourceConfig
from sources.normalise import UK
from sources.rss import RssSource, find_amounts, find_closing_date, find_opening_date

FEED_URL = "https://funding-news.example.org.uk/feed/"
SNAPSHOTS = Path(__file__).resolve().parents[2] / "sources" / "data" / "snapshots"


def make_source(kind: str = "call", **options) -> RssSource:
    config = SourceConfig(
        name="funding-news",
        type="rss",
        url=FEED_URL,
        kind=kind,
        topics=["mental-health"],
        funders=["Example Funder"],
        options=options,
    )
    return RssSource(config)


@pytest.fixture
def blog_items(fixtures_dir):
    body = (fixtures_dir / "rss" / "funding-blog-rss2.xml").read_bytes()
    return {item.external_id: item for item in make_source().parse(body, FEED_URL).items}


def uk(*args: int) -> datetime:
    return datetime(*args, tzinfo=UK)


@pytest.mark.parametrize(
    ("post", "closes_at", "award_min", "award_max"),
    [
        # "will be closed at 5pm on 14th June 2024": BST, so 16:00 UTC.
        ("2412", uk(2024, 6, 14, 17, 0), None, 500_000),
        # "Closing Wednesday 8 May 2024" and "Deadline for submission: 12:00 …": the hour wins.
        ("2377", uk(2024, 5, 8, 12, 0), None, 10_000_000),
        # "Closing date: 14 November 2019 16:00 GMT"; "invested £25 million" is history.
        ("412", uk(2019, 11, 14, 16, 0), None, None),
        # "Deadline: 4pm, 22 March 2018"; "(£9-10m budget …)" is not the award.
        ("176", uk(2018, 3, 22, 16, 0), None, 125_000_000),
        # "Mid May Closing date": no date to read; a stipend range.
        ("2301", None, 1_560_900, 1_760_900),
    ],
)
def test_rss2_items_read_dates_and_money_from_prose(
    blog_items, post, closes_at, award_min, award_max
):
    item = blog_items[f"https://funding-news.example.org.uk/?p={post}"]
    assert item.closes_at == closes_at
    assert item.award_min_pence == award_min
    assert item.award_max_pence == award_max


def test_rss2_item_fields(blog_items):
    item = blog_items["https://funding-news.example.org.uk/?p=2412"]
    assert item.source == "funding-news"
    assert (
        item.url
        == "https://forumcentral.org.uk/synergi-round-2-small-grants-fund-extended-deadline/"
    )
    assert item.title == "NSUN Synergi small grants fund – extended deadline"
    assert item.kind == "call"
    assert item.published_at == datetime(2024, 6, 3, 9, 12, 44, tzinfo=UTC)
    assert item.summary.startswith("The national Synergi project of The National Survivor")
    assert "<" not in item.summary
    assert item.topics == ["mental-health"]
    assert item.funders == ["Example Funder"]
    assert item.extra["categories"] == ["Small grants", "Lived experience"]
    ukprp = blog_items["https://funding-news.example.org.uk/?p=412"]
    assert ukprp.opens_at == uk(2019, 9, 3, 0, 0)


def test_rss2_items_come_oldest_first(fixtures_dir):
    body = (fixtures_dir / "rss" / "funding-blog-rss2.xml").read_bytes()
    items = make_source().parse(body, FEED_URL).items
    published = [item.published_at for item in items]
    assert published == sorted(published)
    assert items[0].title.startswith("Cross-disciplinary mental health network plus")


def test_every_datetime_is_aware(blog_items):
    for item in blog_items.values():
        for value in (item.opens_at, item.closes_at, item.published_at):
            assert value is None or value.tzinfo is not None


def test_atom_feed_of_studentships(fixtures_dir):
    body = (fixtures_dir / "rss" / "studentships-atom.xml").read_bytes()
    url = "https://dtp.example.ac.uk/studentships/feed.atom"
    items = make_source(kind="internship").parse(body, url).items
    assert [item.kind for item in items] == ["internship"] * 3
    by_title = {item.title: item for item in items}

    phd = by_title[
        "Fully funded PhD studentship: co-producing crisis care with young people & families"
    ]
    # xml:base makes the relative link absolute.
    assert phd.url == "https://dtp.example.ac.uk/studentships/co-producing-crisis-care/"
    # The id is a long tag URI: hashed, the same on every poll.
    assert phd.external_id.startswith("sha256:")
    assert phd.external_id == make_source().parse(body, url).items[-1].external_id
    assert phd.closes_at == datetime(2025, 1, 15, 12, 0, tzinfo=UK)  # "12 noon", GMT
    assert phd.award_max_pence == 2_078_000
    assert phd.published_at == datetime(2024, 11, 20, 16, 5, tzinfo=UTC)

    summer = by_title["Summer research internships for undergraduates (8 weeks)"]
    assert summer.url == "https://dtp.example.ac.uk/internships/summer-2025/"
    assert summer.external_id == "https://dtp.example.ac.uk/internships/summer-2025/"
    assert summer.opens_at == datetime(2024, 11, 4, 0, 0, tzinfo=UK)
    assert summer.closes_at == datetime(2025, 1, 31, 23, 59, tzinfo=UK)

    # An entry with only <updated> still gets a publication time.
    webinar = by_title["Information webinar for applicants"]
    assert webinar.published_at == datetime(2024, 11, 4, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("name", ["not-a-feed.html", "truncated.xml"])
def test_what_is_not_a_feed_is_a_parse_error(fixtures_dir, name):
    with pytest.raises(ParseError):
        make_source().parse((fixtures_dir / "rss" / name).read_bytes(), FEED_URL)


def test_a_valid_feed_with_no_items_is_empty_not_an_error(fixtures_dir):
    body = (fixtures_dir / "rss" / "empty-channel.xml").read_bytes()
    assert make_source().parse(body, FEED_URL).items == []


def test_a_news_item_with_a_deadline_is_a_call():
    snapshot = SNAPSHOTS / "feed-nsun-2024-06-constructed.xml"
    items = make_source(kind="news").parse(snapshot.read_bytes(), "https://www.nsun.org.uk/feed/")
    assert len(items.items) == 1
    assert items.items[0].kind == "call"
    assert items.items[0].closes_at == uk(2024, 6, 14, 17, 0)


def test_summary_is_capped_at_a_word_boundary(fixtures_dir):
    body = (fixtures_dir / "rss" / "funding-blog-rss2.xml").read_bytes()
    items = make_source(summary_chars=60).parse(body, FEED_URL).items
    assert all(len(item.summary) <= 61 for item in items)
    assert any(item.summary.endswith("…") for item in items)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Closing date: 5pm on 14th June 2024", uk(2024, 6, 14, 17, 0)),
        ("The deadline for applications is 31 January 2025.", uk(2025, 1, 31, 23, 59)),
        ("Apply by 1 March 2026 at 9:30am.", uk(2026, 3, 1, 9, 30)),
        ("Applications close November 2026.", uk(2026, 11, 30, 23, 59)),
        ("The call closed (9 May at 4:00pm UK time).", None),
        ("Closing the Gap network: our annual report 2024.", None),
        ("No deadline.", None),
    ],
)
def test_find_closing_date(text, expected):
    assert find_closing_date(text) == expected


def test_find_opening_date_stops_at_the_next_label():
    text = "Open date: 3 September 2019 • Closing date: 14 November 2019 16:00 GMT"
    assert find_opening_date(text) == uk(2019, 9, 3, 0, 0)


@pytest.mark.parametrize(
    ("text", "total", "low", "high"),
    [
        (
            "Grants of up to £10,000 are available. There is £250,000 in total.",
            25_000_000,
            None,
            1_000_000,
        ),
        ("Awards of £25,000 - £50,000 for two years.", None, 2_500_000, 5_000_000),
        ("We invested £3 million last year.", None, None, None),
        # "£9-10m" reads as £9, less than the award: a misreading, dropped.
        ("Amount: £1.25m (£9-10m budget for ten awards).", None, None, 125_000_000),
    ],
)
def test_find_amounts(text, total, low, high):
    amounts = find_amounts(text)
    assert (amounts.total_fund, amounts.award_min, amounts.award_max) == (total, low, high)


def test_a_surrogate_or_nul_reference_costs_its_characters_not_the_feed():
    """feedparser raised UnicodeEncodeError on ``&#xD800;`` and the whole feed was lost."""
    feed = (
        b"<rss version='2.0'><channel><title>t</title>"
        b"<item><title>Bad &#xD800;title&#0;</title><link>https://x.example/1</link></item>"
        b"<item><title>Good title</title><link>https://x.example/2</link></item>"
        b"</channel></rss>"
    )
    items = make_source().parse(feed, "https://x.example/feed").items
    assert sorted(item.title for item in items) == ["Bad \ufffdtitle\ufffd", "Good title"]
