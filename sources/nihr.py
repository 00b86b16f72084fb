"""NIHR funding opportunities: the open listing, each opportunity's page, and the events
(webinars, briefings) that NIHR announces only inside a call's page.

Which clock to trust. NIHR writes each date twice, as in
``<time datetime="2026-08-18T13:00:00Z">18 August 2026 at 1:00 pm</time>``. On the saved real
pages the attribute's hour equals the text's hour all year round: 1:00 pm is ``13:00:00Z`` on
24 March (GMT) and on 18 August (BST) alike, and the prose of the same page says "The closing
date is 18 August 2026 at 1pm". So the attribute is the UK wall clock with a false "Z": taken at
its word it would move every summer deadline an hour later than NIHR means. We read the text as
UK local time and keep it aware in Europe/London (1:00 pm on 18 August is 13:00+01:00, which is
12:00 UTC; storage keeps UTC); the attribute's wall clock, as UK local time, is only a fallback
when the text gives no time of day.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, time, timedelta
from urllib.parse import parse_qsl, urljoin, urlsplit, urlunsplit

from bs4 import BeautifulSoup, Tag

from bot.core.model import Opportunity
from sources.base import ParseError, ParseResult, Source
from sources.normalise import (
    MONTHS,
    UK,
    ParsedDate,
    clean_text,
    parse_iso_datetime,
    parse_money,
    parse_uk_date,
    trim_text,
)

__all__ = ["NihrSource", "page_time"]

FUNDER = "NIHR"
SUMMARY_LIMIT = 600
_DETAIL_PATH = re.compile(r"^/funding/[^/]+/(?P<id>\d+)/?$")
_LISTING_PATH = "/funding-opportunities"
_ARTICLE = "article.node--type-funding-opportunity.node--view-mode-full"
_CARD = ".node--type-funding-opportunity:not(.node--view-mode-full)"
_NEXT = 'a[rel~="next"], li.pager__item--next a[href], li.page-item--next a[href]'
_STATUSES = {
    "open": "open",
    "closing soon": "open",
    "opening soon": "upcoming",
    "closed": "closed",
    "paused": "closed",
}
_EVENT = re.compile(
    r"\b(webinars?|briefings?|networking|workshops?|information sessions?|drop-in sessions?)\b",
    re.IGNORECASE,
)
_PAST = re.compile(r"\b(we held|was held|took place)\b", re.IGNORECASE)
_LATE = re.compile(r"\b(end|late)\b", re.IGNORECASE)
_MONTH_NAMES = "|".join(sorted(MONTHS, key=len, reverse=True))
_DAY_MONTH_NO_YEAR = re.compile(
    rf"\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:{_MONTH_NAMES})\b(?!\.?,?\s*\d{{4}})", re.IGNORECASE
)


def page_time(tag: Tag | None, default_time: time = time(0, 0)) -> datetime | None:
    """An NIHR ``<time>`` as an aware UK datetime: its text as UK local time (see the module
    docstring), else the attribute's wall clock as UK time, else the text's day at
    ``default_time``."""
    if tag is None:
        return None
    stated = parse_uk_date(clean_text(tag.get_text()), default_time=default_time)
    if stated is not None and stated.precision == "minute":
        return stated.value
    written = parse_iso_datetime(str(tag.get("datetime") or ""))
    if written is not None:
        wall_clock = written.replace(tzinfo=UK)
        if stated is None or wall_clock.date() == stated.value.date():
            return wall_clock
    return stated.value if stated else None


def _soup(body: bytes) -> BeautifulSoup:
    """Parse a whole page; Drupal always closes ``</html>``, so a page without it was cut off
    (a proxy timeout or our size cap) and must not be read as a page with fewer items."""
    if not body.strip():
        raise ParseError("NIHR: empty response body")
    if b"</html>" not in body[-2048:].lower():
        raise ParseError("NIHR: page is truncated (no closing </html>)")
    return BeautifulSoup(body, "lxml")


def _status(text: str, where: str) -> tuple[str, str]:
    stated = clean_text(text)
    status = _STATUSES.get(stated.lower())
    if status is None:
        raise ParseError(f"NIHR {where}: unknown opportunity status {stated!r}")
    return status, stated


def _call_id(url: str) -> str | None:
    match = _DETAIL_PATH.match(urlsplit(url).path)
    return match["id"] if match else None


def _text(node: Tag | None) -> str:
    return clean_text(node.get_text()) if node is not None else ""


def _trim(text: str) -> str:
    """Alerts show the opening; the page has the rest."""
    return trim_text(text, SUMMARY_LIMIT)


def _block_text(node: Tag) -> str:
    if node.name in ("ul", "ol"):
        return "; ".join(_text(item) for item in node.find_all("li", recursive=False))
    return _text(node)


def _prose(blocks: list[Tag]) -> str:
    """The text of ``blocks`` up to the first heading: a section of NIHR's rich text."""
    parts = []
    for block in blocks:
        if block.name in ("h1", "h2", "h3", "h4"):
            break
        parts.append(_block_text(block))
    return " ".join(part for part in parts if part)


def _summary(article: Tag) -> str:
    """The overview's opening prose, up to its first heading (usually "Eligibility")."""
    rich = article.select_one("#tab-overview .paragraph--type--rich-text .rich-text")
    return _trim(_prose(rich.find_all(True, recursive=False))) if rich else ""


def _eligibility(article: Tag) -> str:
    for heading in article.find_all(["h2", "h3"]):
        if _text(heading).lower().startswith("eligib"):
            return _prose(heading.find_next_siblings())
    return ""


def _dated(text: str, anchor: datetime | None) -> ParsedDate | None:
    """A date from text, giving "28 April" or "Tuesday 9 June" the year that puts it on or
    after the call's opening (less three months, for briefings held before it opens)."""
    found = parse_uk_date(text, month_end=bool(_LATE.search(text)))
    if (found is not None and found.precision != "month") or anchor is None:
        return found
    match = _DAY_MONTH_NO_YEAR.search(text)
    if match is None:
        return found
    for year in (anchor.year, anchor.year + 1):
        with_year = f"{text[: match.end()]} {year}{text[match.end() :]}"
        found = parse_uk_date(with_year)
        if found is not None and found.value >= anchor - timedelta(days=90):
            return found
    return found


def _key_dates(article: Tag, anchor: datetime | None) -> list[dict[str, str | None]]:
    """The "Key dates" timeline as plain data (it also holds webinars and decision dates)."""
    entries = []
    for entry in article.select("div.timeline__entry"):
        when, what = _text(entry.find(["h3", "h4"])), _text(entry.select_one(".rich-text"))
        found = _dated(when, anchor)
        day, precision = (
            (found.value.date().isoformat(), found.precision) if found else (None, None)
        )
        entries.append({"when": when, "what": what, "date": day, "precision": precision})
    return entries


def _event(call: Opportunity, word: str, found: ParsedDate, label: str, text: str) -> Opportunity:
    kind_word = word.lower().removesuffix("s").replace(" ", "-")
    day = found.value.date().isoformat()
    return Opportunity(
        source=call.source,
        external_id=f"{call.external_id}/event/{day}/{kind_word}",
        url=call.url,
        title=f"{label}: {call.title}",
        kind="event",
        status="closed" if _PAST.search(text) else "upcoming",
        funders=list(call.funders),
        starts_at=found.value,
        online=True if kind_word == "webinar" else None,
        summary=_trim(text),
        parent_external_id=call.external_id,
        extra={"starts_on": day, "date_precision": found.precision, "call_title": call.title},
    )


def _events(call: Opportunity, article: Tag) -> list[Opportunity]:
    """Webinars and briefings named in the key dates or the overview prose, one per kind and
    day; prose about the same event replaces the bare timeline line (it says more)."""
    found: dict[str, Opportunity] = {}
    for entry in call.extra.get("key_dates", []):
        match = _EVENT.search(entry["what"])
        dated = _dated(entry["when"], call.opens_at)
        if match and dated is not None and dated.precision != "month":
            text = f"{entry['what']} on {entry['when']}."
            event = _event(call, match[1], dated, entry["what"], text)
            found.setdefault(event.external_id, event)
    for block in article.select("#tab-overview .rich-text p, #tab-overview .rich-text li"):
        text = _text(block)
        match, dated = _EVENT.search(text), _dated(text, call.opens_at)
        if match and dated is not None and dated.precision != "month":
            label = match[1].capitalize().removesuffix("s")
            event = _event(call, match[1], dated, label, text)
            earlier = found.get(event.external_id)
            found[event.external_id] = replace(event, title=earlier.title) if earlier else event
    return list(found.values())


def _fields(article: Tag) -> dict[str, Tag]:
    rows = {}
    for row in article.select("ul.summary-list > li"):
        label, value = row.select_one("div.label"), row.select_one("div.value")
        if label is not None and value is not None:
            rows[_text(label).rstrip(":").lower()] = value
    return rows


def _detail(soup: BeautifulSoup, url: str) -> list[Opportunity]:
    article = soup.select_one(_ARTICLE)
    if article is None or not article.select("ul.summary-list > li"):
        raise ParseError("NIHR detail page: no opportunity summary list (markup changed?)")
    title = _text(article.find("h1"))
    fields = _fields(article)
    status_tag = article.select_one("ul.summary-list div.status")
    if not title or status_tag is None:
        raise ParseError("NIHR detail page: no title or no opportunity status")
    canonical = soup.select_one('link[rel="canonical"][href]')
    page_url = str(canonical["href"]) if canonical else url
    call_id = _call_id(url) or _call_id(page_url)
    if call_id is None:
        raise ParseError(f"NIHR detail page: no numeric id in {url!r}")
    status, stated = _status(status_tag.get_text(), "detail page")
    opening = fields.get("opening date")
    closing = fields.get("closing date")
    call = Opportunity(
        source=NihrSource.type_name,
        external_id=call_id,
        url=page_url,
        title=title,
        status=status,
        funders=[FUNDER],
        opens_at=page_time(opening.find("time") if opening else None),
        closes_at=page_time(closing.find("time") if closing else None, time(23, 59)),
        summary=_summary(article),
        eligibility=_eligibility(article),
        extra={"stated_status": stated},
    )
    for label, value in fields.items():
        money = parse_money(_text(value)) if re.search("award|fund|budget", label) else None
        if money and "total" in label:
            call.total_fund_pence = money.high or money.low
        elif money:
            call.award_min_pence, call.award_max_pence = money.low, money.high
    reference = _text(fields.get("reference id"))
    call.extra.update(
        reference=reference or None,
        programme=_text(article.select_one(".tagline")) or None,
        funding_type=_text(fields.get("type")) or None,
        key_dates=_key_dates(article, call.opens_at),
    )
    if not call.summary:
        description = soup.select_one('meta[name="description"][content]')
        call.summary = _trim(clean_text(str(description["content"]))) if description else ""
    return [call, *_events(call, article)]


def _card(card: Tag, page_url: str, position: int) -> Opportunity:
    link = card.select_one('a[href*="/funding/"]')
    url = urljoin(page_url, str(link["href"])) if link else ""
    call_id = _call_id(url)
    title = _text(card.select_one('[id^="card-title"]') or card.find(["h3", "h2"]))
    status_tag = card.select_one(".status")
    if call_id is None or not title or status_tag is None:
        raise ParseError(f"NIHR listing: card {position} lacks a link, title or status")
    status, stated = _status(status_tag.get_text(), f"listing card {position}")
    teaser = card.select_one('.field--name-field-teaser-copy, [class*="text-regular"]')
    return Opportunity(
        source=NihrSource.type_name,
        external_id=call_id,
        url=url,
        title=title,
        status=status,
        funders=[FUNDER],
        opens_at=page_time(card.select_one(".field--name-field-start-datetime time")),
        closes_at=page_time(card.select_one(".field--name-field-end-datetime time"), time(23, 59)),
        summary=_trim(_text(teaser)),
        extra={"stated_status": stated, "programme": _text(card.select_one(".tag")) or None},
    )


def _next_page(soup: BeautifulSoup, url: str) -> list[str]:
    """Drupal counts pages from 0 and a missing ``page`` is page 0. Only ``page`` changes:
    the filters keep the spelling they came with (``status%5BOpen%5D`` or ``status[Open]``),
    so that the URLs of one listing compare equal in the poller and in offline snapshots."""
    if soup.select_one(_NEXT) is None:
        return []
    parts = urlsplit(url)
    current = dict(parse_qsl(parts.query)).get("page", "0")
    page = int(current) if current.isdigit() else 0
    kept = [pair for pair in parts.query.split("&") if pair and not pair.startswith("page=")]
    return [urlunsplit(parts._replace(query="&".join([*kept, f"page={page + 1}"])))]


def _listing(soup: BeautifulSoup, url: str) -> ParseResult:
    cards = soup.select(_CARD)
    if not cards:
        said = _text(soup.find("main") or soup.body).lower()
        if "no results" in said or "no funding opportunities" in said:
            return ParseResult()
        raise ParseError("NIHR listing: no opportunity cards and no 'no results' message")
    items = [_card(card, url, position) for position, card in enumerate(cards, start=1)]
    return ParseResult(items=items, next_urls=_next_page(soup, url))


class NihrSource(Source):
    """NIHR's funding opportunities: listing pages, then each call's page when the card
    lacks its closing date. A call's page also yields its webinars and briefings as events."""

    type_name = "nihr"

    def parse(self, body: bytes, url: str) -> ParseResult:
        soup = _soup(body)
        path = urlsplit(url).path
        if _DETAIL_PATH.match(path) or soup.select_one(_ARTICLE) is not None:
            return ParseResult(items=_detail(soup, url))
        if path.rstrip("/") == _LISTING_PATH or soup.select_one(_CARD) is not None:
            return _listing(soup, url)
        raise ParseError(f"NIHR: {url!r} is neither a funding listing nor an opportunity page")

    def needs_detail(self, item: Opportunity) -> bool:
        return item.kind == "call" and item.closes_at is None

    def parse_detail(self, body: bytes, url: str, item: Opportunity) -> Opportunity:
        return self.detail_items(body, url, item)[0]

    def detail_items(self, body: bytes, url: str, item: Opportunity) -> list[Opportunity]:
        """The listing ``item`` enriched from its page, followed by the page's events.

        The page wins where it says something; the item keeps its id so that stored rows
        and the events' parent link stay the same.
        """
        call, *events = _detail(_soup(body), url)
        merged = replace(
            call,
            external_id=item.external_id,
            url=item.url or call.url,
            opens_at=call.opens_at or item.opens_at,
            closes_at=call.closes_at or item.closes_at,
            summary=call.summary or item.summary,
            extra={**item.extra, **{k: v for k, v in call.extra.items() if v is not None}},
        )
        linked = [replace(event, parent_external_id=item.external_id) for event in events]
        return [merged, *linked]
