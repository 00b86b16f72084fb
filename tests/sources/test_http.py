"""The fetcher against a loopback website that misbehaves on request (robots.txt and the pace
per origin are in test_robots.py)."""

from __future__ import annotations

import time

import pytest

from sources.base import FetchError
from sources.http import Fetcher, build_http_client, default_user_agent
from tests.helpers.fake_website import Route

CONTACT = "https://example.org/signpost"
PAGE = "<html><body><ul class='calls'><li>One</li></ul></body></html>"
MODIFIED = "Fri, 28 Mar 2025 09:00:00 GMT"


def test_client_is_built_with_timeouts_redirect_limit_and_user_agent():
    http = build_http_client(default_user_agent(CONTACT))
    assert http.timeout.connect == 10.0
    assert http.timeout.read == 30.0
    assert http.follow_redirects is True
    assert http.max_redirects == 5
    assert http.headers["User-Agent"].startswith("SignpostBot/")
    assert CONTACT in http.headers["User-Agent"]


async def test_page_comes_back_with_body_and_validators(site, fetcher):
    site.serve("/calls", PAGE, etag='"v1"', last_modified=MODIFIED)
    result = await fetcher.fetch(site.url("/calls"))
    assert result.ok, result.error
    assert (result.status, result.body.decode()) == (200, PAGE)
    assert (result.etag, result.last_modified) == ('"v1"', MODIFIED)
    assert result.content_type == "text/html; charset=utf-8"
    assert CONTACT in site.hits("/calls")[0].headers["user-agent"]


async def test_etag_sent_back_gives_not_modified(site, fetcher):
    site.serve("/calls", PAGE, etag='"v1"')
    result = await fetcher.fetch(site.url("/calls"), etag='"v1"')
    assert result.ok and result.not_modified
    assert (result.status, result.body, result.etag) == (304, b"", '"v1"')
    assert site.hits("/calls")[0].headers["if-none-match"] == '"v1"'


async def test_last_modified_sent_back_gives_not_modified(site, fetcher):
    site.serve("/calls", PAGE, last_modified=MODIFIED)
    result = await fetcher.fetch(site.url("/calls"), last_modified=MODIFIED)
    assert result.not_modified
    assert site.hits("/calls")[0].headers["if-modified-since"] == MODIFIED


async def test_changed_page_answers_200_despite_old_etag(site, fetcher):
    site.serve("/calls", PAGE, etag='"v2"')
    result = await fetcher.fetch(site.url("/calls"), etag='"v1"')
    assert not result.not_modified
    assert result.etag == '"v2"'


async def test_server_errors_are_retried_with_growing_backoff(site, fetcher, sleeps):
    site.route("/flaky", Route(status=503), Route(status=502), Route(body=PAGE.encode()))
    result = await fetcher.fetch(site.url("/flaky"))
    assert result.ok
    assert len(site.hits("/flaky")) == 3
    assert len(sleeps.calls) == 2
    assert 0.5 <= sleeps.calls[0] <= 1.0
    assert 1.0 <= sleeps.calls[1] <= 2.0


async def test_persistent_500_gives_up_after_max_attempts(site, fetcher, sleeps):
    site.fail("/down", 500)
    result = await fetcher.fetch(site.url("/down"))
    assert isinstance(result.error, FetchError)
    assert str(result.error) == f"HTTP 500 from {site.url('/down')} (gave up after 3 attempts)"
    assert result.status == 500
    assert len(site.hits("/down")) == 3
    assert len(sleeps.calls) == 2


async def test_client_errors_are_not_retried(site, fetcher, sleeps):
    result = await fetcher.fetch(site.url("/nowhere"))
    assert str(result.error) == f"HTTP 404 from {site.url('/nowhere')}"
    assert len(site.hits("/nowhere")) == 1
    assert sleeps.calls == []


async def test_429_waits_at_least_retry_after(site, fetcher, sleeps):
    site.route("/busy", Route(status=429, headers={"Retry-After": "7"}), Route(body=b"<p>ok</p>"))
    result = await fetcher.fetch(site.url("/busy"))
    assert result.ok
    assert sleeps.calls == [7.0]


async def test_429_with_a_long_retry_after_is_left_for_the_next_poll(site, fetcher, sleeps):
    site.too_many("/busy", retry_after="3600")
    result = await fetcher.fetch(site.url("/busy"))
    assert "HTTP 429" in str(result.error) and "Retry-After 3600 s" in str(result.error)
    assert len(site.hits("/busy")) == 1
    assert sleeps.calls == []


async def test_timeout_is_retried_then_reported(site, client, sleeps):
    fetcher = Fetcher(client, min_gap=0.0, sleep=sleeps, max_attempts=2)
    site.hang("/slow")
    result = await fetcher.fetch(site.url("/slow"))
    assert str(result.error).startswith(f"timed out fetching {site.url('/slow')}")
    assert "gave up after 2 attempts" in str(result.error)
    assert len(site.hits("/slow")) == 2


async def test_connection_closed_without_an_answer_is_retried_then_reported(site, fetcher, sleeps):
    site.close("/hangup")
    result = await fetcher.fetch(site.url("/hangup"))
    assert str(result.error).startswith(f"connection failed for {site.url('/hangup')}")
    assert len(site.hits("/hangup")) == 3
    assert len(sleeps.calls) == 2


async def test_body_cut_short_is_a_fetch_error(site, fetcher):
    site.truncate("/cut", PAGE[:30], declared=len(PAGE))
    result = await fetcher.fetch(site.url("/cut"))
    assert "connection failed" in str(result.error)


@pytest.mark.parametrize("declare", [False, True], ids=["streamed", "content-length"])
async def test_body_over_the_cap_is_refused(site, fetcher, declare):
    site.huge("/big", declare=declare)
    started = time.monotonic()
    result = await fetcher.fetch(site.url("/big"))
    assert str(result.error) == f"response from {site.url('/big')} is larger than the 10 MB limit"
    assert time.monotonic() - started < 5


async def test_small_cap_stops_reading_a_stream_early(site, client):
    fetcher = Fetcher(client, min_gap=0.0, max_bytes=100_000)
    site.huge("/big", size=50 * 1024 * 1024)
    result = await fetcher.fetch(site.url("/big"))
    assert "larger than the 0.095" in str(result.error)


@pytest.mark.parametrize("media", ["application/pdf", "image/png"])
async def test_wrong_content_type_is_refused(site, fetcher, media):
    site.serve("/doc", b"%PDF-1.7", content_type=media)
    result = await fetcher.fetch(site.url("/doc"))
    assert str(result.error) == f"wrong content type {media} from {site.url('/doc')}"


@pytest.mark.parametrize(
    "media",
    [
        "application/rss+xml",
        "application/atom+xml; charset=utf-8",
        "text/calendar",
        "application/json",
        "application/xhtml+xml",
        "application/vnd.custom+xml",
    ],
)
async def test_feed_calendar_and_json_types_are_accepted(site, fetcher, media):
    site.serve("/feed", b"<rss/>", content_type=media)
    assert (await fetcher.fetch(site.url("/feed"))).ok


async def test_caller_can_narrow_what_it_accepts(site, fetcher):
    site.serve("/page", PAGE)
    site.serve("/feed", b"<rss/>", content_type="application/rss+xml")
    result = await fetcher.fetch(site.url("/page"), accept={"text/calendar"})
    feed = await fetcher.fetch(site.url("/feed"), accept={"text/calendar"})
    assert "wrong content type text/html" in str(result.error)
    assert "wrong content type application/rss+xml" in str(feed.error)


async def test_redirect_is_followed_and_result_keeps_the_asked_url(site, fetcher):
    site.redirect("/old", "/new")
    site.serve("/new", PAGE)
    result = await fetcher.fetch(site.url("/old"))
    assert result.ok and result.body.decode() == PAGE
    assert result.url == site.url("/old")


async def test_redirect_loop_is_cut_off(site, fetcher, sleeps):
    site.redirect("/loop/a", "/loop/b")
    site.redirect("/loop/b", "/loop/a")
    result = await fetcher.fetch(site.url("/loop/a"))
    assert str(result.error) == f"too many redirects (>5) from {site.url('/loop/a')}"
    assert len(site.hits("/loop/a")) + len(site.hits("/loop/b")) == 6
    assert sleeps.calls == []


async def test_bad_urls_become_errors_not_exceptions(fetcher):
    for url in ("ftp://example.org/file", "not a url", "http://"):
        result = await fetcher.fetch(url)
        assert isinstance(result.error, FetchError), url
