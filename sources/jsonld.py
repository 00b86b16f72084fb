"""Events that a page embeds as schema.org JSON-LD: Eventbrite organiser pages, and any site
whose event pages carry ``<script type="application/ld+json">`` for search engines.

An Eventbrite organiser page (``https://www.eventbrite.co.uk/o/<slug>-<id>``) lists its events
as an ``ItemList`` of ``ListItem.item`` Events with no API key; other sites give one Event, a
list of them, or an ``@graph``. All of these are walked the same way. What the markup means:

- times carry their offset ("2025-06-03T19:00:00+0100"); a bare date is an all-day event,
  UK time; a time without an offset is UK local time;
- ``eventStatus`` EventCancelled drops the event; postponed and rescheduled events are kept
  with a flag, so the reader sees the change rather than a silent disappearance;
- events that have ended by the parse time are dropped: organiser pages mix recent past
  events in with the upcoming ones;
- a recurring series is one item that says it recurs. Eventbrite gives a series once, with
  the first session's start and the *last* session's end (so a weekly quiz "ends" 14 months
  later); that end is kept as ``extra["series_ends_at"]``, never as the session's end. A
  series is recognised by ``eventSchedule``, by the type ``EventSeries``, or by a span of
  more than a week on a type that is not naturally long (exhibitions and festivals are).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar
from urllib.parse import urljoin

from bs4 import BeautifulSoup

from bot.core.model import Opportunity
from sources.base import ClockedSource, ParseError, ParseResult
from sources.normalise import UK, clean_text, parse_iso_datetime, trim_text
from sources.rss import SUMMARY_CHARS, html_to_text

log = logging.getLogger(__name__)

# schema.org Event and its subtypes (https://schema.org/Event, "More specific Types").
EVENT_TYPES = frozenset(
    {
        "Event", "BusinessEvent", "ChildrensEvent", "ComedyEvent", "CourseInstance",
        "DanceEvent", "DeliveryEvent", "EducationEvent", "EventSeries", "ExhibitionEvent",
        "Festival", "FoodEvent", "Hackathon", "LiteraryEvent", "MusicEvent",
        "OnDemandEvent", "PublicationEvent", "SaleEvent", "ScreeningEvent", "SocialEvent",
        "SportsEvent", "TheaterEvent", "VisualArtsEvent",
    }
)  # fmt: skip
# Types whose long span is one continuous event, not a series of sessions.
_LONG_BY_NATURE = frozenset({"ExhibitionEvent", "Festival", "EventSeries"})
SERIES_SPAN = timedelta(days=7)
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_FLAGGED_STATUSES = {"eventpostponed": "postponed", "eventrescheduled": "rescheduled"}


def _types(node: dict[str, Any]) -> set[str]:
    """The node's ``@type``s without any "schema:" or URL prefix."""
    raw = node.get("@type")
    values = raw if isinstance(raw, list) else [raw]
    return {str(v).rsplit("/", 1)[-1].removeprefix("schema:") for v in values if v}


def _schema_word(value: Any) -> str:
    """ "https://schema.org/EventCancelled" -> "eventcancelled"."""
    return str(value or "").rsplit("/", 1)[-1].removeprefix("schema:").lower()


def walk_events(node: Any) -> Iterator[dict[str, Any]]:
    """Every Event in a JSON-LD value: top level, lists, ``@graph``, ``ItemList`` items.

    An Event's own properties are not searched further: its ``subEvent``s and ``superEvent``
    would otherwise come out twice or as separate alerts.
    """
    if isinstance(node, list):
        for child in node:
            yield from walk_events(child)
        return
    if not isinstance(node, dict):
        return
    if _types(node) & EVENT_TYPES:
        yield node
        return
    for key in ("@graph", "itemListElement", "item", "mainEntity", "hasPart", "event", "events"):
        if key in node:
            yield from walk_events(node[key])


def json_ld_blocks(body: bytes) -> list[Any]:
    """The parsed JSON-LD of a page (or of a bare JSON-LD document); bad blocks are skipped.

    Raises ``ParseError`` when the page has no JSON-LD at all, or none of it can be read:
    that is what a page whose markup changed looks like.
    """
    stripped = body.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped[:1] in (b"{", b"["):
        try:
            return [json.loads(stripped)]
        except ValueError as error:
            raise ParseError(f"JSON-LD document could not be read: {error}") from error
    if not stripped:
        raise ParseError("empty page: no JSON-LD")
    soup = BeautifulSoup(body, "lxml")
    scripts = soup.find_all("script", type=re.compile(r"^\s*application/ld\+json", re.I))
    if not scripts:
        raise ParseError("no script[type=application/ld+json] on the page")
    blocks: list[Any] = []
    for script in scripts:
        try:
            blocks.append(json.loads(script.string or script.get_text() or ""))
        except ValueError as error:
            log.info("JSON-LD block skipped: %s", error)
    if not blocks:
        raise ParseError(f"none of the {len(scripts)} JSON-LD blocks could be read")
    return blocks


def _when(value: Any) -> tuple[datetime | None, bool]:
    """(aware datetime, is a bare date) of a schema.org Date or DateTime."""
    text = str(value or "").strip()
    if _DATE_ONLY.match(text):
        day = datetime.fromisoformat(text).date()
        return datetime.combine(day, time(0, 0), tzinfo=UK), True
    return parse_iso_datetime(text), False


def _text_of(value: Any) -> str:
    if isinstance(value, dict):
        value = value.get("name") or value.get("@value") or ""
    if isinstance(value, list):
        value = " ".join(_text_of(v) for v in value)
    return clean_text(html_to_text(str(value or "")))


def _location(event: dict[str, Any]) -> tuple[str, bool]:
    """(place text, says it is online) from ``location``: Place, VirtualLocation or text."""
    places = event.get("location")
    places = places if isinstance(places, list) else [places]
    parts: list[str] = []
    virtual = False
    for place in places:
        if isinstance(place, str):
            parts.append(clean_text(place))
            continue
        if not isinstance(place, dict):
            continue
        if "VirtualLocation" in _types(place):
            virtual = True
            continue
        address = place.get("address")
        if isinstance(address, dict):
            keys = ("streetAddress", "addressLocality", "postalCode")
            address = ", ".join(clean_text(str(address[k])) for k in keys if address.get(k))
        pieces = [clean_text(str(place.get("name") or "")), clean_text(str(address or ""))]
        parts.append(", ".join(p for p in pieces if p))
    return "; ".join(p for p in parts if p), virtual


def _online(event: dict[str, Any], location: str, virtual: bool) -> bool | None:
    mode = _schema_word(event.get("eventAttendanceMode"))
    if virtual or mode.startswith(("online", "mixed")):
        return True
    if _schema_word(event.get("eventStatus")) == "eventmovedonline":
        return True
    if mode.startswith("offline"):
        return False
    return False if location else None


def _pence(value: Any) -> int | None:
    try:
        return int((Decimal(str(value)) * 100).to_integral_value())
    except (InvalidOperation, ValueError, TypeError):
        return None


def _prices(event: dict[str, Any]) -> dict[str, Any]:
    """Ticket prices in pence from ``offers`` (Offer or AggregateOffer), when in pounds."""
    offers = event.get("offers")
    offers = offers if isinstance(offers, list) else [offers]
    amounts: list[int] = []
    for offer in offers:
        if not isinstance(offer, dict) or offer.get("priceCurrency", "GBP") != "GBP":
            continue
        for key in ("price", "lowPrice", "highPrice"):
            pence = _pence(offer.get(key)) if offer.get(key) not in (None, "") else None
            if pence is not None:
                amounts.append(pence)
    if not amounts:
        return {}
    return {"price_min_pence": min(amounts), "price_max_pence": max(amounts)}


def _is_series(event: dict[str, Any], starts: datetime, ends: datetime | None) -> bool:
    if event.get("eventSchedule"):
        return True
    types = _types(event)
    if "EventSeries" in types:
        return True
    if types & _LONG_BY_NATURE:
        return False
    return ends is not None and ends - starts > SERIES_SPAN


def _schedule(event: dict[str, Any]) -> dict[str, Any]:
    """How often a series with an ``eventSchedule`` repeats ("P1W", days), as given."""
    schedule = event.get("eventSchedule")
    schedule = schedule[0] if isinstance(schedule, list) and schedule else schedule
    if not isinstance(schedule, dict):
        return {}
    found: dict[str, Any] = {}
    if schedule.get("repeatFrequency"):
        found["repeat_frequency"] = str(schedule["repeatFrequency"])
    days = schedule.get("byDay")
    if days:
        days = days if isinstance(days, list) else [days]
        found["repeat_days"] = [_schema_word(day).capitalize() for day in days]
    return found


class JsonLdSource(ClockedSource):
    """schema.org Events embedded in a page (see the module docstring)."""

    type_name: ClassVar[str] = "jsonld"
    default_interval_minutes: ClassVar[int] = 720

    def parse(self, body: bytes, url: str) -> ParseResult:
        """Upcoming and ongoing Events, earliest first; a page without JSON-LD fails."""
        now = self.clock.now()
        items: list[Opportunity] = []
        seen: set[str] = set()
        for block in json_ld_blocks(body):
            for event in walk_events(block):
                try:
                    item = self._item(event, url)
                except ValueError as error:
                    log.info("JSON-LD events %s: event skipped: %s", url, error)
                    continue
                if item is None or item.external_id in seen or _is_past(item, now):
                    continue
                seen.add(item.external_id)
                items.append(item)
        items.sort(key=lambda item: item.starts_at or datetime.min.replace(tzinfo=UTC))
        return ParseResult(items=items)

    def _item(self, event: dict[str, Any], url: str) -> Opportunity | None:
        title = _text_of(event.get("name"))
        if not title:
            raise ValueError("Event without a name")
        starts_at, all_day = _when(event.get("startDate"))
        if starts_at is None:
            raise ValueError(f"Event {title!r} without a readable startDate")
        status = _schema_word(event.get("eventStatus"))
        if status == "eventcancelled":
            return None
        ends_at, end_is_date = _when(event.get("endDate"))
        if ends_at is not None and (all_day or end_is_date):
            # schema.org's endDate of a date is inclusive: the event runs to that day's end.
            ends_at = datetime.combine(ends_at.date(), time(23, 59), tzinfo=UK)
        extra: dict[str, Any] = {"all_day": all_day, **_prices(event)}
        if _is_series(event, starts_at, ends_at):
            extra["recurring"] = True
            extra.update(_schedule(event))
            if ends_at is not None:
                extra["series_ends_at"] = ends_at.astimezone(UTC).isoformat()
            ends_at = None
        flags = [_FLAGGED_STATUSES[status]] if status in _FLAGGED_STATUSES else []
        location, virtual = _location(event)
        link = urljoin(url, str(event.get("url") or "").strip()) or url
        identity = str(event.get("@id") or "").strip() or (link if link != url else "")
        if not identity:
            key = f"{title}|{starts_at.isoformat()}"
            identity = hashlib.sha256(key.encode()).hexdigest()[:32]
        return Opportunity(
            source=self.config.name,
            external_id=identity,
            url=link,
            title=title,
            kind="event",
            funders=list(self.config.funders),
            starts_at=starts_at,
            ends_at=ends_at,
            location=location or None,
            online=_online(event, location, virtual),
            summary=trim_text(_text_of(event.get("description")), SUMMARY_CHARS),
            topics=list(self.config.topics),
            flags=flags,
            extra=extra,
        )


def _is_past(item: Opportunity, now: datetime) -> bool:
    """Over by ``now``: its series, its end, or (without an end) its start has passed."""
    series_end = item.extra.get("series_ends_at")
    if series_end:
        return datetime.fromisoformat(series_end) < now
    if item.ends_at is not None:
        return item.ends_at < now
    if item.extra.get("recurring"):
        return False  # an open-ended series (eventSchedule without an end) goes on
    assert item.starts_at is not None
    return item.starts_at < now
