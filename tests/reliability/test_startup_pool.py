"""Forty sources polled at start on PostgreSQL: no pool error, and commands still answered
(issue 13, point 1).

Before, each poll held a pooled connection for its advisory lock for the whole poll and needed
a second one for its writes, so fifteen polls at once drained the ten-connection pool: polls
failed with "QueuePool limit of size 5 overflow 5 reached" and a /help waited 30 s. Now locks
live on their own session and at most ``SIGNPOST_MAX_CONCURRENT_POLLS`` polls run at once. How
fast the command is answered is measured by ``bench/startup.py``, not here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.databases import require_postgres
from tests.reliability.support import StartupRig

pytestmark = pytest.mark.postgres

SOURCES = 40


@pytest.fixture(autouse=True)
def _timedelta_durations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
def postgres_url() -> str:
    return require_postgres()


async def test_forty_sources_at_start_leave_the_pool_to_commands(
    postgres_url: str, tmp_path: Path
) -> None:
    async with StartupRig(postgres_url, tmp_path, sources=SOURCES) as rig:
        slots = rig.runtime.settings.max_concurrent_polls
        capacity = rig.store.database.capacity
        rig.start_polls()
        await rig.feeds_requested(slots)  # the start burst is under way
        await rig.ask(5, "/help")
        await rig.ask(6, "/deadlines")  # a command that reads the database
        running = rig.polls_running
        reports = await rig.finish_polls()
        overlap = rig.feeds_at_once()
        peak, errors = rig.peak, rig.pool_errors

    assert rig.answer(5).startswith("What I can do:")
    assert "Sorry, something went wrong" not in rig.answer(6)
    assert running > 0, "the commands were only answered once the polls had finished"
    assert errors == 0
    assert len(reports) == SOURCES
    assert [r.source for r in reports if r is None or r.outcome != "ok"] == []
    assert sum(r.new for r in reports) == 3 * SOURCES
    assert 1 < overlap <= slots  # slow sites: polls overlapped, within the bound
    # Polls take one pooled connection at a time each, commands the rest: never all of it.
    assert peak <= slots + 2 < capacity
