"""RSS 2.0 and Atom feeds, configured from the sources file without code.

Charities and funders announce calls, studentships and events in ordinary WordPress feeds
whose items are prose: the closing date and the money live in the text ("Closing date: 5pm on
14th June 2024", "grants of up to £10,000"). This module reads those feeds with feedparser,
turns their HTML into text with BeautifulSoup, and picks the dates and sums out of the *text*
(never out of markup) with the helpers of ``sources.normalise``.

The text helpers (``html_to_text``, ``find_closing_date``, ``find_opening_date``,
``find_amounts``, ``amounts_from_range``) are public: the iCalendar and HTML listing sources
use some of them, and they are generic enough to move to ``sources.normalise``.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import warnings
from calendar import timegm
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any, ClassVar
from urllib.parse import urljoin

import feedparser
from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning

from bot.core.model import Opportunity
from sources.base import ParseError, ParseResult, Source
from sources.normalise import (
    ParsedDate,
    clean_text,
    infer_kind,
    parse_money,
    parse_uk_date,
    trim_text,
)
from sources.scrub import scrub_markup

log = logging.getLogger(__name__)

# A guid longer than this is hashed: some feeds use whole tracking URLs as ids.
MAX_ID_LENGTH = 120
SUMMARY_CHARS = 600
# A deadline with no time of day is taken as the end of that day, so that a call is not
# reported closed on the morning of its last day.
END_OF_DAY = time(23, 59)

_CLOSING = re.compile(
    r"\b(?:closing\s+date|deadline|closes|apply\s+by|submit(?:ted)?\s+by|"
    r"applications?\s+(?:must\s+be\s+(?:received|submitted)\s+)?by|applications?\s+close|"
    r"will\s+(?:be\s+)?close[d]?\s+(?:at|on)|"
    r"closing(?=\s+(?:on\s+)?(?:mon|tue|wed|thu|fri|sat|sun|\d)))"
    r"(?:\s+(?:is|on|at|for\s+applications|date))*\s*[:\-–]?",
    re.IGNORECASE,
)
_OPENING = re.compile(
    r"\b(?:opening\s+date|open\s+date|opens|open\s+for\s+applications\s+from|"
    r"applications?\s+open)(?:\s+(?:is|on|at|from))*\s*[:\-–]?",
    re.IGNORECASE,
)
# A date window ends with its sentence: ". " before a capital letter.
_SENTENCE_END = re.compile(r"\.\s+(?=[A-Z])|\n")
# Sums are read clause by clause, so that "(£9-10m budget for ten awards)" is not mixed up
# with the award in the same sentence.
_CLAUSES = re.compile(r"(?<=[.!?])\s+(?=[A-Z£*])|[;()\n]")
_TOTAL_WORDS = re.compile(
    r"\b(total|in\s+total|overall|pot|budget|fund\s+of|programme\s+of|available\s+across)\b",
    re.IGNORECASE,
)
# A sum in a clause without these words is history or context ("UKPRP invested £25 million
# in its first round"), not what an applicant can get.
_AWARD_WORDS = re.compile(
    r"\b(up\s+to|grants?\s+of|awards?\s+of|apply\s+for|request|amount|funding\s+of|worth|"
    r"stipend|between|maximum|minimum|per\s+(?:project|award|year|organisation|team)|each|"
    r"bursar(?:y|ies)|salary|offering)\b",
    re.IGNORECASE,
)
_STOPS = (_SENTENCE_END, _CLOSING, _OPENING)
_SPACE_BEFORE_PUNCTUATION = re.compile(r"\s+([.,;:!?])(?=\s|$)")
_WINDOW = 120


def html_to_text(markup: str | None) -> str:
    """Visible text of an HTML fragment, whitespace collapsed; plain text passes through."""
    if not markup:
        return ""
    if "<" not in markup:
        return clean_text(markup)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)
        soup = BeautifulSoup(markup, "lxml")
    for hidden in soup(["script", "style", "noscript"]):
        hidden.decompose()
    # Tags are joined with spaces so that blocks do not run together; that also puts a
    # space before punctuation that followed an inline tag ("<a>more</a>."), taken out here.
    return _SPACE_BEFORE_PUNCTUATION.sub(r"\1", clean_text(soup.get_text(" ")))


def _date_after(pattern: re.Pattern[str], text: str, *, end: bool) -> datetime | None:
    """The date in the sentence after a match; ``end`` reads a bare day or month as its last
    minute (a deadline), otherwise as its first (an opening)."""
    dates: list[ParsedDate] = []
    for match in pattern.finditer(text):
        window = text[match.end() : match.end() + _WINDOW]
        # The window stops at its sentence's end or at the next label ("Open date: 3 Sept
        # • Closing date: 14 Nov 16:00" must not lend 16:00 to the opening).
        stops = [hit.start() for label in _STOPS if (hit := label.search(window))]
        if stops:
            window = window[: min(stops)]
        default_time = END_OF_DAY if end else time(0, 0)
        parsed = parse_uk_date(window, default_time=default_time, month_end=end)
        if parsed is not None:
            dates.append(parsed)
    if not dates:
        return None
    # "Closing Wednesday 8 May 2024 … Deadline for submission: 12:00 Wednesday 8 May 2024":
    # the same day said twice, once with its hour; the hour is the one that matters.
    for candidate in dates:
        if candidate.precision == "minute" and candidate.value.date() == dates[0].value.date():
            return candidate.value
    return dates[0].value


def find_closing_date(text: str) -> datetime | None:
    """The date that follows "closing date", "deadline", "apply by"… in prose, UK time."""
    return _date_after(_CLOSING, text, end=True)


def find_opening_date(text: str) -> datetime | None:
    """The date that follows "opens", "opening date"… in prose, UK time."""
    return _date_after(_OPENING, text, end=False)


@dataclass(frozen=True, slots=True)
class Amounts:
    """Sums read from prose, in pence."""

    total_fund: int | None = None
    award_min: int | None = None
    award_max: int | None = None


def amounts_from_range(text: str) -> Amounts:
    """An award range from a short text such as "£25,000 - £50,000" or "up to £10,000".

    A single figure without "up to" is recorded as the maximum: what a user's minimum amount
    is compared with.
    """
    money = parse_money(text)
    if money is None:
        return Amounts()
    if money.low is not None and money.low == money.high:
        return Amounts(award_max=money.high)
    return Amounts(award_min=money.low, award_max=money.high)


def find_amounts(text: str) -> Amounts:
    """The first total fund and the first award range mentioned in prose.

    A clause that speaks of a total, a pot or a budget gives the total fund; the first clause
    with an award word ("up to", "grants of", "stipend"…) gives the award range. A "total"
    smaller than the award was a misreading ("£9-10m budget" reads as £9) and is dropped.
    """
    total = None
    award = Amounts()
    for clause in _CLAUSES.split(text):
        if "£" not in clause:
            continue
        if _TOTAL_WORDS.search(clause):
            money = parse_money(clause)
            if total is None and money is not None:
                total = money.high if money.high is not None else money.low
        elif award == Amounts() and _AWARD_WORDS.search(clause):
            award = amounts_from_range(clause)
    if total is not None and award.award_max is not None and total < award.award_max:
        total = None
    return Amounts(total, award.award_min, award.award_max)


def stable_id(raw: str) -> str:
    """A feed's own id when short enough to index, else a hash of it (stable across polls)."""
    raw = raw.strip()
    if len(raw) <= MAX_ID_LENGTH:
        return raw
    return "sha256:" + hashlib.sha256(raw.encode()).hexdigest()[:32]


def _entry_time(entry: Any, *keys: str) -> datetime | None:
    for key in keys:
        parsed = entry.get(key)
        if parsed:
            # feedparser normalises every date it reads to a UTC struct_time.
            return datetime.fromtimestamp(timegm(parsed), tz=UTC)
    return None


class RssSource(Source):
    """An RSS 2.0 or Atom feed: one item per entry, oldest first.

    Options (``config.options``): none are required. ``summary_chars`` caps the summary.
    """

    type_name: ClassVar[str] = "rss"
    default_interval_minutes: ClassVar[int] = 180

    def parse(self, body: bytes, url: str) -> ParseResult:
        """Entries to opportunities; a page that is not a feed is a ``ParseError``."""
        # A BytesIO, never the bytes themselves: feedparser would take a string for a URL
        # or a file name and go and read it. "application/xml" without a charset lets the
        # XML declaration decide the encoding, and stops feedparser flagging every feed
        # for a missing header.
        headers = {"content-location": url, "content-type": "application/xml"}
        feed = feedparser.parse(
            io.BytesIO(scrub_markup(body)), response_headers=headers, sanitize_html=False
        )
        if not feed.entries:
            if feed.bozo or not feed.version:
                reason = feed.get("bozo_exception") or "no RSS or Atom root element"
                raise ParseError(f"not an RSS or Atom feed ({reason}): HTML page or broken XML?")
            return ParseResult()
        if feed.bozo:
            log.info("feed %s is not well formed, read anyway: %s", url, feed.bozo_exception)
        items = [item for entry in feed.entries if (item := self._item(entry, url))]
        if feed.bozo and not items:
            raise ParseError(f"broken feed, no usable entries: {feed.get('bozo_exception')}")
        # Feeds list newest first; alerts read best oldest first.
        items.reverse()
        items.sort(key=lambda item: item.published_at or datetime.min.replace(tzinfo=UTC))
        return ParseResult(items=items)

    def _item(self, entry: Any, url: str) -> Opportunity | None:
        title = html_to_text(entry.get("title"))
        link = urljoin(url, (entry.get("link") or "").strip())
        if not title or not entry.get("link"):
            log.info("feed %s: entry without title or link skipped", url)
            return None
        summary_text = html_to_text(entry.get("summary"))
        content_text = " ".join(
            html_to_text(part.get("value")) for part in entry.get("content", [])
        )
        full_text = f"{title}. {summary_text} {content_text}".strip()
        amounts = find_amounts(full_text)
        closes_at = find_closing_date(full_text)
        kind = infer_kind(title, summary_text or content_text, self.config.kind)
        if kind == "news" and (closes_at or amounts.award_max or amounts.total_fund):
            # Charities announce their grants in news posts: one with a deadline or a sum
            # of money to apply for is a call, or call subscribers would never see it.
            kind = "call"
        limit = int(self.config.options.get("summary_chars", SUMMARY_CHARS))
        return Opportunity(
            source=self.config.name,
            external_id=stable_id(entry.get("id") or link),
            url=link,
            title=title,
            kind=kind,
            funders=list(self.config.funders),
            opens_at=find_opening_date(full_text),
            closes_at=closes_at,
            published_at=_entry_time(entry, "published_parsed", "updated_parsed"),
            total_fund_pence=amounts.total_fund,
            award_min_pence=amounts.award_min,
            award_max_pence=amounts.award_max,
            summary=trim_text(summary_text or content_text, limit),
            topics=list(self.config.topics),
            extra={"categories": [tag.get("term") for tag in entry.get("tags", [])]},
        )
