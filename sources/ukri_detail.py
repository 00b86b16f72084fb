"""The parts of UKRI Funding Finder markup that ``sources.ukri`` reads into an item: the
summary table (on listing cards and opportunity pages alike), the dates, funders and councils
in it, and an opportunity page's lead, eligibility and announced events, plus how a page's
values are merged into the item it enriches.

Apart from ``sources.ukri`` so that the source there reads as "which page is this, and which
items does it give", while the field-by-field reading, which changes when UKRI's markup does,
sits here.

UKRI writes ``<time datetime="2026-06-16T16:00:00">`` without an offset; it is UK local time,
so it becomes an aware Europe/London datetime (BST in summer, GMT in winter). The summary
table's rows are matched by their label, never by position, because their order varies.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import urlsplit

from bs4 import BeautifulSoup, Comment, Tag

from bot.core.model import Opportunity
from sources.funders import UKRI_FAMILY, canonical_funders, is_known_funder
from sources.normalise import (
    clean_text,
    dated_mentions,
    derive_status,
    parse_amount,
    parse_iso_datetime,
    parse_money,
    parse_uk_datetime,
    trim_text,
)

__all__ = [
    "DATE_FLAGS",
    "ELIGIBILITY_LIMIT",
    "SUMMARY_LIMIT",
    "add_councils",
    "card_link",
    "in_card",
    "merge_detail",
    "read_eligibility",
    "read_events",
    "read_lead",
    "read_table",
]

SUMMARY_LIMIT = 600
ELIGIBILITY_LIMIT = 1000
DATE_FLAGS = frozenset(("no_closing_date", "closing_date_tbc"))
_ELIGIBILITY_HEADINGS = ("who can apply", "who is eligible", "eligibility")
_ELIGIBILITY_STARTS = ("you must", "your organisation must", "you can apply if", "to be eligible")
_ELIGIBILITY_STARTS += ("you can only apply", "applicants must", "project leads must")
_NO_CLOCK = datetime.min.replace(tzinfo=UTC)  # status as stated: the pipeline applies the clock


def card_link(card: Tag) -> Tag | None:
    """The card's own title link (not one of a card nested inside it)."""
    for link in card.select("h3.entry-title a.ukri-funding-opp__link[href]"):
        if link.find_parent("div", class_="opportunity") is card:
            return link
    return None


def in_card(tag: Tag) -> bool:
    """Inside a listing card (say, a related opportunity shown on a call's page)."""
    return any(card_link(card) for card in tag.find_parents("div", class_="opportunity"))


def _read_date(cell: Tag) -> tuple[datetime | None, str]:
    """The ``<time datetime>`` attribute (UK local), else the cell's text, else None."""
    text = clean_text(cell.get_text(" "))
    stamp = cell.find("time")
    if isinstance(stamp, Tag) and (value := parse_iso_datetime(str(stamp.get("datetime", "")))):
        return value, text
    return parse_uk_datetime(text), text


def read_table(item: Opportunity, table: Tag) -> None:
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
            add_councils(item, [str(a["href"]) for a in cell.select("a[href]")])
        elif label == "co-funders":
            item.extra["co_funders"] = text
            item.funders = canonical_funders([*item.funders, *_co_funders(text)])
        elif label == "funding type":
            item.extra["funding_type"] = text
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


def _co_funders(text: str) -> list[str]:
    """The co-funders named in a cell: one name with commas of its own ("The Department for
    Environment, Food and Rural Affairs (Defra)") when it is a funder we know, else a list."""
    if is_known_funder(text):
        return [text]
    return [name for name in re.split(r"[;,]|\band\b", text) if name.strip()]


def add_councils(item: Opportunity, hints: list[str]) -> None:
    """Record which of UKRI's councils fund ``item``: card classes, council links, funders."""
    slugs = []
    for hint in hints:
        path = [part for part in urlsplit(hint).path.split("/") if part]
        slugs.append(path[path.index("councils") + 1] if "councils" in path[:-1] else hint)
    names = canonical_funders([*item.extra.get("councils", []), *slugs, *item.funders])
    item.extra["councils"] = sorted(name for name in names if name in UKRI_FAMILY)


_HEADINGS = ("h2", "h3", "h4")
_CALLOUT = "ukri-callout-box"  # "See the full opportunity details on the Innovation Funding
# Service": a signpost to another site, not a word about the call


def _outside_callout(tag: Tag) -> bool:
    return tag.find_parent("div", class_=_CALLOUT) is None


def read_lead(description: Tag | None) -> str:
    """The description's first paragraphs, up to ``SUMMARY_LIMIT`` characters: those before
    its first heading ("Eligibility summary" and the like start other matters), without the
    callout box."""
    if description is None:
        return ""
    taken: list[str] = []
    for block in description.find_all(["p", *_HEADINGS]):
        if block.name in _HEADINGS:
            if taken:
                break
            continue
        text = clean_text(block.get_text(" ")) if _outside_callout(block) else ""
        if text and taken and len(" ".join([*taken, text])) > SUMMARY_LIMIT:
            break
        if text:
            taken.append(text)
    return trim_text(" ".join(taken) or clean_text(description.get_text(" ")), SUMMARY_LIMIT)


def _block_text(block: Tag) -> str:
    """A block's text; a list's items kept apart ("a; b; c") rather than run together."""
    if block.name in ("ul", "ol"):
        return "; ".join(text for li in block("li") if (text := clean_text(li.get_text(" "))))
    return clean_text(block.get_text(" "))


def read_eligibility(soup: BeautifulSoup, description: Tag | None) -> str:
    """The "Who can apply" (or "Eligibility summary") section; failing that, the
    description's "You must …" lines."""
    for heading in soup.find_all(re.compile(r"^h[2-4]$")):
        if not clean_text(heading.get_text(" ")).casefold().startswith(_ELIGIBILITY_HEADINGS):
            continue
        texts = []
        for sibling in heading.find_next_siblings():
            if sibling.name in ("h1", "h2", "h3", "h4") and sibling.name <= heading.name:
                break
            texts.append(_block_text(sibling))
        return trim_text(" ".join(text for text in texts if text), ELIGIBILITY_LIMIT)
    lines: list[str] = []
    for paragraph in description.find_all("p") if description is not None else []:
        for line in paragraph.get_text().split("\n"):
            line = clean_text(line)
            if line.casefold().startswith(_ELIGIBILITY_STARTS):
                listed = paragraph.find_next_sibling()
                if line.endswith(":") and listed is not None and listed.name in ("ul", "ol"):
                    line += " " + _block_text(listed)
                lines.append(line)
    return trim_text(" ".join(lines), ELIGIBILITY_LIMIT)


def read_events(soup: BeautifulSoup, call: Opportunity) -> list[Opportunity]:
    """Webinars and information sessions announced, with a date, inside a call's page."""
    found: dict[str, Opportunity] = {}
    for block in soup.find_all(["p", "li"]):
        if block.find_parent("dl") or block.find("p") or in_card(block):
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


def merge_detail(item: Opportunity, page: Opportunity) -> Opportunity:
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
