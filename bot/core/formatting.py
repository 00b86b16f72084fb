"""Human wording for dates, money and reasons, in the chat's time zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.core.model import Opportunity


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "Europe/London")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("Europe/London")


def when(value: datetime | None, tz: str | None = None, *, with_time: bool = True) -> str:
    """``16 Jun 2026, 4:00pm`` in the chat's zone; midnight times are shown as dates only."""
    if value is None:
        return "no date"
    local = value.astimezone(zone(tz))
    day = f"{local.day} {local:%b %Y}"
    if not with_time or (local.hour, local.minute) == (0, 0):
        return day
    hour = local.hour % 12 or 12
    return f"{day}, {hour}:{local.minute:02d}{'am' if local.hour < 12 else 'pm'}"


def money(pence: int | None) -> str:
    """``£5m``, ``£250k``, ``£1,500``: short enough for a chat line."""
    if pence is None:
        return ""
    pounds = pence / 100
    if pounds >= 999_500:  # what would round to "£1000k" is "£1m"
        value = f"{pounds / 1_000_000:.1f}".rstrip("0").rstrip(".")
        return f"£{value}m"
    if pounds >= 10_000:
        # "£12.5k", not a rounded "£12k"; past £100k the half thousand no longer matters
        places = 1 if pounds < 100_000 else 0
        return "£" + f"{pounds / 1000:.{places}f}".removesuffix(".0") + "k"
    return f"£{pounds:,.0f}"


def money_range(low: int, high: int) -> str:
    """``£5k–£20k``, ``£500–£20,000``, ``£250k–£1.5m``: both ends abbreviated alike, so a
    range never reads "£5,000–£20k"."""
    pounds_low, pounds_high = low / 100, high / 100
    if pounds_low < 10_000 <= pounds_high < 1_000_000:
        if pounds_low < 1000:  # "£0.5k" reads badly: write both in full
            return f"£{pounds_low:,.0f}–£{pounds_high:,.0f}"
        value = f"{pounds_low / 1000:.1f}".rstrip("0").rstrip(".")
        return f"£{value}k–{money(high)}"
    return f"{money(low)}–{money(high)}"


def amount_line(item: Opportunity) -> str:
    low, high, total = item.award_min_pence, item.award_max_pence, item.total_fund_pence
    if low and high and low != high:
        text = f"{money_range(low, high)} per award"
    elif high:
        text = f"up to {money(high)} per award"
    elif low:
        text = f"from {money(low)}"
    else:
        text = ""
    if total:
        text = f"{text} · {money(total)} in total" if text else f"{money(total)} in total"
    return text


def plural(count: int, one: str, many: str | None = None) -> str:
    """``1 subscription``, ``2 subscriptions``, ``0 failures``: the count with its noun."""
    return f"{count} {one if count == 1 else (many or one + 's')}"


def shorten(text: str, limit: int = 60) -> str:
    """``text`` cut at a word to at most ``limit`` characters, with an ellipsis if cut: for
    echoing what someone typed without echoing all of it."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0] if " " in text[: limit - 1] else text[: limit - 1]
    return cut + "…"


def deadline_line(item: Opportunity, tz: str | None = None) -> str:
    """When it starts (an event), or opens and closes: "Opens 28 Apr 2026 · Closes …".
    An item not open yet always says when it opens, or that it is not open yet."""
    if item.kind == "event" and item.starts_at:
        return f"Starts {when(item.starts_at, tz)}"
    parts = []
    if item.status == "upcoming":
        parts.append(f"Opens {when(item.opens_at, tz)}" if item.opens_at else "Not open yet")
    if item.closes_at:
        parts.append(f"Closes {when(item.closes_at, tz)}")
    elif "closing_date_tbc" in item.flags:
        parts.append("Closing date to be confirmed")
    elif "no_closing_date" in item.flags:
        parts.append("No closing date" if parts else "Open, no closing date")
    return " · ".join(parts)


def funders_line(item: Opportunity) -> str:
    return ", ".join(item.funders[:4]) + (" and others" if len(item.funders) > 4 else "")
