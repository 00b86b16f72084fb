"""TnlcfSource against the saved real open-programmes listing and an edited empty copy.

The fixtures and what each shows are described in ``tests/fixtures/tnlcf/README.md``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sources.base import ParseError, SourceConfig
from sources.tnlcf import FUNDER, TnlcfSource

HERE = Path(__file__).parent.parent / "fixtures" / "tnlcf"
OPEN = "tnlcommunityfund-programmes-open"
EMPTY = "tnlcommunityfund-programmes-open.edited-empty"
URL = "https://www.tnlcommunityfund.org.uk/funding/funding-programmes?status=open"


@pytest.fixture
def source() -> TnlcfSource:
    return TnlcfSource(SourceConfig(name="tnlcf", type="tnlcf", url=URL))


def load(name: str) -> tuple[bytes, dict]:
    expected = json.loads((HERE / f"{name}.expected.json").read_text(encoding="utf-8"))
    return (HERE / f"{name}.html").read_bytes(), expected


@pytest.mark.parametrize("name", [OPEN, EMPTY])
def test_every_page_gives_its_expected_json(source, name):
    body, expected = load(name)
    result = source.parse(body, expected["url"])
    assert [item.to_json() for item in result.items] == expected["items"]
    assert result.next_urls == expected["next_urls"]


def test_every_card_with_money_in_pence_and_location(source):
    result = source.parse(load(OPEN)[0], URL)
    rows = [
        (item.external_id, item.award_min_pence, item.award_max_pence, item.extra["location"])
        for item in result.items
    ]
    assert rows == [
        ("community-action", 20_001_00, 250_000_00, "Scotland"),
        ("dormant-assets-for-all", 300_00, 20_000_00, "Northern Ireland"),
        ("national-lottery-awards-for-all-england", 300_00, 20_000_00, "England"),
    ]
    for item in result.items:
        assert (item.kind, item.status, item.funders) == ("call", "open", [FUNDER])
        assert item.roles == ["vcse"]
        assert item.url.startswith(
            "https://www.tnlcommunityfund.org.uk/funding/funding-programmes/"
        )
        assert item.extra["stated_status"] == "Open to applications"
        assert item.summary
    assert result.items[2].extra["decision_time"] == "16 weeks"
    assert result.items[0].title == "Community Action"


def test_next_page_link_keeps_the_status_filter(source):
    result = source.parse(load(OPEN)[0], URL)
    assert result.next_urls == [f"{URL}&page=2"]
    from_page1 = source.parse(load(OPEN)[0], f"{URL}&page=1").next_urls
    assert from_page1 == [f"{URL}&page=2"]  # the href replaces the query, it is not appended


def test_last_page_has_no_next_url(source):
    body = load(OPEN)[0]
    start = body.index(b'<div class="next">')
    last = body[:start] + body[body.index(b"</nav>", start) :]
    assert source.parse(last, f"{URL}&page=3").next_urls == []


@pytest.mark.parametrize(
    ("old", "new", "check"),
    [
        (b"</strong>\nOpen to applications", b"</strong>Coming soon", ("status", "upcoming")),
        (b"</strong>\nOpen to applications", b"</strong>Closed", ("status", "closed")),
        (b"&#xA3;20,001 to &#xA3;250,000", b"Up to &#xA3;10,000", ("award_max_pence", 10_000_00)),
        (b"&#xA3;20,001 to &#xA3;250,000", b"Up to &#xA3;10,000", ("award_min_pence", None)),
    ],
)
def test_card_variants(source, old, new, check):
    body = load(OPEN)[0].replace(old, new, 1)
    field, value = check
    assert getattr(source.parse(body, URL).items[0], field) == value


def test_empty_listing_gives_no_items(source):
    result = source.parse(load(EMPTY)[0], URL)
    assert (result.items, result.next_urls) == ([], [])


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (b'class="card-results"', b'class="results-grid"', "no programme cards"),
        (b'<h2><a href="/funding/funding-programmes/community-action">', b"<h2><a>", "card 1"),
        (b"<strong>Programme status:</strong>", b"<strong>State:</strong>", "Programme status"),
        (b"</strong>\nOpen to applications", b"</strong>Suspended", "unknown status 'Suspended'"),
    ],
)
def test_changed_markup_is_a_parse_error(source, old, new, message):
    body = load(OPEN)[0]
    assert old in body
    with pytest.raises(ParseError, match=message):
        source.parse(body.replace(old, new, 1), URL)


def test_truncated_and_empty_pages_are_parse_errors(source):
    body = load(OPEN)[0]
    with pytest.raises(ParseError, match="truncated"):
        source.parse(body[: len(body) // 2], URL)
    with pytest.raises(ParseError, match="empty"):
        source.parse(b"", URL)
