"""IcalSource against saved calendars (see tests/fixtures/ical/README.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from sources.base import ParseError, SourceConfig
from sources.ical import IcalSource, is_online
from sources.normalise import UK

CALENDAR_URL = "https://charity.example.org.uk/events/?ical=1"
SNAPSHOTS = Path(__file__).resolve().parents[2] / "sources" / "data" / "snapshots"
DOMAIN = "@charity.example.org.uk"


def make_source() -> IcalSource:
    config = SourceConfig(
        name="charity-events",
        type="ical",
        url=CALENDAR_URL,
        kind="event",
        topics=["mental-health", "co-production"],
    )
    return IcalSource(config)


@pytest.fixture
def events(fixtures_dir):
    body = (fixtures_dir / "ical" / "charity-events-ecp.ics").read_bytes()
    return make_source().parse(body, CALENDAR_URL).items


@pytest.fixture
def by_uid(events):
    return {item.external_id: item for item in events}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("uid", "starts_utc", "ends_utc"),
    [
        # TZID=Europe/London on 28 March 2024: still GMT.
        ("10000411-1711620000-1711625400", utc(2024, 3, 28, 10, 0), utc(2024, 3, 28, 11, 30)),
        # The same wall-clock time after the clocks went forward on 31 March: BST.
        ("10000415-1712048400-1712070000", utc(2024, 4, 2, 9, 0), utc(2024, 4, 2, 15, 0)),
        # UTC ("Z") kept as given.
        ("10000433-1730815200-1730818800", utc(2024, 11, 5, 14, 0), utc(2024, 11, 5, 15, 0)),
        # Floating time: UK local, GMT in December.
        ("10000440", utc(2024, 12, 3, 18, 30), utc(2024, 12, 3, 20, 0)),
        # DTSTART plus DURATION, after the clocks went back on 27 October.
        ("10000460-1730196000-1730203200", utc(2024, 10, 29, 10, 0), utc(2024, 10, 29, 12, 0)),
    ],
)
def test_event_times_are_aware_and_right(by_uid, uid, starts_utc, ends_utc):
    item = by_uid[uid + DOMAIN]
    assert item.starts_at == starts_utc
    assert item.ends_at == ends_utc
    assert item.starts_at.tzinfo is not None


def test_all_day_event_covers_its_days_in_uk_time(by_uid):
    item = by_uid["10000420-1715731200-1715903999" + DOMAIN]
    assert item.starts_at == datetime(2024, 5, 15, 0, 0, tzinfo=UK)
    # DTEND;VALUE=DATE:20240517 is exclusive: the event ends on the 16th.
    assert item.ends_at == datetime(2024, 5, 16, 23, 59, tzinfo=UK)
    assert item.extra["all_day"] is True


def test_cancelled_events_are_skipped(by_uid):
    assert "10000450-1718715600-1718719200" + DOMAIN not in by_uid


def test_a_recurring_event_gives_its_first_instance_only(events):
    weekly = [item for item in events if item.external_id.startswith("weekly-peer-support")]
    assert len(weekly) == 1
    assert weekly[0].starts_at == datetime(2024, 10, 8, 11, 0, tzinfo=UK)
    assert weekly[0].title == "Weekly peer support drop-in"
    assert weekly[0].extra["recurring"] is True


@pytest.mark.parametrize(
    ("uid", "online"),
    [
        ("10000411-1711620000-1711625400", True),  # LOCATION: Online via Zoom
        ("10000415-1712048400-1712070000", False),  # a hall in Leeds
        ("10000433-1730815200-1730818800", True),  # "runs on Microsoft Teams" in DESCRIPTION
        ("10000440", False),  # Bristol hub; "Book at https://…" is not "online"
        ("10000460-1730196000-1730203200", True),  # "webinar", no LOCATION
        ("weekly-peer-support", True),  # hybrid
        ("10000420-1715731200-1715903999", False),
    ],
)
def test_online_detection(by_uid, uid, online):
    assert by_uid[uid + DOMAIN].online is online


def test_event_fields(by_uid, events):
    item = by_uid["10000415-1712048400-1712070000" + DOMAIN]
    assert item.kind == "event"
    assert item.source == "charity-events"
    assert item.title == "Peer research network meet-up – Leeds"  # &#8211; decoded
    assert item.location == "Community Hall, 12 Example Street, Leeds, LS1 1AA, United Kingdom"
    assert item.url == "https://charity.example.org.uk/event/peer-research-network-leeds/"
    assert item.topics == ["mental-health", "co-production"]
    assert item.to_json()["starts_at"] == "2024-04-02T10:00:00+01:00"
    assert [e.starts_at for e in events] == sorted(e.starts_at for e in events)
    assert len(events) == 7


def test_url_taken_from_the_description_when_there_is_no_url(by_uid):
    assert by_uid["10000440" + DOMAIN].url == "https://tickets.example.org.uk/winter-wellbeing"
    assert by_uid["weekly-peer-support" + DOMAIN].url == (
        "https://charity.example.org.uk/peer-support/"
    )


def test_description_is_plain_text(by_uid):
    summary = by_uid["weekly-peer-support" + DOMAIN].summary
    assert summary == "An informal space to talk. Find out more."


def test_real_events_calendar_export(fixtures_dir):
    body = (fixtures_dir / "ical" / "ecp-cinema-museum-slice.ics").read_bytes()
    items = make_source().parse(body, "https://cinemamuseum.org.uk/events/?ical=1").items
    assert [item.title for item in items] == [
        "Museum Tour - Morning",
        "50th anniversary of Aces High (1976)",
        "Film, Sound, Music and Entertainment 1894 - 1929",
    ]
    assert items[1].starts_at == utc(2026, 5, 16, 18, 30)  # 19:30 BST
    assert items[1].url == "https://cinemamuseum.org.uk/scheduled/aces-high/"
    assert items[0].online is None  # no location, no description: unknown


def test_unknown_tzid_is_read_as_uk_local_time():
    body = (
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x-1\r\n"
        b"DTSTART;TZID=Custom/Office:20240701T090000\r\nSUMMARY:Team day\r\n"
        b"END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    (item,) = make_source().parse(body, CALENDAR_URL).items
    assert item.starts_at == utc(2024, 7, 1, 8, 0)
    assert item.ends_at is None
    assert item.url == CALENDAR_URL


def test_event_without_start_is_skipped_not_fatal():
    body = (
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:a\r\nSUMMARY:No date\r\n"
        b"END:VEVENT\r\nBEGIN:VEVENT\r\nUID:b\r\nDTSTART:20240701T090000Z\r\n"
        b"SUMMARY:Dated\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    assert [item.title for item in make_source().parse(body, CALENDAR_URL).items] == ["Dated"]


def test_html_instead_of_a_calendar_is_a_parse_error(fixtures_dir):
    body = (fixtures_dir / "ical" / "not-a-calendar.html").read_bytes()
    with pytest.raises(ParseError, match="not an iCalendar file"):
        make_source().parse(body, CALENDAR_URL)


def test_broken_calendar_is_a_parse_error():
    with pytest.raises(ParseError):
        make_source().parse(b"BEGIN:VCALENDAR\r\nthis is not a content line\r\n", CALENDAR_URL)


def test_empty_calendar_is_empty(fixtures_dir):
    body = (fixtures_dir / "ical" / "empty-calendar.ics").read_bytes()
    assert make_source().parse(body, CALENDAR_URL).items == []


def test_offline_snapshot_parses():
    body = (SNAPSHOTS / "ical-mcpin-events-2026-06-constructed.ics").read_bytes()
    items = make_source().parse(body, "https://mcpin.org/events/?ical=1").items
    assert len(items) == 3
    assert all(item.title.startswith("Example event") for item in items)
    assert items[0].starts_at == utc(2026, 6, 24, 12, 0)


@pytest.mark.parametrize(
    ("location", "description", "url", "expected"),
    [
        ("", "", "", None),
        ("Town hall", "", "", False),
        ("", "", "https://us02web.zoom.us/j/123", True),
        ("", "Our care teams will be there.", "", None),
        ("", "Book online now.", "", None),
        ("", "This online session is free.", "", True),
    ],
)
def test_is_online(location, description, url, expected):
    assert is_online(location, description, url) is expected
