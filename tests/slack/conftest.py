"""Fixtures shared by the tests in this folder (moved from test_slack.py)."""

from __future__ import annotations

import asyncio

import pytest

from bot.runtime import build_runtime
from bot.slack.lifecycle import build_app
from tests.helpers.fake_slack import (
    DEFAULT_SIGNING_SECRET,
    FakeSlackServer,
    slack_client,
)
from tests.slack.support import (
    Slack,
    settings_for,
)


@pytest.fixture
async def server():
    async with FakeSlackServer() as fake:
        yield fake


@pytest.fixture
async def runtime(store):
    built = await build_runtime(settings_for(), store, offline=True, stop=asyncio.Event())
    yield built
    await built.http.aclose()


@pytest.fixture
async def polled(runtime):
    """The runtime after one offline poll of every source. On PostgreSQL the per-source
    poll lock is server-wide, so a poll in another test process can make ours skip a
    source: poll what is missing until each has been polled once."""
    pending = set(runtime.sources)
    for _ in range(100):
        pending -= {report.source for report in await runtime.poll(sorted(pending))}
        if not pending:
            return runtime
        await asyncio.sleep(0.1)
    raise AssertionError(f"could not poll {sorted(pending)}")


@pytest.fixture
def user(runtime, server: FakeSlackServer) -> Slack:
    app = build_app(
        runtime,
        slack_client(server),
        signing_secret=DEFAULT_SIGNING_SECRET,
        process_before_response=True,
    )
    return Slack(app, server)
