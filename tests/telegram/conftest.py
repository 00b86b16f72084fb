"""Fixtures shared by the tests in this folder (moved from test_telegram.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.runtime import Runtime, build_runtime
from bot.telegram.lifecycle import TelegramTransport, start_telegram
from storage.store import Store
from tests.helpers.fake_telegram import FakeTelegramServer, TelegramLimits
from tests.helpers.limits import UNTHROTTLED_TELEGRAM as FAST
from tests.telegram.support import (
    settings_for,
)


@pytest.fixture(autouse=True)
def _timedelta_durations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer(limits=TelegramLimits(enabled=False)) as server:
        yield server


@pytest.fixture
async def runtime(store: Store, fake: FakeTelegramServer) -> AsyncIterator[Runtime]:
    built = await build_runtime(settings_for(fake), store, offline=True, stop=asyncio.Event())
    yield built
    await built.http.aclose()


@pytest.fixture
async def transport(runtime: Runtime) -> AsyncIterator[TelegramTransport]:
    stop = await start_telegram(runtime, send_limits=FAST, retry_seconds=0.2)
    yield stop.__self__  # type: ignore[attr-defined]
    await stop()
