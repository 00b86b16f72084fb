"""UKRI Funding Finder: listing pages, opportunity pages and the opportunity feed.

One parser reads all three because one poll meets all three: the listing (or the feed) gives
the items and an opportunity page enriches one of them. MRC and ESRC are views of this source
(``options["council"]``), because UKRI publishes every council's calls in the one finder.

UKRI writes ``<time datetime="2026-06-16T16:00:00">`` without an offset; it is UK local time,
so it becomes an aware Europe/London datetime (BST in summer, GMT in winter). The summary
table's rows are matched by their label, never by position, because their order varies.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from typing import ClassVar
from urllib.parse import urljoin, urlsplit

import feedparser
from bs4 import BeautifulSoup, Comment, Tag

from bot.core.model import Opportunity
from sources.base import ParseError, ParseResult, Source
from sources.funders import UKRI_FAMILY, canonical_funder, canonical_funders
from sources.normalise import (
    UK,
    clean_text,
    dated_mentions,
    derive_status,
    infer_kind,
    parse_amount,
    parse_iso_datetime,
    parse_money,
    parse_uk_datetime,
    trim_text,
)

__all__ = ["UkriSource"]

SUMMARY_LIMIT = 600
ELIGIBILITY_LIMIT = 1000
DATE_FLAGS = frozenset(("no_closing_date", "closing_date_tbc"))
_ELIGIBILITY_HEADINGS = ("who can apply", "who is eligible", "eligibility")
_ELIGIBILITY_STARTS = ("you must", "your organisation must", "you can apply if", "to be eligible")
_ELIGIBILITY_STARTS += ("you can only apply", "applicants must", "project leads must")
_NO_CLOCK = datetime.min.replace(tzinfo=UTC)  # status as stated: the pipeline applies the clock


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
        cards = [card for card in soup.select("div.opportunity") if _card_link(card)]
        if cards and not titled:
            return self._listing(soup, cards, url, complete)
        if table is not None:
            call = self._detail(soup, url, complete)
            items = [call, *_events(soup, call)]
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
        merged = _merge(item, self._detail(soup, url, b"</html" in body.lower()))
        return [merged, *(e for e in _events(soup, merged) if self.keeps(e))]

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
        link = _card_link(card)
        if link is None:
            return None
        paragraphs = card.select("div.entry-content p")
        summary = " ".join(clean_text(p.get_text(" ")) for p in paragraphs).strip()
        item = self._new(urljoin(url, str(link["href"])), clean_text(link.get_text(" ")), summary)
        table = card.select_one("dl.opportunity__summary")
        if table is not None:
            _read_table(item, table)
        _add_councils(item, [name for name in card.get("class", []) if "category-" in name])
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
        canonical = soup.select_one('link[rel="canonical"][href]')
        page_url = urljoin(url, str(canonical["href"])) if canonical is not None else url
        description = soup.select_one("div.description")
        for br in soup.find_all("br"):
            br.replace_with("\n")  # UKRI puts a summary's eligibility line after a <br>
        item = self._new(page_url, clean_text(heading.get_text(" ")), _lead(description))
        tables = soup.select("dl.opportunity__summary")
        _read_table(item, next((t for t in tables if not _in_card(t)), tables[0]))
        start = soup.select_one("a#analytics-start-application[href]")
        if start is not None:
            item.extra["apply_url"] = urljoin(url, str(start["href"]))
        updated = soup.select_one("p.last-updated")
        if updated is not None and (day := parse_uk_datetime(updated.get_text(" "))):
            item.extra["last_updated"] = day.date().isoformat()
        item.eligibility = _eligibility(soup, description)
        _add_councils(item, [])
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
            _add_councils(item, terms)
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


def _card_link(card: Tag) -> Tag | None:
    """The card's own title link (not one of a card nested inside it)."""
    for link in card.select("h3.entry-title a.ukri-funding-opp__link[href]"):
        if link.find_parent("div", class_="opportunity") is card:
            return link
    return None


def _in_card(tag: Tag) -> bool:
    """Inside a listing card (say, a related opportunity shown on a call's page)."""
    return any(_card_link(card) for card in tag.find_parents("div", class_="opportunity"))


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


def _slug(url: str) -> str:
    """The opportunity's slug: stable across listing, feed and page, unlike the post id."""
    parts = [part for part in urlsplit(url).path.split("/") if part]
    if "opportunity" in parts[:-1]:
        return parts[parts.index("opportunity") + 1]
    return parts[-1] if parts else url


def _read_date(cell: Tag) -> tuple[datetime | None, str]:
    """The ``<time datetime>`` attribute (UK local), else the cell's text, else None."""
    text = clean_text(cell.get_text(" "))
    stamp = cell.find("time")
    if isinstance(stamp, Tag) and (value := parse_iso_datetime(str(stamp.get("datetime", "")))):
        return value, text
    return parse_uk_datetime(text), text


def _read_table(item: Opportunity, table: Tag) -> None:
    """Fill ``item`` from the ``dt``/``dd`` pairs, matched by label in whatever order."""
    for label_cell in table.find_all("dt"):
        cell = label_cell.find_next_sibling("dd")
        if cell is None:
            continue
        label = clean_text(label_cell.get_text(" ")).rstrip(":").strip().casefold()
        text = clean_text(cell.get_text(" "))
        if label == "opportunity status":
            flag = cell.select_one(".opportunity-status__flag") or cell
            item.extra["stated_status"] = clean_text(flag.get_text(" "))
            item.status = derive_status(_NO_CLOCK, None, None, item.extra["stated_status"])
        elif label == "funders":
            item.funders = _funder_names(cell)
            _add_councils(item, [str(a["href"]) for a in cell.select("a[href]")])
        elif label in ("co-funders", "funding type"):
            item.extra[label.replace("-", "_").replace(" ", "_")] = text
        elif label == "total fund":
            item.total_fund_pence = parse_amount(text)
        elif label == "award range" and (money := parse_money(text)):
            item.award_min_pence, item.award_max_pence = money.low, money.high
        elif label == "minimum award":
            item.award_min_pence = parse_amount(text)
        elif label == "maximum award":
            item.award_max_pence = parse_amount(text)
        elif label in ("publication date", "opening date", "closing date"):
            _set_date(item, label, *_read_date(cell))
        else:
            item.extra.setdefault("other", {})[label] = text


def _set_date(item: Opportunity, label: str, value: datetime | None, text: str) -> None:
    if label == "publication date":
        item.published_at = value
    elif label == "opening date":
        item.opens_at = value
    else:
        item.closes_at = value
        item.flags = [flag for flag in item.flags if flag not in DATE_FLAGS]
        lowered = text.casefold()
        if value is None and "no closing date" in lowered:
            item.flags.append("no_closing_date")
        elif value is None and ("to be confirmed" in lowered or lowered == "tbc"):
            item.flags.append("closing_date_tbc")


def _funder_names(cell: Tag) -> list[str]:
    """Linked councils and plain-text funders ("UK Research and Innovation, <a>…</a>")."""
    names: list[str] = []
    for node in cell.children:
        if isinstance(node, Tag):
            names.append(node.get_text(" "))
        elif not isinstance(node, Comment):
            names.extend(str(node).split(","))
    return canonical_funders(names)


def _add_councils(item: Opportunity, hints: list[str]) -> None:
    """Record which of UKRI's councils fund ``item``: card classes, council links, funders."""
    slugs = []
    for hint in hints:
        path = [part for part in urlsplit(hint).path.split("/") if part]
        slugs.append(path[path.index("councils") + 1] if "councils" in path[:-1] else hint)
    names = canonical_funders([*item.extra.get("councils", []), *slugs, *item.funders])
    item.extra["councils"] = sorted(name for name in names if name in UKRI_FAMILY)


def _lead(description: Tag | None) -> str:
    """The description's first paragraphs, up to ``SUMMARY_LIMIT`` characters."""
    if description is None:
        return ""
    taken: list[str] = []
    for paragraph in description.find_all("p"):
        text = clean_text(paragraph.get_text(" "))
        if text and taken and len(" ".join([*taken, text])) > SUMMARY_LIMIT:
            break
        if text:
            taken.append(text)
    return trim_text(" ".join(taken) or clean_text(description.get_text(" ")), SUMMARY_LIMIT)


def _eligibility(soup: BeautifulSoup, description: Tag | None) -> str:
    """The "Who can apply" section; failing that, the description's "You must …" lines."""
    for heading in soup.find_all(re.compile(r"^h[2-4]$")):
        if not clean_text(heading.get_text(" ")).casefold().startswith(_ELIGIBILITY_HEADINGS):
            continue
        texts = []
        for sibling in heading.find_next_siblings():
            if sibling.name in ("h1", "h2", "h3", "h4") and sibling.name <= heading.name:
                break
            texts.append(clean_text(sibling.get_text(" ")))
        return trim_text(" ".join(text for text in texts if text), ELIGIBILITY_LIMIT)
    lines: list[str] = []
    for paragraph in description.find_all("p") if description is not None else []:
        for line in paragraph.get_text().split("\n"):
            line = clean_text(line)
            if line.casefold().startswith(_ELIGIBILITY_STARTS):
                listed = paragraph.find_next_sibling()
                if line.endswith(":") and listed is not None and listed.name in ("ul", "ol"):
                    line += " " + "; ".join(clean_text(li.get_text(" ")) for li in listed("li"))
                lines.append(line)
    return trim_text(" ".join(lines), ELIGIBILITY_LIMIT)


def _events(soup: BeautifulSoup, call: Opportunity) -> list[Opportunity]:
    """Webinars and information sessions announced, with a date, inside a call's page."""
    found: dict[str, Opportunity] = {}
    for block in soup.find_all(["p", "li"]):
        if block.find_parent("dl") or block.find("p") or _in_card(block):
            continue
        for mention in dated_mentions(block.get_text(" ")):
            phrase, starts = mention.phrase, mention.when.value
            key = f"{call.external_id}--{phrase.replace(' ', '-')}-{starts:%Y%m%d}"
            online = "webinar" in phrase or "online" in mention.sentence.casefold()
            found.setdefault(
                key,
                Opportunity(
                    call.source,
                    key,
                    call.url,
                    f"{phrase.capitalize()}: {call.title}",
                    kind="event",
                    status="upcoming",
                    funders=list(call.funders),
                    starts_at=starts,
                    online=True if online else None,
                    summary=mention.sentence,
                    parent_external_id=call.external_id,
                    extra={"councils": list(call.extra.get("councils", []))},
                ),
            )
    return list(found.values())


def _merge(item: Opportunity, page: Opportunity) -> Opportunity:
    """The page's table is fresher than a feed item or a card: its values win when given."""
    merged = replace(item, funders=page.funders or list(item.funders), flags=list(item.flags))
    merged.topics, merged.roles = list(item.topics), list(item.roles)
    for name in ("opens_at", "closes_at", "total_fund_pence", "award_min_pence", "award_max_pence"):
        setattr(merged, name, getattr(page, name) or getattr(item, name))
    if DATE_FLAGS.intersection(page.flags):
        merged.closes_at = None  # the page says "no closing date" or "to be confirmed" now
    merged.published_at = item.published_at or page.published_at  # a feed's has the hour
    merged.status = page.status
    merged.eligibility = page.eligibility or item.eligibility
    merged.summary = item.summary or page.summary
    if merged.closes_at is not None or DATE_FLAGS.intersection(page.flags):
        merged.flags = [flag for flag in merged.flags if flag not in DATE_FLAGS]
    merged.flags += [flag for flag in page.flags if flag not in merged.flags]
    merged.extra = {**item.extra, **page.extra, "detail_fetched": True}
    merged.extra["councils"] = sorted({*item.extra.get("councils", []), *page.extra["councils"]})
    return merged
