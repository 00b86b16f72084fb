"""Status is a function of the clock: open, upcoming or closed *now*, never as stored.

The ``status`` column is written when an item is stored and corrected only by the
close-expired job, so a row can say "open" for half an hour after its deadline, or for ever
after an offline replay of an older day. Everything a user or the JSON sees therefore goes
through ``status_at``; the stored value only serves as a coarse index (and keeps what a page
said, such as "paused", that no date can tell).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from bot.core.model import Opportunity
from sources.normalise import derive_status


def event_end(item: Opportunity) -> datetime | None:
    """When an event is over: its end, or its start when it gives no end."""
    if item.kind != "event":
        return None
    return item.ends_at or item.starts_at


def status_at(item: Opportunity, now: datetime) -> str:
    """``open``, ``upcoming`` or ``closed`` at ``now``, from the item's dates and, where the
    dates cannot tell, its stored (stated) status."""
    return derive_status(now, item.opens_at, item.closes_at, item.status, ends_at=event_end(item))


def as_of(items: Iterable[Opportunity], now: datetime) -> list[Opportunity]:
    """Set each item's ``status`` to its status at ``now`` (in place) and return the items:
    done where stored items enter a reply or the JSON, so what is shown is true today."""
    items = list(items)
    for item in items:
        item.status = status_at(item, now)
    return items
