"""Politeness per origin (``sources.robots``): robots.txt and the pace of requests, seen
through the fetcher against a loopback website."""

from __future__ import annotations

import asyncio
import time

from sources.base import FetchError, RobotsDisallowed
from sources.http import Fetcher
from tests.helpers.fake_website import FakeWebsite, Route, refused_url

CONTACT = "https://example.org/signpost"
PAGE = "<html><body><ul class='calls'><li>One</li></ul></body></html>"


async def test_robots_is_fetched_once_per_host_and_obeyed(site, fetcher):
    site.robots("User-agent: *\nDisallow: /private/\n")
    for path in ("/a", "/b", "/c"):
        site.serve(path, PAGE)
    results = await asyncio.gather(*(fetcher.fetch(site.url(p)) for p in ("/a", "/b", "/c")))
    denied = await fetcher.fetch(site.url("/private/page"))
    assert all(result.ok for result in results)
    assert isinstance(denied.error, RobotsDisallowed)
    assert str(denied.error).startswith("robots.txt disallows ")
    assert len(site.hits("/robots.txt")) == 1
    assert site.hits("/private/page") == []


async def test_robots_rules_for_our_agent_apply(site, fetcher):
    site.robots("User-agent: SignpostBot\nDisallow: /\n\nUser-agent: *\nAllow: /\n")
    site.serve("/a", PAGE)
    result = await fetcher.fetch(site.url("/a"))
    assert isinstance(result.error, RobotsDisallowed)


async def test_missing_robots_allows_everything(site, fetcher):
    site.serve("/a", PAGE)  # /robots.txt answers 404
    assert (await fetcher.fetch(site.url("/a"))).ok
    assert len(site.hits("/robots.txt")) == 1


async def test_robots_server_error_is_a_temporary_failure_not_a_disallow(site, fetcher):
    site.fail("/robots.txt", 503)
    site.serve("/a", PAGE)
    first = await fetcher.fetch(site.url("/a"))
    second = await fetcher.fetch(site.url("/a"))
    assert isinstance(first.error, FetchError)
    assert not isinstance(first.error, RobotsDisallowed)
    assert "robots.txt" in str(first.error) and "503" in str(first.error)
    assert not second.ok
    assert site.hits("/a") == []
    assert len(site.hits("/robots.txt")) == 1  # the failure is cached for robots_retry


async def test_robots_copy_is_kept_while_the_file_is_unavailable(site, client, sleeps):
    fetcher = Fetcher(client, min_gap=0.0, sleep=sleeps, robots_ttl=0.0)
    site.route(
        "/robots.txt",
        Route(body=b"User-agent: *\nDisallow: /private/\n", content_type="text/plain"),
        Route(status=503),
    )
    site.serve("/a", PAGE)
    assert (await fetcher.fetch(site.url("/a"))).ok
    again = await fetcher.fetch(site.url("/private/x"))  # TTL passed; robots now 503
    assert isinstance(again.error, RobotsDisallowed)
    assert len(site.hits("/robots.txt")) == 2


async def test_connection_refused_fails_at_robots_without_hammering(fetcher, sleeps):
    url = refused_url("/calls")
    result = await fetcher.fetch(url)
    assert isinstance(result.error, FetchError)
    assert not isinstance(result.error, RobotsDisallowed)
    assert str(result.error).startswith(f"robots.txt at {url.removesuffix('/calls')}/robots.txt")
    assert "is unreachable" in str(result.error)
    assert sleeps.calls == []  # an unreachable host is retried at the next poll, with backoff


async def test_redirect_into_a_disallowed_path_is_refused(site, fetcher):
    site.robots("User-agent: *\nDisallow: /private/\n")
    site.redirect("/go", "/private/x")
    result = await fetcher.fetch(site.url("/go"))
    assert isinstance(result.error, RobotsDisallowed)
    assert site.hits("/private/x") == []


async def test_one_host_never_gets_more_than_two_requests_at_once(site, client):
    fetcher = Fetcher(client, per_host=2, min_gap=0.05)
    paths = [f"/p{n}" for n in range(6)]
    for path in paths:
        site.route(path, Route(body=PAGE.encode(), delay=0.4))
    results = await asyncio.gather(*(fetcher.fetch(site.url(path)) for path in paths))
    assert all(result.ok for result in results)
    assert site.max_concurrency() == 2


async def test_request_starts_to_one_host_are_spaced_by_the_gap(site, client):
    fetcher = Fetcher(client, per_host=2, min_gap=0.25)
    paths = [f"/p{n}" for n in range(4)]
    for path in paths:
        site.serve(path, PAGE)
    await asyncio.gather(*(fetcher.fetch(site.url(path)) for path in paths))
    # Seen from the server, so loopback scheduling jitter (a few ms) can shave the gap.
    assert site.min_gap() >= 0.25 - 0.04
    starts = sorted(request.started for request in site.requests)
    assert starts[-1] - starts[0] >= 4 * 0.25 - 0.04  # robots.txt and four pages


async def test_other_hosts_are_not_held_up_by_a_busy_one(client):
    fetcher = Fetcher(client, per_host=2, min_gap=0.3)
    async with FakeWebsite() as busy, FakeWebsite() as quiet:
        for path in ("/1", "/2", "/3"):
            busy.serve(path, PAGE)
        quiet.serve("/1", PAGE)
        started = time.monotonic()
        await asyncio.gather(
            *(fetcher.fetch(busy.url(path)) for path in ("/1", "/2", "/3")),
            fetcher.fetch(quiet.url("/1")),
        )
    # busy: robots, /1, /2, /3 at 0.3 s spacing; quiet: robots then /1 at 0.3 s
    assert quiet.hits("/1")[0].started - started < 0.5
    assert max(r.started for r in busy.requests) - started >= 0.85
    assert busy.min_gap() >= 0.3 - 0.04


async def test_crawl_delay_longer_than_the_gap_is_obeyed(site, client):
    fetcher = Fetcher(client, min_gap=0.0)
    site.robots("User-agent: *\nCrawl-delay: 0.3\n")
    site.serve("/a", PAGE)
    site.serve("/b", PAGE)
    await asyncio.gather(fetcher.fetch(site.url("/a")), fetcher.fetch(site.url("/b")))
    assert site.min_gap() >= 0.3 - 0.04
