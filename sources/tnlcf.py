"""The National Lottery Community Fund's open programmes, from its funding-programmes listing.

These are rolling programmes for voluntary and community groups rather than dated research
calls: the cards give the amounts, the nations they fund and a status, but no closing dates,
so every item is tagged for VCSE organisations and the core tagger adds the rest.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

from bs4 import BeautifulSoup, Tag

from bot.core.model import Opportunity
from sources.base import ParseError, ParseResult, Source
from sources.normalise import clean_text, parse_money

__all__ = ["TnlcfSource"]

FUNDER = "The National Lottery Community Fund"
_STATUSES = {
    "open": "open",
    "coming soon": "upcoming",
    "closed": "closed",
    "archived": "closed",
}
_RESULTS = re.compile(r"\b(\d[\d,]*)\s+results?\b", re.IGNORECASE)


def _soup(body: bytes) -> BeautifulSoup:
    """Parse a whole page; one without ``</html>`` was cut off in transit and would look like
    a listing with fewer programmes than it has."""
    if not body.strip():
        raise ParseError("TNLCF: empty response body")
    if b"</html>" not in body[-2048:].lower():
        raise ParseError("TNLCF: page is truncated (no closing </html>)")
    return BeautifulSoup(body, "lxml")


def _text(node: Tag | None) -> str:
    return clean_text(node.get_text()) if node is not None else ""


def _footer(card: Tag) -> dict[str, str]:
    """The footer's "Label: value" lines; the colon sits inside or after ``<strong>``."""
    rows = {}
    for item in card.select("ul li"):
        label = item.find("strong")
        if label is None:
            continue
        name, line = _text(label), _text(item)
        value = line[len(name) :] if line.startswith(name) else line
        rows.setdefault(name.rstrip(":").strip().lower(), value.lstrip(":").strip())
    return rows


def _status(stated: str, position: int) -> str:
    word = stated.lower()
    for prefix, status in _STATUSES.items():
        if word.startswith(prefix):
            return status
    raise ParseError(f"TNLCF listing: card {position} has an unknown status {stated!r}")


def _card(card: Tag, page_url: str, position: int) -> Opportunity:
    link = card.select_one("div.card-body h2 a[href]")
    title = _text(link)
    if link is None or not title:
        raise ParseError(f"TNLCF listing: card {position} has no title link (markup changed?)")
    url = urljoin(page_url, str(link["href"]))
    rows = _footer(card)
    stated = rows.get("programme status", "")
    if not stated:
        raise ParseError(f"TNLCF listing: card {position} has no 'Programme status:'")
    money = parse_money(rows.get("amount"))
    return Opportunity(
        source=TnlcfSource.type_name,
        external_id=urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1],
        url=url,
        title=title,
        kind="call",
        status=_status(stated, position),
        funders=[FUNDER],
        award_min_pence=money.low if money else None,
        award_max_pence=money.high if money else None,
        summary=_text(card.select_one("div.card-body p")),
        roles=["vcse"],
        extra={
            "location": rows.get("project location") or None,
            "amount_text": rows.get("amount") or None,
            "decision_time": rows.get("a decision in") or None,
            "stated_status": stated,
        },
    )


def _stated_count(soup: BeautifulSoup) -> int | None:
    """The "We've found N results" line: lets an empty page be told from changed markup."""
    match = _RESULTS.search(_text(soup.select_one(".results-text")))
    return int(match[1].replace(",", "")) if match else None


class TnlcfSource(Source):
    """The open programmes of The National Lottery Community Fund, page by page."""

    type_name = "tnlcf"

    def parse(self, body: bytes, url: str) -> ParseResult:
        soup = _soup(body)
        cards = soup.select("div.card-results > div.card")
        if not cards:
            if _stated_count(soup) == 0:
                return ParseResult()
            raise ParseError("TNLCF listing: no programme cards and no '0 results' line")
        items = [_card(card, url, position) for position, card in enumerate(cards, start=1)]
        following = soup.select_one("div.next a[href], a[rel~='next']")
        next_urls = [urljoin(url, str(following["href"]))] if following else []
        return ParseResult(items=items, next_urls=next_urls)
