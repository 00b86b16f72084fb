"""``signpost sources list [--json]`` and ``signpost sources discover URL [--add]``, against
the loopback fake website only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sources.catalogue import load_catalogue
from tests.helpers.fake_website import FakeWebsite

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
HOME = (FIXTURES / "discover" / "charity-home-wordpress-constructed.html").read_bytes()
FEED = (FIXTURES / "rss" / "funding-blog-rss2.xml").read_bytes()
BIRCH_ICS = (FIXTURES / "ical" / "wp-events-manager-birchcommunitycentre.ics").read_bytes()


def test_sources_list_json_gives_evidence_audiences_and_state(cli):
    result = cli("sources", "list", "--json")
    assert result.exit_code == 0
    rows = {row["name"]: row for row in json.loads(result.output)}
    assert {"name", "type", "kind", "audiences", "evidence", "enabled"} <= set(rows["ukri"])
    assert rows["ukri"]["evidence"] == "confirmed" and rows["ukri"]["enabled"] is True
    assert rows["phf-open"]["audiences"] == ["vcse"]
    assert rows["mq-mental-health"]["enabled"] is False
    assert rows["mq-mental-health"]["blocked"].startswith("captcha")
    assert not [r for r in rows.values() if r["enabled"] and r["evidence"] == "guess"]


def test_sources_list_text_shows_evidence_state_and_why_blocked(cli):
    result = cli("sources", "list")
    assert "confirmed" in result.output and "guess" in result.output
    assert "mq-mental-health is blocked: captcha" in result.output


@pytest.fixture(autouse=True)
def no_pause_on_loopback(monkeypatch):
    """The real one-second gap per site is a promise to real sites; the loopback site
    needs no such courtesy, and five fetches per test would otherwise take seconds."""
    import sources.http

    class QuickFetcher(sources.http.Fetcher):
        def __init__(self, client, **kwargs):
            super().__init__(client, **(kwargs | {"min_gap": 0.0}))

    monkeypatch.setattr(sources.http, "Fetcher", QuickFetcher)


def serve_charity(site: FakeWebsite) -> None:
    site.serve("/", HOME)
    site.serve("/feed/", FEED, content_type="application/rss+xml")
    site.serve("/events.ics", BIRCH_ICS, content_type="text/calendar")


def test_discover_reports_each_listing_with_its_count(cli, site):
    serve_charity(site)
    result = cli("sources", "discover", site.url("/"))
    assert result.exit_code == 0, result.output
    assert "2 listings with items, 5 tried" in result.output
    assert "link rel=alternate: 5 items" in result.output
    assert "Events Manager /events.ics: 50 items" in result.output
    assert "[sources.127-0-0-1-events]" in result.output


def test_discover_json_carries_ready_entries(cli, site):
    serve_charity(site)
    result = cli("sources", "discover", site.url("/"), "--json")
    found = {f["url"].removeprefix(site.origin): f for f in json.loads(result.output)["found"]}
    assert found["/feed/"]["items"] == 5 and found["/feed/"]["entry"].startswith("[sources.")
    assert found["/events/?ical=1"]["items"] == 0 and found["/events/?ical=1"]["entry"] is None


def test_discover_add_writes_a_loadable_sources_file(cli, site, tmp_path, monkeypatch):
    serve_charity(site)
    path = tmp_path / "mine.toml"
    monkeypatch.setenv("SIGNPOST_SOURCES_FILE", str(path))
    first = cli("sources", "discover", site.url("/"), "--add")
    assert first.exit_code == 0, first.output
    assert "Added to" in first.output and "127-0-0-1-feed" in first.output
    again = cli("sources", "discover", site.url("/"), "--add")
    assert "127-0-0-1-feed-2" in again.output  # a taken name is never overwritten
    catalogue = load_catalogue(path)
    assert "ukri" in catalogue  # laid over the default catalogue
    added = catalogue.get("127-0-0-1-events")
    assert added.type == "ical" and added.kind == "event" and added.enabled
    assert added.url == site.url("/events.ics")


def test_discover_add_needs_the_operators_file_and_a_bad_url_is_refused(cli, site):
    assert cli("sources", "discover", site.url("/"), "--add").exit_code == 2
    assert cli("sources", "discover", "ftp://example.org/").exit_code == 2


def test_discover_finding_nothing_exits_1(cli, site):
    site.serve("/", "<html><title>Plain</title><p>No feeds here.</p></html>")
    result = cli("sources", "discover", site.url("/"))
    assert result.exit_code == 1
    assert "0 listings with items" in result.output
