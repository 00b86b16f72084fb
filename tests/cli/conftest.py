"""Fixtures for the CLI tests: ``cli`` runs ``signpost`` on a database of its own, with no
chat token or operator file leaking in from the environment; ``site`` is a loopback website
on its own event-loop thread, since each CLI command runs ``asyncio.run`` itself."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from bot.cli import app
from tests.helpers.fake_website import FakeWebsite

# Settings the developer's own environment may carry, which no CLI test should inherit.
UNSET = ("TELEGRAM_BOT_TOKEN", "SLACK_BOT_TOKEN", "SIGNPOST_SOURCES_FILE", "SIGNPOST_GLOSSARY_FILE")


@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.setenv("SIGNPOST_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    for name in UNSET:
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, list(args), catch_exceptions=False)

    return invoke


@pytest.fixture
def site() -> Iterator[FakeWebsite]:
    """A fake website on its own event loop thread, since the CLI runs asyncio.run itself."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    website = asyncio.run_coroutine_threadsafe(FakeWebsite().start(), loop).result(5)
    try:
        yield website
    finally:
        asyncio.run_coroutine_threadsafe(website.stop(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
