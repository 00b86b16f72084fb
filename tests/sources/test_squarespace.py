"""SquarespaceEventsSource against a real ``?format=json`` answer (tests/fixtures/squarespace)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.clock import FrozenClock
from sources.base import ParseError, SourceConfig
from sources.registry import build_source
from sources.squarespace import SquarespaceEventsSource

URL = "https://robin-cunningham-dh7d.squarespace.com/our-events/?format=json"
CAPTURED = datetime(2022, 10, 26, 12, 0, tzinfo=UTC)
FILE = "squarespace-events-format-json"


def make_source(now: datetime = CAPTURED) -> SquarespaceEventsSource:
    config = SourceConfig(name="vfd-events", type="squarespace", url=URL, kind="event")
    return SquarespaceEventsSource(config, clock=FrozenClock(now))


def parsed(fixtures_dir, now: datetime = CAPTURED):
    body = (fixtures_dir / "squarespace" / f"{FILE}.json").read_bytes()
    return make_source(now).parse(body, URL).items


def test_real_collection_matches_expected_json(fixtures_dir):
    expected = json.loads((fixtures_dir / "squarespace" / f"{FILE}.expected.json").read_text())
    got = [{**item.to_json(), "extra": item.extra} for item in parsed(fixtures_dir)]
    assert got == expected


def test_epoch_milliseconds_are_utc_and_urls_absolute(fixtures_dir):
    first = parsed(fixtures_dir)[0]
    assert first.title == "crazinsT artisT: Before Dawn"
    assert first.starts_at == datetime(2022, 10, 26, 18, 0, tzinfo=UTC)
    assert first.ends_at == datetime(2022, 10, 26, 22, 59, tzinfo=UTC)
    assert first.url.startswith("https://robin-cunningham-dh7d.squarespace.com/our-events/2022/")
    assert first.external_id == "634e774dbe00001b8ac5688a"
    assert first.kind == "event"


def test_titles_are_unescaped(fixtures_dir):
    titles = [item.title for item in parsed(fixtures_dir)]
    assert any("TOIL & TROUBLE" in title for title in titles)
    assert not any("&amp;" in title for title in titles)


def test_past_list_is_ignored_and_ended_events_dropped(fixtures_dir):
    assert len(parsed(fixtures_dir)) == 16
    later = parsed(fixtures_dir, now=datetime(2022, 11, 20, 12, 0, tzinfo=UTC))
    # The two-day clown intensive (19-20 Nov) is still on; everything before it is over.
    assert later[0].title.startswith("Circle of Idiots")
    assert len(later) == 6


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html><body>Events</body></html>", "not Squarespace JSON"),
        (b'{"collection": {}, "items": []}', "no upcoming"),
        (b"", "not Squarespace JSON"),
    ],
)
def test_other_answers_are_parse_errors(body, message):
    with pytest.raises(ParseError, match=message):
        make_source().parse(body, URL)


def test_registered_as_squarespace():
    config = SourceConfig(name="x", type="squarespace", url=URL)
    assert isinstance(build_source(config), SquarespaceEventsSource)
