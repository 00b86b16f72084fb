"""UKRI Funding Finder: listing pages, opportunity pages and the opportunity feed.

One parser reads all three because one poll meets all three: the listing (or the feed) gives
the items and an opportunity page enriches one of them. MRC and ESRC are views of this source
(``options["council"]``), because UKRI publishes every council's calls in the one finder.
Reading the parts of a page (the summary table, eligibility, events) is in
``sources.ukri_detail``; this module tells the pages apart and builds the items.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar
from urllib.parse import urljoin, urlsplit

import feedparser
from bs4 import BeautifulSoup, Tag

from bot.core.model import Opportunity
from sources.base import ParseError, ParseResult, Source
from sources.funders import UKRI_FAMILY, canonical_funder, canonical_funders
from sources.normalise import UK, clean_text, infer_kind, parse_uk_datetime, trim_text
from sources.ukri_detail import (
    DATE_FLAGS,
    SUMMARY_LIMIT,
    add_councils,
    card_link,
    in_card,
    merge_detail,
    read_eligibility,
    read_events,
    read_lead,
    read_table,
)

__all__ = ["UkriSource"]


class UkriSource(Source):
    """UKRI Funding Finder; ``options["council"]`` ("mrc", "ESRC", …) keeps one council's."""

    type_name: ClassVar[str] = "ukri"

    def parse(self, body: bytes, url: str) -> ParseResult:
        """Items from a listing page, an opportunity page or the RSS feed, told apart here."""
        if _looks_like_feed(body):
            return self._feed(body, url)
        soup = _soup(body)
        complete = b"</html" in body.lower()
        table = soup.select_one("dl.opportunity__summary")
        heading = soup.select_one("h1#skipnav-target")
        # An opportunity page may itself be a div.opportunity (WordPress's post classes) or
        # show related cards; its title's hidden "Funding opportunity: " prefix tells it apart.
        titled = heading is not None and "funding opportunity" in heading.get_text().casefold()
        cards = [card for card in soup.select("div.opportunity") if card_link(card)]
        if cards and not titled:
            return self._listing(soup, cards, url, complete)
        if table is not None:
            call = self._detail(soup, url, complete)
            items = [call, *read_events(soup, call)]
            return ParseResult([item for item in items if self.keeps(item)])
        if complete and _is_empty_listing(soup):
            return ParseResult()
        raise ParseError(
            f"{url}: not a UKRI Funding Finder page: no div.opportunity card, no "
            "dl.opportunity__summary table, not an RSS feed (markup changed or truncated?)"
        )

    def needs_detail(self, item: Opportunity) -> bool:
        """A missing closing date is worth a page fetch, unless UKRI said there is none."""
        return item.closes_at is None and not DATE_FLAGS.intersection(item.flags)

    def parse_detail(self, body: bytes, url: str, item: Opportunity) -> Opportunity:
        """``item`` completed from its opportunity page: dates, funders, money, eligibility."""
        return self.detail_items(body, url, item)[0]

    def detail_items(self, body: bytes, url: str, item: Opportunity) -> list[Opportunity]:
        """The completed ``item``, then the briefing webinars its page announces."""
        soup = _soup(body)
        if soup.select_one("dl.opportunity__summary") is None:
            raise ParseError(f"{url}: no dl.opportunity__summary on the opportunity page")
        merged = merge_detail(item, self._detail(soup, url, b"</html" in body.lower()))
        return [merged, *(e for e in read_events(soup, merged) if self.keeps(e))]

    # ------------------------------------------------------------ the three page types
    def _listing(
        self, soup: BeautifulSoup, cards: list[Tag], url: str, complete: bool
    ) -> ParseResult:
        if not complete:
            cards = cards[:-1]  # a cut-off page may have cut its last card in half
        items = [item for card in cards if (item := self._card(card, url)) is not None]
        if not items:
            raise ParseError(f"{url}: no complete opportunity card (truncated or markup changed)")
        after = soup.select_one("a.next.page-numbers[href]")
        next_urls = [urljoin(url, str(after["href"]))] if after is not None else []
        return ParseResult([item for item in items if self.keeps(item)], next_urls)

    def _card(self, card: Tag, url: str) -> Opportunity | None:
        link = card_link(card)
        if link is None:
            return None
        paragraphs = card.select("div.entry-content p")
        summary = " ".join(clean_text(p.get_text(" ")) for p in paragraphs).strip()
        item = self._new(urljoin(url, str(link["href"])), clean_text(link.get_text(" ")), summary)
        table = card.select_one("dl.opportunity__summary")
        if table is not None:
            read_table(item, table)
        add_councils(item, [name for name in card.get("class", []) if "category-" in name])
        if not item.funders:
            item.funders = list(item.extra["councils"])
        return item

    def _detail(self, soup: BeautifulSoup, url: str, complete: bool) -> Opportunity:
        heading = soup.select_one("h1#skipnav-target")
        if heading is None:
            raise ParseError(f"{url}: opportunity page without its h1#skipnav-target title")
        if not complete:
            raise ParseError(f"{url}: opportunity page is truncated (no closing </html>)")
        for hidden in heading.select(".govuk-visually-hidden"):
            hidden.decompose()  # the "Funding opportunity: " prefix for screen readers
        page_url = _page_url(soup, url)
        description = soup.select_one("div.description")
        for br in soup.find_all("br"):
            br.replace_with("\n")  # UKRI puts a summary's eligibility line after a <br>
        item = self._new(page_url, clean_text(heading.get_text(" ")), read_lead(description))
        tables = soup.select("dl.opportunity__summary")
        read_table(item, next((t for t in tables if not in_card(t)), tables[0]))
        start = soup.select_one("a#analytics-start-application[href]")
        if start is not None:
            item.extra["apply_url"] = urljoin(url, str(start["href"]))
        updated = soup.select_one("p.last-updated")
        if updated is not None and (day := parse_uk_datetime(updated.get_text(" "))):
            item.extra["last_updated"] = day.date().isoformat()
        item.eligibility = read_eligibility(soup, description)
        add_councils(item, [])
        return item

    def _feed(self, body: bytes, url: str) -> ParseResult:
        feed = feedparser.parse(body)
        if not feed.entries and (feed.bozo or not feed.feed.get("title")):
            raise ParseError(f"{url}: not a readable RSS/Atom feed ({feed.get('bozo_exception')})")
        items = []
        for entry in feed.entries:
            link, title = entry.get("link"), clean_text(entry.get("title"))
            if not link or not title:
                continue
            raw = entry.get("summary", "")
            text = clean_text(BeautifulSoup(raw, "lxml").get_text(" ") if "<" in raw else raw)
            item = self._new(urljoin(url, link), title, trim_text(text, SUMMARY_LIMIT))
            stamp = entry.get("published_parsed") or entry.get("updated_parsed")
            if stamp:
                item.published_at = datetime(*stamp[:6], tzinfo=UTC).astimezone(UK)
            terms = [tag.get("term", "") for tag in entry.get("tags", [])]
            item.funders = [name for name in canonical_funders(terms) if name in UKRI_FAMILY]
            item.extra["from_feed"] = True
            add_councils(item, terms)
            items.append(item)
        return ParseResult([item for item in items if self.keeps(item)])

    # ------------------------------------------------------------ shared steps
    def _new(self, url: str, title: str, summary: str) -> Opportunity:
        kind = infer_kind(title, summary, self.config.kind)
        return Opportunity(self.name, _slug(url), url, title, kind=kind, summary=summary)

    def keeps(self, item: Opportunity) -> bool:
        """Whether ``item`` belongs in this view: in a council view, only what that council
        funds (by card class, funder link or feed category); without a council, everything.
        Public so that a view (``view_of = "ukri"``) can filter the items UKRI already has."""
        council = self.config.options.get("council")
        if not council:
            return True
        return canonical_funder(str(council)) in item.extra.get("councils", [])


def _soup(body: bytes) -> BeautifulSoup:
    """UKRI serves UTF-8 and often says so only in the HTTP header, which parse never sees."""
    try:
        return BeautifulSoup(body.decode("utf-8"), "lxml")
    except UnicodeDecodeError:
        return BeautifulSoup(body, "lxml")


def _looks_like_feed(body: bytes) -> bool:
    head = body[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    roots = (b"<rss", b"<feed", b"<rdf")
    return head.startswith((*roots, b"<?xml")) and any(root in head for root in roots)


def _is_empty_listing(soup: BeautifulSoup) -> bool:
    """A finder page that really found nothing: its search form or feed link, no pagination.

    A page with pagination but no cards is a changed markup, not an empty result.
    """
    if soup.select_one(".page-numbers") is not None:
        return False
    form = 'form input[name^="filter_"], form input[name="keywords"]'
    return soup.select_one(f'{form}, link[href*="/opportunity/feed"]') is not None


def _page_url(soup: BeautifulSoup, url: str) -> str:
    """Where an opportunity page lives, which its id comes from: its canonical link (or
    ``og:url``), else ``url`` when that is an opportunity's own address. A saved page read
    with the listing's URL (``signpost parse`` without ``--url``) and neither link would take
    the listing's id, so it is refused with a message saying what to pass instead."""
    for selector, attribute in _OWN_URL:
        tag = soup.select_one(selector)
        if tag is not None and str(tag.get(attribute, "")).strip():
            return urljoin(url, str(tag[attribute]).strip())
    parts = [part for part in urlsplit(url).path.split("/") if part]
    if "opportunity" in parts[:-1]:
        return url
    raise ParseError(
        f"{url} is not an opportunity's address and the page has no canonical link: "
        "give the page's own URL (signpost parse --url)"
    )


_OWN_URL = (
    ('link[rel="canonical"][href]', "href"),
    ('meta[property="og:url"][content]', "content"),
)


def _slug(url: str) -> str:
    """The opportunity's slug: stable across listing, feed and page, unlike the post id."""
    parts = [part for part in urlsplit(url).path.split("/") if part]
    if "opportunity" in parts[:-1]:
        return parts[parts.index("opportunity") + 1]
    return parts[-1] if parts else url
