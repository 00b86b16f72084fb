"""What a source is: configuration, a pure ``parse``, and the results that cross the
polling boundary as values rather than exceptions.

Error tree (``SourceError`` is what a poll records on its source)::

    SourceError
    ├── FetchError        the network or the server failed (timeouts, 5xx, refused, too big)
    │   └── RobotsDisallowed  robots.txt forbids the URL: we do not ask
    └── ParseError        the page came back but is not what the parser knows
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from bot.clock import Clock, SystemClock
from bot.core.model import Opportunity


class SourceError(Exception):
    """A source could not deliver this time; recorded on the source, never fatal."""


class FetchError(SourceError):
    """HTTP went wrong: status, timeout, connection, size, redirects, content type."""


class RobotsDisallowed(FetchError):
    """The site's robots.txt does not allow us to fetch this URL."""


class ParseError(SourceError):
    """The page is not shaped as this parser expects (markup changed, truncated, wrong type)."""


@dataclass(slots=True)
class SourceConfig:
    """One entry of the sources file."""

    name: str
    type: str
    url: str
    title: str = ""
    kind: str = "call"
    topics: list[str] = field(default_factory=list)
    funders: list[str] = field(default_factory=list)
    interval_minutes: int = 360
    max_pages: int = 5
    # A hostile or broken site must not hold a poll (and the admin waiting on it) for ever,
    # nor flood the database: the poll's fetching and parsing end by this deadline, and the
    # items past these caps are left out (counted in the log).
    poll_deadline_seconds: int = 300
    max_items_per_page: int = 2000
    max_items: int = 5000
    verified: bool = True
    enabled: bool = True
    view_of: str | None = None
    notes: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    # How we know the entry works (confirmed | inferred | guess) and why, who it is for, and
    # why it must stay off (a captcha, a 403 wall, a page built by script): see the catalogue.
    evidence: str = "guess"
    evidence_note: str = ""
    audiences: list[str] = field(default_factory=list)
    blocked: str = ""


@dataclass(slots=True)
class ParseResult:
    """What one page gave: items, further listing pages, and pages to enrich items from."""

    items: list[Opportunity] = field(default_factory=list)
    next_urls: list[str] = field(default_factory=list)


@dataclass(slots=True)
class FetchResult:
    """One HTTP fetch as a value: a body, "not modified", or an error to record."""

    url: str
    status: int | None = None
    body: bytes = b""
    content_type: str | None = None
    not_modified: bool = False
    error: SourceError | None = None
    etag: str | None = None
    last_modified: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class Source:
    """Base for every source type. Subclasses implement ``parse`` (pure: bytes in, items
    out) and optionally ``needs_detail``/``parse_detail`` to enrich an item from its page.

    ``fetch`` and pagination live in ``sources.http``, ``sources.harvest`` and
    ``sources.poller`` so that politeness, conditional GET and error recording are written once.
    """

    type_name: ClassVar[str] = ""
    default_interval_minutes: ClassVar[int] = 360

    def __init__(self, config: SourceConfig) -> None:
        self.config = config

    @property
    def name(self) -> str:
        return self.config.name

    def start_urls(self) -> list[str]:
        """Where a poll begins: the configured URL, or ``options["start_urls"]`` (offline
        mode points a source at its saved pages this way)."""
        return list(self.config.options.get("start_urls") or [self.config.url])

    def parse(self, body: bytes, url: str) -> ParseResult:  # pragma: no cover - abstract
        raise NotImplementedError

    def needs_detail(self, item: Opportunity) -> bool:
        """True when ``item`` lacks what only its own page gives (dates, eligibility)."""
        return False

    def parse_detail(self, body: bytes, url: str, item: Opportunity) -> Opportunity:
        """Enrich ``item`` from its detail page; the default keeps it as it is."""
        return item

    def detail_items(self, body: bytes, url: str, item: Opportunity) -> list[Opportunity]:
        """The enriched item first, then anything else its page announces (briefing
        webinars and networking events linked to the call). The poller calls this."""
        return [self.parse_detail(body, url, item)]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config.name!r})"


class ClockedSource(Source):
    """A source whose parse reads "now" (past events dropped, repeats expanded from today):
    the poller's real clock, or a frozen one in tests and offline mode."""

    def __init__(self, config: SourceConfig, clock: Clock | None = None) -> None:
        super().__init__(config)
        self.clock: Clock = clock or SystemClock()
