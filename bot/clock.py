"""Where "now" comes from. Injected everywhere a timestamp is taken, so that tests can freeze
time and offline mode can replay the day the snapshots were captured.

Every clock returns aware UTC datetimes: deadlines are compared across time zones, and a
naive "now" would silently compare against UK local times.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "FrozenClock", "OffsetClock", "SystemClock"]


def _aware_utc(at: datetime) -> datetime:
    """``at`` in UTC; a naive value is refused because its zone would be a guess."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"clock instant must be timezone-aware, got naive {at!r}")
    return at.astimezone(UTC)


@runtime_checkable
class Clock(Protocol):
    """Anything with ``now()`` returning an aware UTC datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real wall clock, used by ``signpost run``."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def __repr__(self) -> str:
        return "SystemClock()"


class FrozenClock:
    """Time that moves only when a test says so, so assertions on timestamps are exact."""

    def __init__(self, at: datetime) -> None:
        self._at = _aware_utc(at)

    def now(self) -> datetime:
        return self._at

    def advance(self, delta: timedelta) -> datetime:
        """Move forward (or back, with a negative delta) and return the new instant."""
        self._at += delta
        return self._at

    def set(self, at: datetime) -> None:
        self._at = _aware_utc(at)

    def __repr__(self) -> str:
        return f"FrozenClock({self._at.isoformat()})"


class OffsetClock:
    """Starts at a fixed instant and then runs at real speed.

    Offline mode reads the snapshots' capture date: deadlines are then "in two weeks" exactly
    as they were that day, while intervals and backoff still elapse normally. Elapsed time is
    measured on a monotonic clock so that a wall-clock jump on the host cannot move it back.
    """

    def __init__(self, start: datetime, *, monotonic: Callable[[], float] = time.monotonic):
        self._start = _aware_utc(start)
        self._monotonic = monotonic
        self._origin = monotonic()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._monotonic() - self._origin)

    def __repr__(self) -> str:
        return f"OffsetClock(start={self._start.isoformat()})"
