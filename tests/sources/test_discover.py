"""``sources.discover``: the listings a page offers, each tried once through the polite
fetcher against the loopback fake website, counted with the production parsers."""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime
from pathlib import Path

from sources.catalogue import parse_catalogue
from sources.discover import candidates, count_jsonld_events, discover, entry_toml
from sources.http import Fetcher, build_http_client
from tests.helpers.fake_website import FakeWebsite

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
HOME = (FIXTURES / "discover" / "charity-home-wordpress-constructed.html").read_bytes()
EVENTBRITE = (FIXTURES / "jsonld" / "eventbrite-organiser-page-queerlit.html").read_bytes()
BIRCH_ICS = (FIXTURES / "ical" / "wp-events-manager-birchcommunitycentre.ics").read_bytes()
FEED = (FIXTURES / "rss" / "funding-blog-rss2.xml").read_bytes()
ECP_ICS = (FIXTURES / "ical" / "charity-events-ecp.ics").read_bytes()
TODAY = date(2026, 12, 4)


async def no_wait(_: float) -> None:
    return None


async def discovered(site: FakeWebsite, path: str = "/"):
    client = build_http_client("SignpostBot/test (+https://example.org/contact)")
    try:
        return await discover(site.url(path), Fetcher(client, min_gap=0.0, sleep=no_wait))
    finally:
        await client.aclose()


def test_the_page_announces_feeds_and_calendars_and_conventions_follow():
    found = candidates(HOME, "https://riverside.example.org/")
    assert [(c.url, c.type, c.how) for c in found] == [
        ("https://riverside.example.org/feed/", "rss", "link rel=alternate"),
        ("https://riverside.example.org/comments/feed/", "rss", "link rel=alternate"),
        ("https://riverside.example.org/events/list/?ical=1", "ical", "calendar link"),
        ("https://riverside.example.org/events/?ical=1", "ical", "The Events Calendar ?ical=1"),
        ("https://riverside.example.org/events.ics", "ical", "Events Manager /events.ics"),
    ]  # the WordPress /feed/ convention is the announced feed: tried once, not twice


def test_webcal_and_atom_links_are_read():
    page = (
        b'<link rel="alternate" type="application/atom+xml" href="https://a.example/atom">'
        b'<a href="webcal://a.example/cal/public.ics">Subscribe</a>'
    )
    found = candidates(page, "https://a.example/")
    assert found[0].url == "https://a.example/atom" and found[0].type == "rss"
    assert (found[1].url, found[1].how) == ("https://a.example/cal/public.ics", "webcal link")


def test_json_ld_events_are_counted_in_the_real_eventbrite_page():
    from bs4 import BeautifulSoup

    assert count_jsonld_events(BeautifulSoup(EVENTBRITE, "lxml")) == 24
    assert candidates(EVENTBRITE, "https://www.eventbrite.co.uk/o/x-1")[-1].type == "jsonld"
    assert count_jsonld_events(BeautifulSoup(HOME, "lxml")) == 0


async def test_discover_tries_each_listing_once_and_counts_its_items():
    async with FakeWebsite() as site:
        site.serve("/", HOME)
        site.serve("/feed/", FEED, content_type="application/rss+xml; charset=UTF-8")
        site.serve("/comments/feed/", "<html><p>no comments</p></html>")
        site.serve("/events/list/?ical=1", ECP_ICS, content_type="text/calendar")
        site.serve("/events.ics", BIRCH_ICS, content_type="text/calendar; charset=UTF-8")
        found = await discovered(site)
        counts = {f.candidate.url.removeprefix(site.origin): f.items for f in found.findings}
        assert counts == {
            "/feed/": 5,
            "/comments/feed/": 0,
            "/events/list/?ical=1": 7,
            "/events/?ical=1": 0,
            "/events.ics": 50,
        }
        errors = {f.candidate.url.removeprefix(site.origin): f.error for f in found.findings}
        assert "not an RSS or Atom feed" in errors["/comments/feed/"]
        assert "404" in errors["/events/?ical=1"]
        for path in counts:
            assert len(site.hits(path)) == 1, path  # each tried once
        assert found.title.startswith("Riverside Mind Matters")
        assert [f.candidate.url.removeprefix(site.origin) for f in found.usable()] == [
            "/feed/",
            "/events/list/?ical=1",
            "/events.ics",
        ]


async def test_the_ready_entries_are_valid_catalogue_entries():
    async with FakeWebsite() as site:
        site.serve("/", HOME)
        site.serve("/feed/", FEED, content_type="application/rss+xml")
        found = await discovered(site)
    (feed,) = found.usable()
    table = tomllib.loads(entry_toml(found, feed, TODAY))
    configs = parse_catalogue(table["sources"], "discover")
    (config,) = configs.values()
    assert config.name == "127-0-0-1-feed"
    assert (config.type, config.kind, config.url) == ("rss", "news", feed.candidate.url)
    assert config.evidence == "confirmed" and config.enabled
    assert "discover saw 5 items here on 2026-12-04" in config.evidence_note


async def test_robots_txt_is_obeyed_and_a_refused_page_is_reported():
    async with FakeWebsite() as site:
        site.robots("User-agent: *\nDisallow: /\n")
        site.serve("/", HOME)
        found = await discovered(site)
        assert found.findings == [] and "robots" in found.error.lower()
        assert site.hits("/") == []


async def test_a_page_with_only_json_ld_offers_no_entry():
    async with FakeWebsite() as site:
        site.serve("/o/queer-lit", EVENTBRITE)
        found = await discovered(site, "/o/queer-lit")
    jsonld = [f for f in found.findings if f.candidate.type == "jsonld"]
    assert jsonld[0].items == 24 and "no source type" in jsonld[0].error
    assert found.usable() == []


async def test_the_admin_command_answers_with_the_same_discovery():
    from bot.clock import FrozenClock
    from bot.core import admin
    from bot.core.context import Services
    from bot.core.pipeline import Vocabulary

    async with FakeWebsite() as site:
        site.serve("/", HOME)
        site.serve("/feed/", FEED, content_type="application/rss+xml")
        client = build_http_client("SignpostBot/test (+https://example.org/contact)")
        fetcher = Fetcher(client, min_gap=0.0, sleep=no_wait)
        clock = FrozenClock(datetime(2026, 12, 4, 9, tzinfo=UTC))
        services = Services(None, clock, Vocabulary.load(), fetcher=fetcher)  # type: ignore[arg-type]
        try:
            reply = await admin.sources(None, services, f"discover {site.url('/')}")  # type: ignore[arg-type]
        finally:
            await client.aclose()
    assert reply.text == f"{site.url('/')}: 1 listing with items, 5 tried."
    feed = reply.sections[0]
    assert feed.heading == site.url("/feed/")
    assert feed.lines[0] == "link rel=alternate: 5 items"
    assert "[sources.127-0-0-1-feed]" in feed.lines
    assert reply.sections[3].lines[0].startswith("The Events Calendar ?ical=1: nothing (HTTP 404")
    usage = await admin.sources(None, services, "discover not-a-url")  # type: ignore[arg-type]
    assert usage.text.startswith("Usage: /sources discover URL")
    bare = Services(None, clock, Vocabulary.load())  # type: ignore[arg-type]
    missing = await admin.sources(None, bare, f"discover {site.url('/')}")  # type: ignore[arg-type]
    assert missing.text == "Discovery is not available in this process."


async def test_a_feed_url_is_counted_as_itself():
    async with FakeWebsite() as site:
        site.serve("/feed/", FEED, content_type="application/rss+xml")
        found = await discovered(site, "/feed/")
        assert [(f.candidate.how, f.items) for f in found.findings] == [("the page itself", 5)]
        assert site.hits("/") == [] and len(site.hits("/feed/")) == 1


async def test_a_page_of_many_export_links_is_asked_at_most_max_tries_times():
    from sources.discover import MAX_TRIES

    links = "".join(f'<a href="/event/e{n}/?ical=1">Export</a>' for n in range(30))
    async with FakeWebsite() as site:
        site.serve("/", f"<html><body>{links}</body></html>")
        found = await discovered(site)
        asked = [r for r in site.requests if r.path != "/robots.txt" and r.path != "/"]
    assert len(asked) == MAX_TRIES
    assert len(found.findings) == 33  # 30 links and the three conventions, all reported
    assert found.findings[-1].error.startswith("not tried")
