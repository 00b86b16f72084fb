"""iCalendar feeds: charity event calendars, configured from the sources file without code.

Many charities publish events with WordPress and The Events Calendar, whose export lives at
``/events/?ical=1``. Each VEVENT becomes an opportunity of kind "event" with aware start and
end times:

- ``TZID=Europe/London`` (or any zone the system knows) and UTC (``Z``) are kept as given;
- floating times and zones nobody knows (``TZID=UTC+1`` without a usable VTIMEZONE comes out
  naive) are read as UK local time, which is what a UK charity means by them;
- all-day events (``VALUE=DATE``) run from 00:00 on their first day to 23:59 on their last,
  UK time (DTEND of a date is exclusive in RFC 5545).

Recurring events give one item, not fifty-two: a weekly peer-support group is one
opportunity to mention. The series is expanded within a window ahead of the parse time
(``sources.ical_quirks``): the item starts at the next session and lists the ones after it in
``extra["next_starts"]``; a series with no session in the window keeps its first instance.
Overridden instances (RECURRENCE-ID) are not separate items. Cancelled events
(STATUS:CANCELLED) are skipped. Windows zone names (Outlook) are read as their IANA zone, and
Events Manager's unexpanded ``#_…`` LOCATION placeholders as no location.
"""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, ClassVar

import icalendar
from bs4 import BeautifulSoup

from bot.core.model import Opportunity
from sources.base import ClockedSource, ParseError, ParseResult
from sources.ical_quirks import clean_location, in_iana_zone, upcoming_starts
from sources.normalise import UK, clean_text, trim_text
from sources.rss import SUMMARY_CHARS, html_to_text

log = logging.getLogger(__name__)

# Where an event is online: broad words in LOCATION, narrower phrases in the description
# (where "book online" or "our teams" would mislead), and meeting hosts in URLs.
_ONLINE_LOCATION = re.compile(
    r"\b(online|zoom|teams|webinar|virtual|remote|google\s+meet|livestream)\b", re.IGNORECASE
)
_ONLINE_DESCRIPTION = re.compile(
    r"\b(zoom|microsoft\s+teams|teams\s+(?:meeting|link|call)|webinar|virtual\s+event|"
    r"online\s+(?:event|session|meeting|workshop|webinar|seminar|conference|talk|launch)|"
    r"(?:held|hosted|takes\s+place|running|delivered|join\s+us)\s+online|via\s+zoom)\b",
    re.IGNORECASE,
)
_ONLINE_URL = re.compile(r"zoom\.us|teams\.microsoft|teams\.live|meet\.google|webinar", re.I)
_URL_IN_TEXT = re.compile(r"https?://[^\s<>\"')\]]+")


def _aware(value: date | datetime) -> datetime:
    """A DTSTART/DTEND value as an aware datetime; floating means UK local time."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UK)
    return datetime.combine(value, time(0, 0), tzinfo=UK)


def _decoded(component: Any, name: str) -> Any:
    try:
        value = component.decoded(name)
    except (KeyError, ValueError):
        return None
    params = getattr(component.get(name), "params", None) or {}
    return in_iana_zone(value, params.get("TZID")) if isinstance(value, datetime) else value


def _text(component: Any, name: str) -> str:
    value = component.get(name)
    return str(value) if value is not None else ""


def event_times(event: Any) -> tuple[datetime, datetime | None, bool]:
    """(starts_at, ends_at, all_day) of a VEVENT; raises ``ValueError`` without DTSTART."""
    start = _decoded(event, "DTSTART")
    if start is None:
        raise ValueError("VEVENT without DTSTART")
    end = _decoded(event, "DTEND")
    if end is None:
        duration = _decoded(event, "DURATION")
        end = start + duration if isinstance(duration, timedelta) else None
    if not isinstance(start, datetime):
        # All day: DTEND is the (exclusive) next day, or absent for a one-day event.
        end_day = end.date() if isinstance(end, datetime) else end
        last_day = end_day - timedelta(days=1) if end_day and end_day > start else start
        ends = datetime.combine(last_day, time(23, 59), tzinfo=UK)
        return _aware(start), ends, True
    return _aware(start), _aware(end) if end is not None else None, False


_LISTED_STARTS = 13  # the next session plus a quarter of weekly ones


def _moved_to(
    start: date | datetime, first: datetime, end: datetime | None, all_day: bool
) -> tuple[datetime, datetime | None]:
    """(start, end) of a series' session at ``start``, as long as its first session was."""
    if all_day:
        moved = _aware(start)
        if end is None:
            return moved, None
        days = (end.date() - first.date()).days
        return moved, datetime.combine(moved.date() + timedelta(days=days), end.time(), tzinfo=UK)
    moved = _aware(start)
    return moved, (moved + (end - first)) if end is not None else None


def is_online(location: str, description: str, url: str) -> bool | None:
    """True when the event says it is online; False when it names only a place; else None."""
    if (
        _ONLINE_LOCATION.search(location)
        or _ONLINE_DESCRIPTION.search(description)
        or _ONLINE_URL.search(url)
    ):
        return True
    return False if location else None


def _first_link(raw_description: str, text: str) -> str | None:
    if "<a" in raw_description:
        anchor = BeautifulSoup(raw_description, "lxml").find("a", href=True)
        if anchor is not None:
            return str(anchor["href"])
    match = _URL_IN_TEXT.search(text)
    return match.group(0).rstrip(".,;") if match else None


class IcalSource(ClockedSource):
    """An iCalendar feed of events (see the module docstring for how times are read)."""

    type_name: ClassVar[str] = "ical"
    default_interval_minutes: ClassVar[int] = 720

    def parse(self, body: bytes, url: str) -> ParseResult:
        """VEVENTs to opportunities, earliest first; a non-calendar body is a ``ParseError``."""
        if not body.lstrip(b"\xef\xbb\xbf \t\r\n").upper().startswith(b"BEGIN:VCALENDAR"):
            raise ParseError("not an iCalendar file (no BEGIN:VCALENDAR): HTML page or error?")
        try:
            calendar = icalendar.Calendar.from_ical(body)
        except ValueError as error:
            raise ParseError(f"iCalendar file could not be read: {error}") from error
        items: list[Opportunity] = []
        seen: set[str] = set()
        next_starts = upcoming_starts(calendar, self.clock.now())
        for event in calendar.walk("VEVENT"):
            if event.get("RECURRENCE-ID") is not None:
                continue
            if _text(event, "STATUS").upper() == "CANCELLED":
                continue
            try:
                item = self._item(event, url, next_starts)
            except ValueError as error:
                log.info("calendar %s: event skipped: %s", url, error)
                continue
            if item.external_id not in seen:
                seen.add(item.external_id)
                items.append(item)
        items.sort(key=lambda item: item.starts_at or datetime.min.replace(tzinfo=UK))
        return ParseResult(items=items)

    def _item(
        self, event: Any, url: str, next_starts: dict[str, list[datetime]] | None = None
    ) -> Opportunity:
        title = clean_text(_text(event, "SUMMARY"))
        if not title:
            raise ValueError("VEVENT without SUMMARY")
        starts_at, ends_at, all_day = event_times(event)
        raw_description = _text(event, "DESCRIPTION")
        description = html_to_text(raw_description)
        location = clean_location(_text(event, "LOCATION"))
        link = _text(event, "URL").strip() or _first_link(raw_description, description) or url
        uid = _text(event, "UID").strip()
        if not uid:
            # Without a UID, title and start identify the event across polls.
            uid = hashlib.sha256(f"{title}|{starts_at.isoformat()}".encode()).hexdigest()[:32]
        extra: dict[str, Any] = {"all_day": all_day}
        if event.get("RRULE") is not None or event.get("RDATE") is not None:
            extra["recurring"] = True
            upcoming = (next_starts or {}).get(_text(event, "UID").strip())
            if upcoming:
                starts_at, ends_at = _moved_to(upcoming[0], starts_at, ends_at, all_day)
                later = upcoming[1:_LISTED_STARTS]
                extra["next_starts"] = [
                    _aware(start).astimezone(UTC).isoformat() for start in later
                ]
        return Opportunity(
            source=self.config.name,
            external_id=uid,
            url=link,
            title=title,
            kind="event",
            funders=list(self.config.funders),
            starts_at=starts_at,
            ends_at=ends_at,
            location=location or None,
            online=is_online(location, description, link),
            summary=trim_text(description, SUMMARY_CHARS),
            topics=list(self.config.topics),
            extra=extra,
        )
