"""Fixtures for the fakes' own tests; other suites use the async context managers directly."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.helpers.fake_slack import FakeSlackServer
from tests.helpers.fake_telegram import FakeTelegramServer, ManualClock


@pytest.fixture
def clock() -> ManualClock:
    """Rate-limit tests move this clock instead of sleeping."""
    return ManualClock()


@pytest.fixture
async def telegram(clock: ManualClock) -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer(clock=clock) as server:
        yield server


@pytest.fixture
async def slack(clock: ManualClock) -> AsyncIterator[FakeSlackServer]:
    async with FakeSlackServer(clock=clock) as server:
        yield server
