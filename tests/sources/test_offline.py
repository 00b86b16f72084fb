"""Offline snapshots: the manifest loader and the transport that serves it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from bot.clock import FrozenClock, OffsetClock
from sources.http import Fetcher, build_http_client
from sources.offline import (
    ManifestError,
    SnapshotTransport,
    canonical_snapshot_url,
    load_manifest,
)
from sources.poller import IngestStats, poll_source
from tests.sources.test_poller import listing, make_source

LISTING_URL = "https://funder.example.org/calls?page=1&sort=closing"
MANIFEST = """
[clock]
at = "2025-03-28T12:00:00+00:00"

[[snapshot]]
url = "{url}"
file = "funder/listing.html"
captured = "2025-03-28T09:14:00+00:00"
content_type = "text/html; charset=utf-8"
provenance = "saved from the live site"
reconstructed = false

[[snapshot]]
url = "https://funder.example.org/feed.xml"
file = "funder/feed.xml"
captured = 2025-03-27T18:00:00+01:00
content_type = "application/rss+xml"
provenance = "rebuilt from notes"
reconstructed = true
"""


def write_manifest(root: Path, text: str = MANIFEST, url: str = LISTING_URL) -> Path:
    (root / "funder").mkdir(exist_ok=True)
    (root / "funder" / "listing.html").write_text(listing(1, 2, 3), encoding="utf-8")
    (root / "funder" / "feed.xml").write_bytes(b"<rss><channel></channel></rss>")
    path = root / "manifest.toml"
    path.write_text(text.replace("{url}", url), encoding="utf-8")
    return path


@pytest.fixture
def manifest_path(tmp_path) -> Path:
    return write_manifest(tmp_path)


@pytest.fixture
async def offline_client(manifest_path):
    transport = SnapshotTransport.from_package(manifest_path)
    async with build_http_client("SignpostBot/test", transport=transport) as client:
        yield client


def test_manifest_gives_the_clock_and_every_snapshot(manifest_path):
    manifest = load_manifest(manifest_path)
    assert manifest.at == datetime(2025, 3, 28, 12, 0, tzinfo=UTC)
    listing_page, feed = manifest.snapshots
    assert listing_page.file == (manifest_path.parent / "funder" / "listing.html").resolve()
    assert listing_page.captured == datetime(2025, 3, 28, 9, 14, tzinfo=UTC)
    assert (listing_page.provenance, listing_page.reconstructed) == (
        "saved from the live site",
        False,
    )
    assert feed.captured == datetime(2025, 3, 27, 17, 0, tzinfo=UTC)  # TOML date-time, +01:00
    assert (feed.content_type, feed.reconstructed) == ("application/rss+xml", True)


def test_manifest_clock_reads_the_capture_date_then_runs(manifest_path):
    clock = load_manifest(manifest_path).clock()
    assert isinstance(clock, OffsetClock)
    now = clock.now()
    assert timedelta(0) <= now - datetime(2025, 3, 28, 12, 0, tzinfo=UTC) < timedelta(seconds=5)
    assert now.tzinfo is not None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[snapshot]]\nurl='x'\n", "[clock] at = ... is required"),
        ("[clock]\nat = '2025-03-28T12:00:00'\n", "needs a UTC offset"),
        ("[clock]\nat = 'soon'\n", "not an ISO 8601 date-time"),
        ("[clock]\nat = 2025-03-28T12:00:00Z\n[[snapshot]]\nurl = 'u'\n", "missing file"),
        ("[clock\n", "not valid TOML"),
    ],
)
def test_malformed_manifests_are_refused_with_a_clear_message(tmp_path, text, message):
    path = tmp_path / "manifest.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ManifestError, match=message.replace("[", r"\[").replace(".", r"\.")):
        load_manifest(path)


def test_missing_or_escaping_files_and_duplicates_are_refused(tmp_path):
    path = write_manifest(tmp_path)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("funder/feed.xml", "../outside.xml"), encoding="utf-8")
    with pytest.raises(ManifestError, match="is outside"):
        load_manifest(path)
    path.write_text(text.replace("funder/feed.xml", "funder/gone.xml"), encoding="utf-8")
    with pytest.raises(ManifestError, match="does not exist"):
        load_manifest(path)
    twice = text.replace("https://funder.example.org/feed.xml", LISTING_URL)
    path.write_text(twice, encoding="utf-8")
    with pytest.raises(ManifestError, match="listed twice"):
        load_manifest(path)
    with pytest.raises(ManifestError, match="no snapshot manifest"):
        load_manifest(tmp_path / "nowhere.toml")


def test_canonical_url_ignores_query_order_case_default_port_and_fragment():
    assert canonical_snapshot_url(
        "HTTPS://Funder.Example.org:443/calls?sort=closing&page=1#top"
    ) == (canonical_snapshot_url(LISTING_URL))
    assert canonical_snapshot_url("https://x.org/calls/") != canonical_snapshot_url(
        "https://x.org/calls"
    )


async def test_snapshots_are_served_by_url_in_any_query_order(offline_client):
    response = await offline_client.get("https://funder.example.org/calls?sort=closing&page=1")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.text == listing(1, 2, 3)
    assert response.headers["etag"].startswith('"')
    assert response.headers["x-signpost-snapshot"] == "captured"
    assert response.headers["last-modified"] == "Fri, 28 Mar 2025 09:14:00 GMT"


async def test_unknown_urls_are_404_and_robots_allows_everything(offline_client):
    missing = await offline_client.get("https://funder.example.org/calls?page=2")
    robots = await offline_client.get("https://anywhere.example.com/robots.txt")
    assert missing.status_code == 404
    assert (robots.status_code, "Allow: /" in robots.text) == (200, True)


async def test_etag_and_last_modified_give_304(offline_client):
    first = await offline_client.get(LISTING_URL)
    by_etag = await offline_client.get(
        LISTING_URL, headers={"If-None-Match": first.headers["etag"]}
    )
    by_date = await offline_client.get(
        LISTING_URL, headers={"If-Modified-Since": first.headers["last-modified"]}
    )
    other_tag = await offline_client.get(LISTING_URL, headers={"If-None-Match": '"other"'})
    assert (by_etag.status_code, by_etag.content) == (304, b"")
    assert by_date.status_code == 304
    assert other_tag.status_code == 200


async def test_offline_polls_parse_then_get_304_through_the_fetcher(
    store, manifest_path, offline_client
):
    fetcher = Fetcher(offline_client, min_gap=0.0)
    clock = FrozenClock(load_manifest(manifest_path).at)
    calls: list[int] = []

    async def ingest(source, items):
        calls.append(len(items))
        return IngestStats(new=len(items))

    source = make_source("funder", LISTING_URL)
    first = await poll_source(source, fetcher=fetcher, store=store, clock=clock, ingest=ingest)
    second = await poll_source(source, fetcher=fetcher, store=store, clock=clock, ingest=ingest)
    assert (first.outcome, first.new) == ("ok", 3)
    assert second.outcome == "unchanged"
    assert calls == [3]


async def test_the_transport_never_needs_the_network(manifest_path):
    transport = SnapshotTransport.from_package(manifest_path)
    request = httpx.Request("POST", LISTING_URL)
    assert (await transport.handle_async_request(request)).status_code == 405
    head = await transport.handle_async_request(httpx.Request("HEAD", LISTING_URL))
    assert (head.status_code, head.content) == (200, b"")
    results = await asyncio.gather(
        *(transport.handle_async_request(httpx.Request("GET", LISTING_URL)) for _ in range(3))
    )
    assert len({response.headers["etag"] for response in results}) == 1
