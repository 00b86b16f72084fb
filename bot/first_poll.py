"""What this process has learnt of its sources since it started: the first poll round.

Until every source has been polled once, an empty answer means "not gathered yet", not
"nothing matches"; when every source's latest poll failed (no network, say), it means that.
The runtime records each poll's outcome here; the console reports the round when it ends,
and the core asks for a ``PollProgress`` when a search comes back empty.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from bot.core.context import PollProgress


class FirstPoll:
    """The latest outcome (failed or not) of each source this process polls."""

    def __init__(self, names: Iterable[str] = (), *, local: bool = False) -> None:
        self.names = frozenset(names)
        self.local = local  # no chat transport: the console on someone's own machine
        self._failed: dict[str, bool] = {}
        self.complete = asyncio.Event()  # every source polled (or found not due) once
        if not self.names:
            self.complete.set()

    def record(self, name: str, *, failed: bool) -> None:
        if name not in self.names:
            return
        self._failed[name] = failed
        if len(self._failed) == len(self.names):
            self.complete.set()

    def failures(self) -> list[str]:
        """The sources whose latest poll failed, by name."""
        return sorted(name for name, failed in self._failed.items() if failed)

    def progress(self) -> PollProgress:
        return PollProgress(
            total=len(self.names),
            checked=len(self._failed),
            failed=len(self.failures()),
            local=self.local,
        )
