"""Checking glossary links on the live web: ``signpost glossary check``.

A glossary link is only useful while it still opens the page that defines the term, and the
funders' sites are reorganised often (NIHR moved every page in 2024). This fetches each distinct
link once through the sources' :class:`~sources.http.Fetcher`, so the check keeps the same
manners as polling: robots.txt, a gap between requests to one site, bounded retries, a size cap.

Each link gets one verdict:

- ``ok``: it answered 2xx, itself or after a redirect that kept the page (only the scheme,
  ``www.`` or a trailing slash changed);
- ``moved``: a redirect led to another page, so the entry should link there (or elsewhere);
- ``dead``: 4xx or 5xx (after retries), or no connection at all (DNS, refused, timeout);
- ``not checked``: the site's robots.txt asks bots not to fetch it, so nothing is known.

The Fetcher follows redirects itself and reports only the first URL, so the hops are watched
with an httpx response hook on the shared client.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from bot.core.glossary_data import GlossaryEntry
from sources.base import RobotsDisallowed
from sources.http import DEFAULT_ACCEPT, Fetcher

__all__ = ["LinkReport", "RedirectLog", "check_links"]

State = Literal["ok", "moved", "dead", "not checked"]
# A link check reads a page only to see that it is there: any media type will do.
_ANY_PAGE = DEFAULT_ACCEPT | {"application/pdf", "application/octet-stream"}
_MAX_HOPS = 10


@dataclass(frozen=True, slots=True)
class LinkReport:
    """What happened to one link, and which entries use it."""

    url: str
    slugs: tuple[str, ...]
    state: State
    status: int | None = None
    final_url: str | None = None  # where redirects led, when they led somewhere
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "slugs": list(self.slugs),
            "state": self.state,
            "status": self.status,
            "final_url": self.final_url,
            "detail": self.detail,
        }


class RedirectLog:
    """Records every redirect the client sees (from URL -> Location), as a response hook."""

    def __init__(self) -> None:
        self.hops: dict[str, str] = {}

    def attach(self, client: httpx.AsyncClient) -> None:
        hooks = dict(client.event_hooks)
        hooks["response"] = [*hooks.get("response", []), self._record]
        client.event_hooks = hooks

    async def _record(self, response: httpx.Response) -> None:
        if response.has_redirect_location:
            target = response.request.url.join(response.headers["location"])
            self.hops[str(response.request.url)] = str(target)

    def final(self, url: str) -> str | None:
        """Where a chain of redirects from ``url`` ended, or None if it was not redirected."""
        where, seen = str(httpx.URL(url)), set()
        while where in self.hops and where not in seen and len(seen) < _MAX_HOPS:
            seen.add(where)
            where = self.hops[where]
        return where if seen else None


def same_page(first: str, second: str) -> bool:
    """True when two URLs differ only in scheme, a leading ``www.`` or a trailing slash."""
    a, b = httpx.URL(first), httpx.URL(second)
    host = [u.host.removeprefix("www.") for u in (a, b)]
    path = [u.path.rstrip("/") for u in (a, b)]
    return host[0] == host[1] and path[0] == path[1] and a.query == b.query


async def check_links(
    entries: Iterable[GlossaryEntry], fetcher: Fetcher, redirects: RedirectLog
) -> list[LinkReport]:
    """One report per distinct link, in the order the links first appear; ``redirects`` must
    be attached to the fetcher's client before the call."""
    users: dict[str, list[str]] = {}
    for entry in entries:
        if entry.url:
            users.setdefault(entry.url, []).append(entry.slug)

    async def one(url: str) -> LinkReport:
        result = await fetcher.fetch(url, accept=_ANY_PAGE)
        slugs = tuple(users[url])
        final = redirects.final(url)
        moved = final is not None and not same_page(url, final)
        if isinstance(result.error, RobotsDisallowed):
            return LinkReport(url, slugs, "not checked", detail=str(result.error))
        status = result.status
        if status is not None and 200 <= status < 300:  # a body too big or a PDF is still there
            state: State = "moved" if moved else "ok"
            return LinkReport(url, slugs, state, status, final if moved else None)
        detail = str(result.error) if result.error else f"HTTP {status}"
        return LinkReport(url, slugs, "dead", status, final if moved else None, detail)

    return list(await asyncio.gather(*(one(url) for url in users)))
