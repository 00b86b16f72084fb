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
    if pounds >= 1_000_000:
        value = f"{pounds / 1_000_000:.1f}".rstrip("0").rstrip(".")
        return f"£{value}m"
    if pounds >= 10_000:
        return f"£{pounds / 1000:.0f}k"
    return f"£{pounds:,.0f}"


def amount_line(item: Opportunity) -> str:
    low, high, total = item.award_min_pence, item.award_max_pence, item.total_fund_pence
    if low and high and low != high:
        text = f"{money(low)}–{money(high)} per award"
    elif high:
        text = f"up to {money(high)} per award"
    elif low:
        text = f"from {money(low)}"
    else:
        text = ""
    if total:
        text = f"{text} · {money(total)} in total" if text else f"{money(total)} in total"
    return text


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
