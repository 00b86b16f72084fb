"""IcalSource against calendars that real publishers produce (tests/fixtures/ical/README.md):
Outlook/Exchange with Windows zone names, WordPress Events Manager with unfilled placeholders,
Google, Meetup; recurring events expanded within a window of the clock."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.clock import FrozenClock
from sources.base import SourceConfig
from sources.ical import IcalSource
from sources.ical_quirks import WINDOW, clean_location, iana_zone

# The day each calendar was captured (its HTTP Date header, or DTSTAMP where there was none).
CAPTURED = {
    "outlook-exchange-familyaction-transdimension": datetime(2023, 1, 24, 13, 22, tzinfo=UTC),
    "outlook-exchange-biglifegroup-zion": datetime(2018, 7, 4, 12, 0, tzinfo=UTC),
    "wp-events-manager-birchcommunitycentre": datetime(2023, 9, 20, 12, 0, tzinfo=UTC),
    "google-calendar-placecal-test": datetime(2018, 12, 5, 12, 0, tzinfo=UTC),
    "meetup-group": datetime(2026, 1, 28, 12, 0, tzinfo=UTC),
}


def parse(body: bytes, now: datetime, name: str = "calendar"):
    url = f"https://calendar.example/{name}.ics"
    config = SourceConfig(name=name, type="ical", url=url, kind="event")
    return IcalSource(config, clock=FrozenClock(now)).parse(body, url).items


def parse_file(fixtures_dir, name: str, now: datetime | None = None):
    body = (fixtures_dir / "ical" / f"{name}.ics").read_bytes()
    return parse(body, now or CAPTURED[name], name)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize("name", CAPTURED)
def test_real_calendar_matches_expected_json(fixtures_dir, name):
    expected = json.loads((fixtures_dir / "ical" / f"{name}.expected.json").read_text())
    got = [{**item.to_json(), "extra": item.extra} for item in parse_file(fixtures_dir, name)]
    assert got == expected


def test_windows_zone_is_read_as_europe_london_across_the_clock_change(fixtures_dir):
    name = "outlook-exchange-familyaction-transdimension"
    (series,) = parse_file(fixtures_dir, name, now=utc(2023, 3, 20))
    assert series.starts_at.tzinfo == ZoneInfo("Europe/London")
    # Thursday 23 March 2023, 17:30 GMT; a week later the clocks have gone forward.
    assert series.starts_at == utc(2023, 3, 23, 17, 30)
    assert series.ends_at == utc(2023, 3, 23, 19, 30)
    assert series.extra["next_starts"][0] == "2023-03-30T16:30:00+00:00"
    assert series.extra["recurring"] is True


def test_windows_zone_without_a_vtimezone():
    body = (
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:w1\r\nSUMMARY:Drop-in\r\n"
        b"DTSTART;TZID=GMT Standard Time:20250610T173000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )  # constructed: an Exchange-style TZID with the VTIMEZONE left out
    (item,) = parse(body, utc(2025, 6, 1))
    assert item.starts_at == utc(2025, 6, 10, 16, 30)
    assert iana_zone("GMT Standard Time") == ZoneInfo("Europe/London")
    assert iana_zone("Europe/London") is None  # already IANA: left to icalendar


def test_series_sessions_stay_inside_the_window(fixtures_dir):
    now = CAPTURED["outlook-exchange-biglifegroup-zion"]
    items = parse_file(fixtures_dir, "outlook-exchange-biglifegroup-zion")
    sessions = [
        datetime.fromisoformat(start)
        for item in items
        for start in item.extra.get("next_starts", [])
    ]
    assert sessions and all(now <= start <= now + WINDOW for start in sessions)
    assert all(len(item.extra.get("next_starts", [])) <= 12 for item in items)
    # A weekly series that ended on 2 May 2018 has no session in the window: its first stays.
    ended = next(item for item in items if item.title.startswith("Big Life Centres/Trafford"))
    assert ended.starts_at == utc(2018, 4, 4, 9, 0)
    assert "next_starts" not in ended.extra


def test_events_manager_placeholders_are_not_a_location(fixtures_dir):
    items = parse_file(fixtures_dir, "wp-events-manager-birchcommunitycentre")
    assert len(items) == 50
    assert not any(item.location and "#_" in item.location for item in items)
    assert clean_location("#_LOCATIONNAME, #_LOCATIONFULLLINE, #_LOCATIONCOUNTRY") == ""
    assert clean_location("Birch Community Centre, #_LOCATIONTOWN") == "Birch Community Centre"


def test_bare_date_start_is_all_day_in_uk_time():
    body = (
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Modern Events Calendar//EN\r\n"
        b"BEGIN:VEVENT\r\nUID:mec-1\r\nSUMMARY:Wellbeing day\r\nDTSTART:20250610\r\n"
        b"DTEND:20250611\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )  # constructed in the shape SOURCES.md reports for Modern Events Calendar (no VALUE=DATE)
    (item,) = parse(body, utc(2025, 6, 1))
    assert item.extra["all_day"] is True
    assert item.starts_at == utc(2025, 6, 9, 23, 0)  # midnight BST
    assert item.ends_at == datetime(2025, 6, 10, 23, 59, tzinfo=ZoneInfo("Europe/London"))


def test_meetup_times_across_bst_and_gmt(fixtures_dir):
    starts = [item.starts_at for item in parse_file(fixtures_dir, "meetup-group")]
    assert utc(2026, 2, 13, 19, 0) in starts  # 19:00 GMT
    assert utc(2026, 4, 17, 18, 0) in starts  # 19:00 BST


def test_google_all_day_events(fixtures_dir):
    items = parse_file(fixtures_dir, "google-calendar-placecal-test")
    first = items[0]
    assert first.extra["all_day"] is True
    assert first.starts_at == utc(2018, 11, 25, 0, 0)
    assert first.ends_at == utc(2018, 11, 25, 23, 59)
    assert {item.kind for item in items} == {"event"}
