"""Turning what funders write into typed values: UK dates, money, kinds, URLs.

Everything here is pure and works on *text* (already extracted from HTML by a parser). Dates
written on UK sites are UK local time; they become aware datetimes in Europe/London, so a
"4:00pm" in June is 15:00 UTC and in December 16:00 UTC.
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from sources.scrub import plausible_pence, scrub_text

UK = ZoneInfo("Europe/London")

MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sept", "sep"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
_DAY_MONTH_YEAR = re.compile(
    rf"\b(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<month>{_MONTH})\.?,?\s+(?P<year>\d{{4}})\b",
    re.IGNORECASE,
)
_MONTH_DAY_YEAR = re.compile(
    rf"\b(?P<month>{_MONTH})\.?\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<year>\d{{4}})\b",
    re.IGNORECASE,
)
_MONTH_YEAR = re.compile(rf"\b(?P<month>{_MONTH})\.?\s+(?P<year>\d{{4}})\b", re.IGNORECASE)
_ISO_DATE = re.compile(r"\b(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})\b")
_NUMERIC_DATE = re.compile(r"\b(?P<day>\d{1,2})/(?P<month>\d{1,2})/(?P<year>\d{4})\b")
_TIME_12H = re.compile(
    r"\b(?P<hour>\d{1,2})(?:[:.](?P<minute>\d{2}))?\s*(?P<ampm>[ap])\.?m\b\.?", re.IGNORECASE
)
_TIME_24H = re.compile(r"\b(?P<hour>[01]?\d|2[0-3])[:.](?P<minute>[0-5]\d)\b(?!\s*[ap]\.?m)")
_NOON = re.compile(r"\b(noon|midday)\b", re.IGNORECASE)
_MIDNIGHT = re.compile(r"\bmidnight\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ParsedDate:
    """A date read from text; ``precision`` is "minute", "day" or "month"."""

    value: datetime
    precision: str


def uk_local(naive: datetime) -> datetime:
    """Attach UK local time to a naive datetime (BST or GMT as the date requires)."""
    return naive.replace(tzinfo=UK)


def parse_iso_datetime(value: str | None, *, naive_zone: ZoneInfo = UK) -> datetime | None:
    """Parse an ISO 8601 attribute; one without an offset is taken as UK local time."""
    if not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=naive_zone)
    return parsed


def _time_of_day(text: str) -> time | None:
    if _NOON.search(text):
        return time(12, 0)
    if _MIDNIGHT.search(text):
        return time(23, 59)
    match = _TIME_12H.search(text)
    if match:
        hour = int(match["hour"]) % 12
        if match["ampm"].lower() == "p":
            hour += 12
        minute = int(match["minute"] or 0)
        if hour < 24 and minute < 60:
            return time(hour, minute)
    match = _TIME_24H.search(text)
    if match:
        return time(int(match["hour"]), int(match["minute"]))
    return None


def _last_day(year: int, month: int) -> int:
    following = datetime(year + month // 12, month % 12 + 1, 1)  # noqa: DTZ001 - calendar maths
    return (following - timedelta(days=1)).day


def parse_uk_date(
    text: str | None, *, default_time: time = time(0, 0), month_end: bool = False
) -> ParsedDate | None:
    """Read the first date in UK text, with its time of day when one is given.

    Handles "16 September 2026 at 1:00 pm", "5pm on 14th June 2024", "Wednesday 8 May 2024",
    "17 June 2026 11:00am UK time", "2026-06-16", "16/06/2026" and "November 2026" (the first,
    or with ``month_end`` the last, day of that month).
    """
    if not text:
        return None
    text = html.unescape(text).replace("\xa0", " ")
    day = month = year = None
    precision = "day"
    for pattern in (_DAY_MONTH_YEAR, _MONTH_DAY_YEAR, _ISO_DATE, _NUMERIC_DATE):
        match = pattern.search(text)
        if match:
            raw_month = match["month"]
            month = int(raw_month) if raw_month.isdigit() else MONTHS[raw_month.lower()]
            day, year = int(match["day"]), int(match["year"])
            rest = text[: match.start()] + " " + text[match.end() :]
            break
    else:
        match = _MONTH_YEAR.search(text)
        if not match:
            return None
        month, year = MONTHS[match["month"].lower()], int(match["year"])
        day = _last_day(year, month) if month_end else 1
        precision, rest = "month", ""
    clock = _time_of_day(rest) if precision == "day" else None
    if clock is not None:
        precision = "minute"
    try:
        naive = datetime.combine(datetime(year, month, day), clock or default_time)  # noqa: DTZ001
    except ValueError:
        return None
    return ParsedDate(uk_local(naive), precision)


def parse_uk_datetime(text: str | None, **kwargs) -> datetime | None:
    """``parse_uk_date`` returning just the aware datetime (or None)."""
    parsed = parse_uk_date(text, **kwargs)
    return parsed.value if parsed else None


# ---------------------------------------------------------------- money
_AMOUNT = re.compile(
    r"£\s*(?P<number>\d[\d,]*(?:\.\d+)?)\s*(?P<unit>million|billion|thousand|mn|bn|m|k)?\b",
    re.IGNORECASE,
)
_UNITS = {"thousand": 1_000, "k": 1_000, "million": 1_000_000, "m": 1_000_000, "mn": 1_000_000}
_UNITS |= {"billion": 1_000_000_000, "bn": 1_000_000_000}
_UP_TO = re.compile(r"\b(up\s+to|maximum(?:\s+of)?|max\.?|no\s+more\s+than|until)\s*:?\s*£", re.I)
_AT_LEAST = re.compile(r"\b(at\s+least|minimum(?:\s+of)?|min\.?|from)\s*:?\s*£", re.I)


_MAX_DIGITS = 16  # "£" then 400 nines is no sum; Decimal would take it, but why work it out


@dataclass(frozen=True, slots=True)
class MoneyRange:
    """An amount or a range in pence; a single figure has ``low == high``."""

    low: int | None
    high: int | None


def _pence(match: re.Match[str]) -> int | None:
    """The sum in pence; None for one past ``MAX_PLAUSIBLE_PENCE``. Decimal, not float:
    a float of 400 nines is infinity, and rounding infinity raises."""
    digits = match["number"].replace(",", "")
    if len(digits.partition(".")[0]) > _MAX_DIGITS:
        return None
    try:
        number = Decimal(digits)
    except InvalidOperation:
        return None
    unit = (match["unit"] or "").lower()
    return plausible_pence(int((number * _UNITS.get(unit, 1) * 100).to_integral_value()))


def parse_money(text: str | None) -> MoneyRange | None:
    """Read "£5,000,000", "£25,000 - £50,000", "up to £5 million", "£300 to £20,000"."""
    if not text:
        return None
    text = html.unescape(text).replace("\xa0", " ")
    values = [pence for m in _AMOUNT.finditer(text) if (pence := _pence(m)) is not None]
    if not values:
        return None
    if len(values) >= 2:
        return MoneyRange(min(values[:2]), max(values[:2]))
    if _UP_TO.search(text):
        return MoneyRange(None, values[0])
    if _AT_LEAST.search(text):
        return MoneyRange(values[0], None)
    return MoneyRange(values[0], values[0])


def parse_amount(text: str | None) -> int | None:
    """The first sum of money in the text, in pence."""
    money = parse_money(text)
    if money is None:
        return None
    return money.high if money.high is not None else money.low


# ---------------------------------------------------------------- kinds and status
_INTERNSHIP = re.compile(
    r"\b(internships?|interns?|placements?|studentships?|traineeships?|graduate scheme|"
    r"work experience|summer schools?|phd positions?)\b",
    re.IGNORECASE,
)
_EVENT = re.compile(
    r"\b(webinars?|workshops?|conferences?|networking|seminars?|briefings?|"
    r"symposi(?:um|a)|sandpits?|roadshows?|drop-in|info(?:rmation)? sessions?|events?)\b",
    re.IGNORECASE,
)


def infer_kind(title: str, summary: str = "", default: str = "call") -> str:
    """The kind an item is, from the source's default and what its title says.

    An internship word in the title always wins (studentship feeds mix in calls); event
    words only move items that were not already calls, since calls often mention webinars.
    """
    if _INTERNSHIP.search(title):
        return "internship"
    if default in ("news", "event") and _EVENT.search(title):
        return "event"
    if default == "news" and _INTERNSHIP.search(summary):
        return "internship"
    return default


def stated_status(stated: str | None) -> str:
    """What a page's own words (or a stored status) say: ``closed``, ``upcoming`` or ``open``."""
    word = (stated or "").strip().lower()
    if word.startswith(("closed", "paused", "awarded")):
        return "closed"
    if word.startswith(("upcoming", "opening soon", "forthcoming", "pre-announce")):
        return "upcoming"
    return "open"


def derive_status(
    now: datetime,
    opens_at: datetime | None,
    closes_at: datetime | None,
    stated: str | None = None,
    *,
    ends_at: datetime | None = None,
) -> str:
    """``upcoming``/``open``/``closed`` at ``now``: the one rule, used at parse, at ingest and
    whenever a stored item is shown (``bot.core.status.status_at``).

    A passed closing time (or ``ends_at``, an event's end) closes it whatever the page says; a
    page that says "closed" (paused, awarded) before its date is believed; a known opening
    date then decides between upcoming and open, and only without one does "opening soon"
    count. The SQL of ``storage/repos/search.py`` applies the same rule to stored rows.
    """
    if closes_at is not None and closes_at <= now:
        return "closed"
    if ends_at is not None and ends_at <= now:
        return "closed"
    said = stated_status(stated)
    if said == "closed":
        return "closed"
    if opens_at is not None:
        return "upcoming" if opens_at > now else "open"
    return said


# ---------------------------------------------------------------- identity
_TRACKING = ("utm_", "mc_", "_hs", "hsa_")
_TRACKING_KEYS = {"fbclid", "gclid", "dclid", "msclkid", "_ga", "ref", "source"}


def canonical_url(url: str) -> str:
    """The URL without tracking parameters, fragment, default ports or a trailing slash."""
    parts = urlsplit(url.strip())
    query = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if key.lower() not in _TRACKING_KEYS and not key.lower().startswith(_TRACKING)
    ]
    host = (parts.hostname or "").lower()
    if host.startswith("www."):
        host = host[4:]
    if parts.port and parts.port not in (80, 443):
        host = f"{host}:{parts.port}"
    path = parts.path.rstrip("/") or "/"
    scheme = "https" if parts.scheme in ("http", "https") else parts.scheme
    return urlunsplit((scheme, host, path, urlencode(sorted(query)), ""))


def normalise_title(title: str) -> str:
    """Case-folded words of a title, so that re-posted copies compare equal."""
    words = re.findall(r"[a-z0-9]+", html.unescape(title).casefold())
    return " ".join(words)


def fingerprint(title: str, closes_at: datetime | None) -> str:
    """Title plus closing day: the same call re-posted elsewhere has the same print."""
    day = closes_at.astimezone(UK).date().isoformat() if closes_at else ""
    digest = hashlib.sha256(f"{normalise_title(title)}|{day}".encode())
    return digest.hexdigest()[:32]


def clean_text(text: str | None) -> str:
    """Collapse whitespace and entities in text taken from a page."""
    if not text:
        return ""
    return " ".join(scrub_text(html.unescape(text)).replace("\xa0", " ").split())


# ---------------------------------------------------------------- text of a page
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
# Longest first, so that "briefing webinar" wins over "webinar" in the same sentence.
ANNOUNCED_EVENTS = (
    "briefing webinar",
    "information webinar",
    "applicant webinar",
    "information session",
    "briefing session",
    "briefing event",
    "information event",
    "networking event",
    "drop-in session",
    "webinar",
)


@dataclass(frozen=True, slots=True)
class DatedMention:
    """A sentence that names an event (``phrase``, as written in ``ANNOUNCED_EVENTS``) and
    the day it happens."""

    phrase: str
    sentence: str
    when: ParsedDate


def trim_text(text: str, limit: int) -> str:
    """``text`` cut at a word boundary within ``limit`` characters, "…" marking the cut."""
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(" ,;:") + "…"


def dated_mentions(text: str, phrases: tuple[str, ...] = ANNOUNCED_EVENTS) -> list[DatedMention]:
    """Sentences of ``text`` naming one of ``phrases`` with a date to the day: the webinars
    and information sessions funders announce only inside a call's own text.

    The date after the phrase is preferred, so that in "The deadline is 16 June 2026; a
    webinar on 14 May 2026 explains it" the webinar is on 14 May. A month alone is no date.
    """
    found = []
    for sentence in _SENTENCE_END.split(clean_text(text)):
        lowered = sentence.casefold()
        phrase = next((p for p in phrases if p in lowered), None)
        if phrase is None:
            continue
        when = parse_uk_date(sentence[lowered.index(phrase) :]) or parse_uk_date(sentence)
        if when is not None and when.precision != "month":
            found.append(DatedMention(phrase, sentence, when))
    return found
