"""Politeness to each origin for ``sources.http.Fetcher``: robots.txt and the pace of requests.

The two live together, apart from the fetcher's request, retry and response checks, because
they are one promise to a site and feed each other: robots.txt's Crawl-delay sets the gap
between requests, and robots.txt is itself fetched through that gap.

- **robots.txt**, fetched once per origin and cached for ``robots_ttl``. A 4xx robots.txt means
  "no rules": allow all (RFC 9309 §2.3.1.3). A 5xx, 429 or unreachable robots.txt is a
  *temporary failure*: RFC 9309 says to assume complete disallow, so we do not fetch, but we
  report a ``FetchError`` (retried with backoff) rather than ``RobotsDisallowed`` (a decision
  of the site); a previously fetched copy is kept in use while the file is unavailable.
- **Pace per origin**: at most ``per_host`` requests in flight and at least ``min_gap`` seconds
  (or the site's Crawl-delay, if longer) between request starts; other origins go in parallel.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from dataclasses import dataclass
from time import monotonic

import httpx
from protego import Protego

from sources.base import FetchError, FetchResult, RobotsDisallowed

__all__ = ["Politeness", "read_body"]

logger = logging.getLogger(__name__)

ROBOTS_MAX_BYTES = 512 * 1024  # RFC 9309 asks crawlers to parse at least 500 KiB


@dataclass(slots=True)
class _Robots:
    parser: Protego | None  # None: no rules, everything allowed
    expires: float


class _Origin:
    """Per-origin politeness state: the concurrency slots, the start gate, robots.txt."""

    def __init__(self, per_host: int) -> None:
        self.slots = asyncio.Semaphore(per_host)
        self.gate = asyncio.Lock()
        self.next_start = 0.0
        self.crawl_delay = 0.0
        self.robots: _Robots | None = None
        self.robots_error: tuple[FetchError, float] | None = None
        self.robots_lock = asyncio.Lock()


async def read_body(response: httpx.Response, limit: int) -> tuple[bytes, bool]:
    """At most ``limit`` bytes of the body, and whether there was more. Stops reading (and
    so stops holding memory) as soon as the limit is passed. It lives here, not in
    ``sources.http``, because robots.txt is read with it too and ``sources.http`` imports us."""
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > limit:
            return bytes(body[:limit]), True
    return bytes(body), False


class Politeness:
    """One fetcher's politeness to every origin it visits; see the module docstring."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        agent: str,
        per_host: int,
        min_gap: float,
        max_crawl_delay: float,
        robots_ttl: float,
        robots_retry: float,
        deadline: float = 60.0,
    ) -> None:
        self.client = client
        self.agent = agent
        self.per_host, self.min_gap = per_host, min_gap
        self.max_crawl_delay = max_crawl_delay
        self.robots_ttl, self.robots_retry = robots_ttl, robots_retry
        self.deadline = deadline  # a trickling robots.txt must not hold the slot for ever
        self._origins: dict[str, _Origin] = {}

    def _origin(self, url: httpx.URL) -> _Origin:
        key = f"{url.scheme}://{url.netloc.decode('ascii')}"
        if key not in self._origins:
            self._origins[key] = _Origin(self.per_host)
        return self._origins[key]

    @asynccontextmanager
    async def slot(self, url: httpx.URL):
        """Holds one of the origin's slots, started no sooner than the gap allows."""
        origin = self._origin(url)
        async with origin.slots:
            async with origin.gate:
                wait = origin.next_start - monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                origin.next_start = monotonic() + max(self.min_gap, origin.crawl_delay)
            yield

    async def check(self, target: httpx.URL, url: str) -> FetchResult | None:
        """None when robots.txt lets us fetch ``target``; else the result to report for ``url``."""
        if target.path == "/robots.txt":
            return None
        robots = await self._robots(target)
        if isinstance(robots, FetchError):
            return FetchResult(url=url, error=robots)
        if robots.parser is None or robots.parser.can_fetch(str(target), self.agent):
            return None
        error = RobotsDisallowed(f"robots.txt disallows {target} for {self.agent}")
        return FetchResult(url=url, error=error)

    async def _robots(self, target: httpx.URL) -> _Robots | FetchError:
        """The origin's rules, fetched at most once per TTL even under concurrent fetches."""
        origin = self._origin(target)
        async with origin.robots_lock:
            now = monotonic()
            if origin.robots is not None and origin.robots.expires > now:
                return origin.robots
            if origin.robots_error is not None and origin.robots_error[1] > now:
                return origin.robots_error[0]
            fetched = await self._fetch_robots(target.copy_with(path="/robots.txt", query=None))
            if isinstance(fetched, _Robots):
                origin.robots, origin.robots_error = fetched, None
                delay = fetched.parser.crawl_delay(self.agent) if fetched.parser else None
                origin.crawl_delay = min(float(delay or 0.0), self.max_crawl_delay)
                origin.next_start = max(origin.next_start, monotonic() + origin.crawl_delay)
                return fetched
            if origin.robots is not None:  # keep obeying the last copy we had
                logger.warning("%s; using the copy fetched earlier", fetched)
                origin.robots.expires = now + self.robots_retry
                return origin.robots
            origin.robots_error = (fetched, now + self.robots_retry)
            return fetched

    async def _fetch_robots(self, url: httpx.URL) -> _Robots | FetchError:
        where = f"robots.txt at {url}"
        try:
            async with self.slot(url), asyncio.timeout(self.deadline):
                response = await self.client.send(
                    self.client.build_request("GET", url), stream=True, follow_redirects=True
                )
                try:
                    status, body = response.status_code, b""
                    if 200 <= status < 300:  # past the limit, parse what fits (RFC 9309)
                        body, _ = await read_body(response, ROBOTS_MAX_BYTES)
                finally:
                    await response.aclose()
        except TimeoutError:
            return FetchError(f"{where}: deadline of {self.deadline:g} s passed; not fetching")
        except httpx.TooManyRedirects:
            return _Robots(None, monotonic() + self.robots_ttl)  # RFC 9309: "unavailable"
        except httpx.HTTPError as exc:
            return FetchError(f"{where} is unreachable ({exc or type(exc).__name__}); not fetching")
        expires = monotonic() + self.robots_ttl
        if 200 <= status < 300:
            text = body.decode("utf-8", errors="replace")
            return _Robots(Protego.parse(text), expires)
        if status == 429 or status >= 500:
            return FetchError(f"{where} answered HTTP {status}; not fetching until it recovers")
        return _Robots(None, expires)
