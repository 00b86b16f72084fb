"""``signpost sources discover URL``: which machine-readable listings does one page offer?

A charity that wants its local partners' events and news should not have to read code or
guess URLs. Discovery fetches the page once, politely (through the ``Fetcher``: robots.txt,
one origin at a pace), collects the listings the page announces or that its platform
conventionally serves, tries each **once**, and counts the items with the parser that would
read it in production. What parses comes with a ready catalogue entry.

What is looked for, and why each:

* ``<link rel="alternate">`` RSS/Atom: how a site announces its feed (every CMS does it).
* ``/feed/``: WordPress serves its posts feed there even when a theme drops the link.
* ``/events/?ical=1``: The Events Calendar (WordPress)'s calendar export.
* ``/events.ics``: the Events Manager plugin's calendar (no ``?ical=1`` there, SOURCES.md §5).
* ``webcal:`` links and links to ``.ics`` files or ``?ical=1``: calendars offered to people.
* JSON-LD ``Event`` objects in the page itself (Eventbrite organiser pages and many others).
  Counted, but no source type reads them yet, so no entry is offered for them.

Nothing here is worked around: a robots.txt refusal or a challenge page is reported as such.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urljoin, urlsplit

from bs4 import BeautifulSoup, Tag

from sources.base import SourceConfig, SourceError
from sources.registry import build_source

_FEED_TYPES = {"application/rss+xml", "application/atom+xml", "application/feed+xml"}
_KIND_OF_TYPE = {"rss": "news", "ical": "event"}
# A page of events may carry an "export" link per event; one discovery asks at most this many.
MAX_TRIES = 12


@dataclass(frozen=True, slots=True)
class Candidate:
    """A listing worth one try: where it is, what type would read it, and how we found it."""

    url: str
    type: str  # a source type ("rss", "ical"), or "jsonld" for events inside the page
    how: str


@dataclass(slots=True)
class Finding:
    """One candidate after its try: how many items it gave, or why it gave none."""

    candidate: Candidate
    items: int = 0
    error: str = ""
    title: str = ""

    @property
    def usable(self) -> bool:
        return self.items > 0 and self.candidate.type in _KIND_OF_TYPE

    def to_json(self) -> dict:
        return {
            "url": self.candidate.url,
            "type": self.candidate.type,
            "how": self.candidate.how,
            "items": self.items,
            "error": self.error,
        }


@dataclass(slots=True)
class Discovery:
    """What one page offers; ``error`` is set when the page itself could not be read."""

    url: str
    findings: list[Finding] = field(default_factory=list)
    error: str = ""
    title: str = ""

    def usable(self) -> list[Finding]:
        return [f for f in self.findings if f.usable]

    def to_json(self, checked_on: date) -> dict:
        return {
            "url": self.url,
            "error": self.error,
            "found": [
                f.to_json() | {"entry": entry_toml(self, f, checked_on) if f.usable else None}
                for f in self.findings
            ],
        }


# ---------------------------------------------------------------- the page: pure parsing


def _jsonld_events(node: object) -> int:
    """Schema.org Events anywhere in a JSON-LD value (ItemList, @graph, nested items)."""
    if isinstance(node, list):
        return sum(_jsonld_events(n) for n in node)
    if not isinstance(node, dict):
        return 0
    kinds = node.get("@type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    own = any(isinstance(k, str) and k.endswith("Event") for k in kinds)
    return int(own) + sum(_jsonld_events(v) for k, v in node.items() if k != "@context")


def count_jsonld_events(soup: BeautifulSoup) -> int:
    total = 0
    for script in soup.find_all("script", type="application/ld+json"):
        try:
            total += _jsonld_events(json.loads(script.get_text() or "null"))
        except ValueError:
            continue  # one broken block does not hide the others
    return total


def _calendar_link(href: str) -> str | None:
    """The https URL of a calendar link, or None when ``href`` is not one."""
    if href.lower().startswith("webcal://"):
        return "https://" + href[len("webcal://") :]
    path = urlsplit(href).path.lower()
    if path.endswith(".ics") or re.search(r"[?&]ical=1(&|$)", href):
        return href
    return None


def candidates(body: bytes, page_url: str) -> list[Candidate]:
    """Every listing the page announces or its platform conventionally serves, once each,
    in the order they will be tried (announced first: they are the site's own word)."""
    soup = BeautifulSoup(body, "lxml")
    found: list[Candidate] = []
    for link in soup.find_all("link", href=True):
        rel = " ".join(link.get("rel") or []).lower()
        kind = str(link.get("type") or "").split(";")[0].strip().lower()
        if "alternate" in rel and kind in _FEED_TYPES:
            found.append(Candidate(urljoin(page_url, link["href"]), "rss", "link rel=alternate"))
        elif "alternate" in rel and kind == "text/calendar":
            found.append(Candidate(urljoin(page_url, link["href"]), "ical", "link rel=alternate"))
    for anchor in soup.find_all("a", href=True):
        href = str(anchor["href"]).strip()
        calendar = _calendar_link(href)
        if calendar is not None:
            how = "webcal link" if href.lower().startswith("webcal:") else "calendar link"
            found.append(Candidate(urljoin(page_url, calendar), "ical", how))
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(page_url))
    found += [
        Candidate(origin + "/feed/", "rss", "WordPress /feed/"),
        Candidate(origin + "/events/?ical=1", "ical", "The Events Calendar ?ical=1"),
        Candidate(origin + "/events.ics", "ical", "Events Manager /events.ics"),
    ]
    if count_jsonld_events(soup):
        found.append(Candidate(page_url, "jsonld", "JSON-LD Events in the page"))
    return _unique(found)


def _unique(found: Iterable[Candidate]) -> list[Candidate]:
    seen: set[str] = set()
    unique = []
    for candidate in found:
        key = candidate.url.rstrip("/") + "|" + candidate.type
        if key not in seen:
            seen.add(key)
            unique.append(candidate)
    return unique


def page_title(body: bytes) -> str:
    soup = BeautifulSoup(body, "lxml")
    title = soup.title.get_text(" ", strip=True) if isinstance(soup.title, Tag) else ""
    return re.sub(r"\s+", " ", title)[:120]


# ---------------------------------------------------------------- trying each, once


def _count(candidate: Candidate, body: bytes, url: str) -> tuple[int, str]:
    """Items the production parser reads from ``body``; (0, why) when it reads none."""
    config = SourceConfig(name="discovered", type=candidate.type, url=url)
    try:
        return len(build_source(config).parse(body, url).items), ""
    except SourceError as exc:
        return 0, str(exc)


async def discover(url: str, fetcher) -> Discovery:
    """Fetch ``url`` and try each listing it offers once; never raises for a bad site."""
    discovery = Discovery(url=url)
    page = await fetcher.fetch(url)
    if page.error is not None:
        discovery.error = str(page.error)
        return discovery
    discovery.url = page.url
    media = (page.content_type or "").split(";")[0].strip().lower()
    if media in _FEED_TYPES or media in ("text/calendar", "application/xml", "text/xml"):
        # the URL is itself a feed or a calendar: say so rather than read it as a home page
        kind = "ical" if media == "text/calendar" else "rss"
        finding = Finding(Candidate(page.url, kind, "the page itself"))
        finding.items, finding.error = _count(finding.candidate, page.body, page.url)
        discovery.findings.append(finding)
        return discovery
    discovery.title = page_title(page.body)
    for n, candidate in enumerate(candidates(page.body, page.url)):
        finding = Finding(candidate)
        if candidate.type == "jsonld":
            finding.items = count_jsonld_events(BeautifulSoup(page.body, "lxml"))
            finding.error = "no source type reads JSON-LD events yet: no entry offered"
        elif n >= MAX_TRIES:
            finding.error = f"not tried: at most {MAX_TRIES} listings are asked for per page"
        else:
            result = await fetcher.fetch(candidate.url)
            if result.error is not None:
                finding.error = str(result.error)
            else:
                finding.items, finding.error = _count(candidate, result.body, result.url)
        discovery.findings.append(finding)
    return discovery


# ---------------------------------------------------------------- a ready catalogue entry


def entry_name(discovery: Discovery, finding: Finding) -> str:
    """``<host words>-feed`` or ``<host words>-events``: a valid, readable catalogue name."""
    host = urlsplit(discovery.url).hostname or "site"
    host = re.sub(r"^www\.", "", host)
    base = re.sub(r"[^a-z0-9]+", "-", host.lower()).strip("-") or "site"
    suffix = "events" if finding.candidate.type == "ical" else "feed"
    return f"{base}-{suffix}"


def _toml_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string


def entry_toml(discovery: Discovery, finding: Finding, checked_on: date, name: str = "") -> str:
    """A ``[sources.<name>]`` table ready to paste into (or ``--add`` to) a sources file."""
    name = name or entry_name(discovery, finding)
    kind = _KIND_OF_TYPE[finding.candidate.type]
    title = discovery.title or urlsplit(discovery.url).hostname or name
    seen = f"discover saw {finding.items} items here on {checked_on.isoformat()}"
    lines = [
        f"[sources.{name}]",
        f"type = {_toml_string(finding.candidate.type)}",
        f"url = {_toml_string(finding.candidate.url)}",
        f"title = {_toml_string(title + (': events' if kind == 'event' else ': news'))}",
        f"kind = {_toml_string(kind)}",
        "verified = true",
        'evidence = "confirmed"',
        f"evidence_note = {_toml_string(seen + ' (' + finding.candidate.how + ').')}",
        f"notes = {_toml_string('Found by signpost sources discover ' + discovery.url)}",
    ]
    return "\n".join(lines) + "\n"
