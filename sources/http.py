"""HTTP for sources: one shared ``httpx.AsyncClient`` and a ``Fetcher`` that is polite to every
site and hands back every outcome as a ``FetchResult`` value.

What ``Fetcher.fetch`` does, in order, for each URL (and for each redirect hop):

1. **robots.txt and pace**, kept in ``sources.robots``: a URL that its origin's robots.txt
   disallows is not fetched, and each origin gets at most ``per_host`` requests at a time,
   ``min_gap`` (or the site's Crawl-delay) apart. Redirect hops are followed here, not inside
   httpx, so each hop is checked against its own robots.txt and counted against its own origin.
2. **Conditional GET**: If-None-Match / If-Modified-Since; 304 gives ``not_modified=True``.
3. **Content checks**: the media type must be one the caller accepts, and the body is read
   as a stream and abandoned once it passes ``max_bytes`` (decompressed, so a gzip bomb is
   capped too).
4. **Retries**: timeouts, connection errors, 5xx and 429 are retried up to ``max_attempts``
   with exponential backoff and jitter, honouring Retry-After; anything else fails at once.
5. **A deadline per request**: httpx's timeouts bound each read, so a site that sends one
   byte every 20 s never trips them. ``deadline`` bounds the whole request, body included,
   while it holds the host's slot; when it passes the slot is given back and the fetch fails
   at once (not retried: a trickling site trickles again).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from sources.base import FetchError, FetchResult
from sources.robots import Politeness, read_body

__all__ = [
    "BOT_NAME",
    "DEFAULT_ACCEPT",
    "DEFAULT_DEADLINE",
    "DEFAULT_MAX_BYTES",
    "Fetcher",
    "build_http_client",
    "default_user_agent",
]

logger = logging.getLogger(__name__)

BOT_NAME = "SignpostBot"
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
# 10 MB at a slow 200 kB/s is under a minute: a request past this is a site holding us.
DEFAULT_DEADLINE = 60.0
# What a source may parse: HTML, XML feeds, iCalendar and JSON, plus any other "+xml" or "+json"
# type when the generic one is accepted (RFC 6839). text/plain is in because small charities'
# servers often label their feeds and calendars that way.
_MARKUP = ("text/html", "application/xhtml+xml", "application/xml", "text/xml")
_FEEDS_AND_DATA = (
    "application/rss+xml",
    "application/atom+xml",
    "text/calendar",
    "application/json",
)
DEFAULT_ACCEPT = frozenset((*_MARKUP, *_FEEDS_AND_DATA, "text/plain"))


def default_user_agent(contact_url: str, version: str = "0.1") -> str:
    """Names the bot and where a site owner can reach us, as crawler etiquette asks."""
    return f"{BOT_NAME}/{version} (+{contact_url}; UK research-funding alerts)"


def build_http_client(
    user_agent: str,
    transport: httpx.AsyncBaseTransport | None = None,
    *,
    timeout: httpx.Timeout | None = None,
) -> httpx.AsyncClient:
    """The one client the app shares (built in ``main()``); tests pass a ``transport``."""
    return httpx.AsyncClient(
        headers={"User-Agent": user_agent},
        timeout=timeout or httpx.Timeout(30.0, connect=10.0),
        limits=httpx.Limits(max_connections=50, max_keepalive_connections=20),
        follow_redirects=True,
        max_redirects=5,
        transport=transport,
    )


@dataclass(slots=True)
class _Retry:
    """A failure worth another attempt."""

    reason: str
    status: int | None = None
    retry_after: float | None = None


def _media_type(header: str | None) -> str | None:
    """``text/html`` from ``text/HTML; charset=utf-8``; None when the server sent none."""
    media = (header or "").split(";", 1)[0].strip().lower()
    return media or None


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _acceptable(media: str, accept: Collection[str]) -> bool:
    if media in accept:
        return True
    suffix = media.rpartition("+")[2]
    return suffix in ("xml", "json") and f"application/{suffix}" in accept


class Fetcher:
    """Fetches pages for sources; see the module docstring for the rules it applies.

    ``sleep`` is used for the waits between retries only, so tests can skip them; the
    politeness gap always waits in real time because it is a promise to the site.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        agent: str = BOT_NAME,
        per_host: int = 2,
        min_gap: float = 1.0,
        max_bytes: int = DEFAULT_MAX_BYTES,
        deadline: float = DEFAULT_DEADLINE,
        max_attempts: int = 3,
        backoff_base: float = 1.0,
        backoff_cap: float = 60.0,
        max_retry_after: float = 120.0,
        max_crawl_delay: float = 30.0,
        robots_ttl: float = 6 * 3600.0,
        robots_retry: float = 300.0,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.client = client
        self.max_bytes, self.max_attempts = max_bytes, max_attempts
        self.deadline = deadline
        self.backoff_base, self.backoff_cap = backoff_base, backoff_cap
        self.max_retry_after = max_retry_after
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._polite = Politeness(
            client,
            agent=agent,
            per_host=per_host,
            min_gap=min_gap,
            max_crawl_delay=max_crawl_delay,
            robots_ttl=robots_ttl,
            robots_retry=robots_retry,
            deadline=deadline,
        )

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: Collection[str] = DEFAULT_ACCEPT,
    ) -> FetchResult:
        """GET ``url``; never raises (except cancellation): failures are ``result.error``."""
        try:
            return await self._fetch(url, etag, last_modified, accept)
        except Exception as exc:  # the polling boundary takes values, never exceptions
            logger.exception("unexpected error fetching %s", url)
            message = f"unexpected {type(exc).__name__} fetching {url}: {exc}"
            return FetchResult(url=url, error=FetchError(message))

    async def _fetch(
        self, url: str, etag: str | None, last_modified: str | None, accept: Collection[str]
    ) -> FetchResult:
        try:
            parsed = httpx.URL(url)
        except httpx.InvalidURL as exc:
            return FetchResult(url=url, error=FetchError(f"invalid URL {url!r}: {exc}"))
        if parsed.scheme not in ("http", "https") or not parsed.host:
            return FetchResult(url=url, error=FetchError(f"not an http(s) URL: {url}"))
        headers = {"Accept": ", ".join(sorted(accept)) + ", */*;q=0.1"}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        attempt = 0
        while True:
            attempt += 1
            outcome = await self._follow(url, headers, accept)
            if isinstance(outcome, FetchResult):
                return outcome
            if outcome.retry_after is not None and outcome.retry_after > self.max_retry_after:
                reason = f"{outcome.reason}; Retry-After {outcome.retry_after:.0f} s is too long"
                return FetchResult(url=url, status=outcome.status, error=FetchError(reason))
            if attempt >= self.max_attempts:
                reason = f"{outcome.reason} (gave up after {attempt} attempts)"
                return FetchResult(url=url, status=outcome.status, error=FetchError(reason))
            wait = self._backoff(attempt, outcome.retry_after)
            logger.info("retrying %s in %.1f s: %s", url, wait, outcome.reason)
            await self._sleep(wait)

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        """Exponential, with "equal jitter" so that sources failing together spread out."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1))
        wait = self._rng.uniform(ceiling / 2, ceiling)
        return max(wait, retry_after or 0.0)

    async def _follow(
        self, url: str, headers: dict[str, str], accept: Collection[str]
    ) -> FetchResult | _Retry:
        """One attempt: the request and its redirect hops, each checked and paced."""
        request = self.client.build_request("GET", url, headers=headers)
        for _ in range(self.client.max_redirects + 1):
            denied = await self._polite.check(request.url, url)
            if denied is not None:
                return denied
            outcome = await self._send(request, url, accept)
            if not isinstance(outcome, httpx.Request):
                return outcome
            request = outcome
        limit = self.client.max_redirects
        return FetchResult(url=url, error=FetchError(f"too many redirects (>{limit}) from {url}"))

    async def _send(
        self, request: httpx.Request, url: str, accept: Collection[str]
    ) -> FetchResult | _Retry | httpx.Request:
        try:
            async with self._polite.slot(request.url), asyncio.timeout(self.deadline):
                response = await self.client.send(request, stream=True, follow_redirects=False)
                try:
                    return await self._read(response, url, accept)
                finally:
                    await response.aclose()
        except TimeoutError:  # our deadline, not httpx's (those are httpx.TimeoutException)
            message = f"deadline of {self.deadline:g} s passed fetching {request.url}"
            return FetchResult(url=url, error=FetchError(message))
        except httpx.TimeoutException:
            return _Retry(f"timed out fetching {request.url}")
        except (httpx.NetworkError, httpx.RemoteProtocolError, httpx.ProxyError) as exc:
            return _Retry(f"connection failed for {request.url}: {exc or type(exc).__name__}")
        except httpx.HTTPError as exc:
            return FetchResult(url=url, error=FetchError(f"HTTP error for {request.url}: {exc}"))

    async def _read(
        self, response: httpx.Response, url: str, accept: Collection[str]
    ) -> FetchResult | _Retry | httpx.Request:
        status, where = response.status_code, response.url
        if response.next_request is not None:
            return response.next_request
        if status == 304:  # a 304 need not repeat the validators: keep the ones we sent
            sent = response.request.headers
            return FetchResult(
                url=url,
                status=304,
                not_modified=True,
                etag=response.headers.get("etag") or sent.get("if-none-match"),
                last_modified=response.headers.get("last-modified")
                or sent.get("if-modified-since"),
            )
        if status == 429 or status >= 500:
            wait = _retry_after(response.headers.get("retry-after"))
            return _Retry(f"HTTP {status} from {where}", status, wait)
        if not 200 <= status < 300:
            return FetchResult(
                url=url, status=status, error=FetchError(f"HTTP {status} from {where}")
            )
        media = _media_type(response.headers.get("content-type"))
        if media and not _acceptable(media, accept):
            message = f"wrong content type {media} from {where}"
            return FetchResult(
                url=url, status=status, content_type=media, error=FetchError(message)
            )
        declared = response.headers.get("content-length", "")
        too_big = declared.isdigit() and int(declared) > self.max_bytes
        if not too_big:
            body, too_big = await read_body(response, self.max_bytes)
        if too_big:
            limit = f"{self.max_bytes / 1_048_576:g} MB"
            message = f"response from {where} is larger than the {limit} limit"
            return FetchResult(url=url, status=status, error=FetchError(message))
        return FetchResult(
            url=url,
            status=status,
            body=body,
            content_type=response.headers.get("content-type"),
            etag=response.headers.get("etag"),
            last_modified=response.headers.get("last-modified"),
        )
