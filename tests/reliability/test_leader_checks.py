"""The leader's own checks, in one process with a lock the test can take away (issue 13,
point 6): a Telegram leader stops long polling when its lock cannot be confirmed and asks
again; a new Telegram leader waits ``takeover_grace`` before its first getUpdates; a Slack
Socket Mode leader closes its socket when its lock cannot be confirmed."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import bot.telegram.lifecycle as lifecycle
from bot.runtime import build_runtime
from bot.slack.lifecycle import SocketLeader
from storage.locks import Held
from storage.store import Store
from tests.helpers.fake_telegram import FakeTelegramServer, TelegramLimits
from tests.reliability.support import FAST_SENDING
from tests.telegram.support import settings_for, until


class Revocable(Held):
    """A granted lock whose ``confirm()`` says what the test decides."""

    async def confirm(self, within: float = 1.5) -> bool:
        return self.still_ours


class Locks:
    """Stands in for ``storage.locks.hold``: grants every ask, remembers each grant."""

    def __init__(self) -> None:
        self.grants: list[tuple[float, Revocable]] = []

    @contextlib.asynccontextmanager
    async def hold(self, database: object, name: str) -> AsyncIterator[Held]:
        held = Revocable(name, True)
        held.still_ours = True
        self.grants.append((time.monotonic(), held))
        yield held

    def revoke(self) -> None:
        self.grants[-1][1].still_ours = False


@pytest.fixture(autouse=True)
def _timedelta_durations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


async def test_a_telegram_leader_that_cannot_confirm_stops_and_asks_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    locks = Locks()
    monkeypatch.setattr(lifecycle, "hold", locks.hold)
    store = Store.from_url(f"sqlite:///{tmp_path / 'signpost.db'}")
    await store.upgrade()
    async with FakeTelegramServer(limits=TelegramLimits(enabled=False)) as fake:
        runtime = await build_runtime(settings_for(fake), store, offline=True, stop=asyncio.Event())
        stop = await lifecycle.start_telegram(runtime, send_limits=FAST_SENDING, retry_seconds=0.2)
        transport: lifecycle.TelegramTransport = stop.__self__  # type: ignore[attr-defined]
        try:
            await until(lambda: transport.leading and fake.calls_to("getUpdates"))
            granted_at, _ = locks.grants[0]
            first_poll = fake.calls_to("getUpdates")[0].time
            assert first_poll - granted_at >= transport.takeover_grace  # the old leader's time

            locks.revoke()
            revoked_at = time.monotonic()
            await until(lambda: not transport.leading, seconds=3)
            stopped_at = time.monotonic()
            assert stopped_at - revoked_at < transport.confirm_seconds + 1.0
            assert not transport.application.updater.running  # no long poll of ours now
            await until(lambda: len(locks.grants) == 2, seconds=3)  # it asks again...
            await until(lambda: transport.leading)  # ...and, granted, leads after the grace
            second_grant, _ = locks.grants[1]
            polls = [c.time for c in fake.calls_to("getUpdates")]
            # Between stopping and the second grant's grace, no getUpdates was sent (the
            # last one at stop, with timeout 0, is PTB marking updates read).
            quiet = [t for t in polls if stopped_at < t < second_grant + transport.takeover_grace]
            assert quiet == []
        finally:
            await stop()
            await runtime.http.aclose()
            await store.close()


async def test_a_slack_leader_that_cannot_confirm_closes_its_socket_and_asks_again() -> None:
    locks = Locks()
    events: list[str] = []

    async def connect():
        events.append("connect")

        async def close() -> None:
            events.append("close")

        return close

    leader = SocketLeader(None, connect, lock=locks.hold, retry=0.05, check_every=0.02)
    task = asyncio.create_task(leader.run())
    try:
        await until(lambda: leader.leading)
        locks.revoke()
        await until(lambda: events.count("connect") == 2)
        assert events == ["connect", "close", "connect"]
        assert len(locks.grants) == 2
    finally:
        leader.stopping.set()
        await asyncio.wait_for(task, 2)
    assert events[-1] == "close"


def test_the_documented_takeover_figures() -> None:
    """docs/OPERATOR_GUIDE.md: the leader confirms every second, a new one waits 3 s."""
    assert lifecycle.CONFIRM_SECONDS == 1.0
    grace = lifecycle.CONFIRM_SECONDS + lifecycle.CONFIRM_TIMEOUT + lifecycle.STOP_MARGIN
    assert grace == 3.0
