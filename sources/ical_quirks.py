"""What real calendars do that RFC 5545 examples do not, kept apart from the feed parser.

- **Windows zone names.** Outlook/Exchange publish ``TZID=GMT Standard Time`` with a
  VTIMEZONE built from 1601 rules. icalendar turns that into a rule-based tzinfo named
  "GMT Standard Time", which gets the offsets right but is not a zone anyone else knows;
  times are put back into the IANA zone (Europe/London) with the same wall clock, using
  icalendar's own Windows-to-IANA table (from the Unicode CLDR).
- **Unfilled placeholders.** WordPress Events Manager exports ``LOCATION:#_LOCATIONNAME,
  #_LOCATIONFULLLINE, #_LOCATIONCOUNTRY`` for events without a venue: its template tags,
  never expanded. Parts starting ``#_`` are not a place.
- **Recurring events.** A series is expanded (with recurring-ical-events, which applies
  EXDATEs and moved instances) only within a window ahead of now, to find the sessions
  people can still go to; the parser keeps one item per series and says when it meets next.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import recurring_ical_events
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from sources.normalise import clean_text

log = logging.getLogger(__name__)

WINDOW = timedelta(days=90)


def iana_zone(tzid: str | None) -> ZoneInfo | None:
    """The IANA zone for a Windows zone name ("GMT Standard Time" -> Europe/London)."""
    if not tzid:
        return None
    name = WINDOWS_TO_OLSON.get(tzid.strip().strip('"'))
    return ZoneInfo(name) if name else None


def in_iana_zone(value: date | datetime, tzid: str | None) -> date | datetime:
    """``value`` with a Windows-named zone replaced by its IANA zone, same wall clock."""
    zone = iana_zone(tzid)
    if zone is None or not isinstance(value, datetime):
        return value
    return value.replace(tzinfo=zone)


def clean_location(text: str) -> str:
    """LOCATION without Events Manager's unexpanded ``#_…`` placeholders."""
    parts = [part.strip() for part in clean_text(text).split(",")]
    return ", ".join(part for part in parts if part and not part.startswith("#_"))


def upcoming_starts(
    calendar: Any, now: datetime, window: timedelta = WINDOW
) -> dict[str, list[datetime]]:
    """UID -> the starts of its recurring occurrences in ``[now, now + window]``, in order.

    A calendar that the expander cannot read gives nothing (each series then falls back to
    its first instance) rather than failing the whole feed.
    """
    recurring = {
        str(event.get("UID", "")).strip()
        for event in calendar.walk("VEVENT")
        if event.get("RRULE") is not None or event.get("RDATE") is not None
    }
    if not recurring:
        return {}
    starts: dict[str, list[datetime]] = defaultdict(list)
    try:
        occurrences = recurring_ical_events.of(calendar).between(now, now + window)
    except Exception as error:  # the library raises several kinds on odd calendars
        log.info("calendar recurrences not expanded: %s", error)
        return {}
    for occurrence in occurrences:
        uid = str(occurrence.get("UID", "")).strip()
        if uid not in recurring:
            continue  # a one-off event, read as itself
        start = occurrence.decoded("DTSTART")
        tzid = occurrence["DTSTART"].params.get("TZID")
        starts[uid].append(in_iana_zone(start, tzid))  # type: ignore[arg-type]
    return {uid: sorted(values, key=_sort_key) for uid, values in starts.items()}


def _sort_key(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=ZoneInfo("Europe/London"))
    return datetime.combine(value, datetime.min.time(), tzinfo=ZoneInfo("Europe/London"))
