"""A listing page read through CSS selectors given in the sources file: no code per site.

Small funders and charities list their open calls on a plain page of cards. A deployer can
follow one by writing the selectors into ``options``::

    [sources.example.options]
    item = "div.card"              # one element per opportunity            (required)
    title = "h3"                   # inside an item                         (required)
    link = "h3 a"                  # inside an item, an <a href>            (required)
    summary = "p.excerpt"          # optional
    date = ".deadline"             # optional: the closing date, as text or <time datetime>
    amount = ".amount"             # optional: "£5,000", "up to £10,000", "£1k - £5k"
    next = "a.next"                # optional: the next page of the listing

Relative links are resolved against the page (or its ``<base href>``). When the item selector
matches nothing the page has changed under us, and that is a ``ParseError`` rather than an
empty result, so that the source's health check tells an admin.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import ClassVar
from urllib.parse import urljoin

import soupsieve
from bs4 import BeautifulSoup, Tag

from bot.core.model import Opportunity
from bot.core.tagging_cues import CUES
from bot.core.textmatch import phrase_in
from sources.base import ParseError, ParseResult, Source, SourceConfig
from sources.normalise import (
    canonical_url,
    clean_text,
    infer_kind,
    parse_iso_datetime,
    parse_uk_datetime,
    trim_text,
)
from sources.rss import END_OF_DAY, SUMMARY_CHARS, amounts_from_range

log = logging.getLogger(__name__)

REQUIRED_SELECTORS = ("item", "title", "link")
OPTIONAL_SELECTORS = ("summary", "date", "amount", "next")


class SelectorConfigError(ValueError):
    """The sources file gives an html source missing or broken selectors."""


def check_selectors(config: SourceConfig) -> dict[str, str]:
    """The selectors of ``config.options``, each checked to compile; errors name the source."""
    options = config.options
    missing = [key for key in REQUIRED_SELECTORS if not str(options.get(key) or "").strip()]
    if missing:
        raise SelectorConfigError(
            f"source {config.name!r} (type html): options lack required selector(s) "
            f"{', '.join(missing)}; required: {', '.join(REQUIRED_SELECTORS)}"
        )
    selectors = {
        key: str(options[key]).strip()
        for key in REQUIRED_SELECTORS + OPTIONAL_SELECTORS
        if str(options.get(key) or "").strip()
    }
    for key, selector in selectors.items():
        try:
            soupsieve.compile(selector)
        except soupsieve.SelectorSyntaxError as error:
            first_line = str(error).splitlines()[0]
            raise SelectorConfigError(
                f"source {config.name!r} (type html): option {key!r} is not a valid CSS "
                f"selector ({selector!r}): {first_line}"
            ) from error
    return selectors


def _href(element: Tag | None) -> str | None:
    """The link of an element: its own href, else the first descendant ``a[href]``."""
    if element is None:
        return None
    if element.get("href"):
        return str(element["href"]).strip()
    anchor = element.find("a", href=True)
    return str(anchor["href"]).strip() if isinstance(anchor, Tag) else None


def _says_no_deadline(element: Tag | None) -> bool:
    """The deadline cell says in the funder's words that there is none ("Rolling – no closing
    date"): the only way a listing earns ``no_closing_date`` (a missing date does not)."""
    if element is None:
        return False
    return any(phrase_in(p, element.get_text(" ")) for p in CUES["no_deadline"])


def _closing_date(element: Tag | None) -> datetime | None:
    """A ``<time datetime>`` attribute when there is one (UK local if it has no offset),
    else the element's text read as a UK date; a bare day means the end of that day."""
    if element is None:
        return None
    time_tag = element if element.name == "time" else element.find("time")
    if isinstance(time_tag, Tag) and time_tag.get("datetime"):
        parsed = parse_iso_datetime(str(time_tag["datetime"]))
        if parsed is not None:
            if len(str(time_tag["datetime"]).strip()) == 10:  # a date with no time of day
                parsed = parsed.replace(hour=END_OF_DAY.hour, minute=END_OF_DAY.minute)
            return parsed
    return parse_uk_datetime(
        clean_text(element.get_text(" ")), default_time=END_OF_DAY, month_end=True
    )


class HtmlListingSource(Source):
    """A listing page driven by CSS selectors in ``config.options`` (see the module doc)."""

    type_name: ClassVar[str] = "html"
    default_interval_minutes: ClassVar[int] = 720

    def __init__(self, config: SourceConfig) -> None:
        super().__init__(config)
        self.selectors = check_selectors(config)

    def parse(self, body: bytes, url: str) -> ParseResult:
        """Cards to opportunities, plus the next page when the ``next`` selector finds one."""
        soup = BeautifulSoup(body, "lxml")
        base = soup.find("base", href=True)
        page_url = urljoin(url, str(base["href"])) if isinstance(base, Tag) else url
        cards = soup.select(self.selectors["item"])
        if not cards:
            raise ParseError("item selector matched nothing: markup may have changed")
        next_urls = self._next(soup, page_url, url)  # before the cards leave the page
        # Innermost card first, each taken out of the page before its fields are looked
        # for: a card's fields are then found in its own content, not in the cards nested
        # in it, and a page of cards nested 8,000 deep is read in linear time rather than
        # searching every nested card again for each of its ancestors.
        found = []
        for card in reversed(cards):
            found.append(self._item(card.extract(), page_url))
        items: list[Opportunity] = []
        seen: set[str] = set()
        for item in reversed(found):
            if item is not None and item.external_id not in seen:
                seen.add(item.external_id)
                items.append(item)
        if not items:
            raise ParseError(
                f"{len(cards)} items but no title and link in any: markup may have changed"
            )
        return ParseResult(items=items, next_urls=next_urls)

    def _select_one(self, card: Tag, key: str) -> Tag | None:
        selector = self.selectors.get(key)
        return card.select_one(selector) if selector else None

    def _item(self, card: Tag, page_url: str) -> Opportunity | None:
        title_element = self._select_one(card, "title")
        title = clean_text(title_element.get_text(" ")) if title_element else ""
        href = _href(self._select_one(card, "link"))
        if not title or not href:
            log.info("%s: a listing item without title or link skipped", self.config.name)
            return None
        link = urljoin(page_url, href)
        summary_element = self._select_one(card, "summary")
        summary = clean_text(summary_element.get_text(" ")) if summary_element else ""
        amount_element = self._select_one(card, "amount")
        amounts = amounts_from_range(amount_element.get_text(" ") if amount_element else "")
        deadline = self._select_one(card, "date")
        closes_at = _closing_date(deadline)
        stays_open = closes_at is None and _says_no_deadline(deadline)
        return Opportunity(
            source=self.config.name,
            external_id=canonical_url(link),
            url=link,
            title=title,
            kind=infer_kind(title, summary, self.config.kind),
            funders=list(self.config.funders),
            closes_at=closes_at,
            flags=["no_closing_date"] if stays_open else [],
            award_min_pence=amounts.award_min,
            award_max_pence=amounts.award_max,
            summary=trim_text(summary, SUMMARY_CHARS),
            topics=list(self.config.topics),
        )

    def _next(self, soup: BeautifulSoup, page_url: str, url: str) -> list[str]:
        if "next" not in self.selectors:
            return []
        href = _href(soup.select_one(self.selectors["next"]))
        if not href:
            return []
        following = urljoin(page_url, href)
        return [] if canonical_url(following) == canonical_url(url) else [following]
