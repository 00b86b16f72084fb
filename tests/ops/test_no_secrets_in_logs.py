"""A whole run — start, a poll, health and metrics scrapes, stop — never logs a secret.

The bot runs offline with every secret set but only the health component and a driver
started, so nothing connects out. Two things are checked: the log output an operator sees
(after redaction), and the raw messages our code asked to log (before redaction): the
redacting filter is the safety net, not the reason nothing leaks.
"""

from __future__ import annotations

import asyncio
import io
import logging

import aiohttp
import pytest

from bot.app import serve
from bot.ops.health import HealthServer, start_health_server
from bot.ops.logs import configure_logging
from bot.runtime import Runtime
from bot.settings import Settings

SECRETS = {
    "telegram_bot_token": "7654321:AAFakeTokenForTestsOnly_abcdefghijklmno",
    "telegram_webhook_secret": "webhook-secret-not-token-shaped-42",
    "slack_bot_token": "xoxb-1111-2222-FakeTokenForTests",
    "slack_app_token": "xapp-1-A0FAKE-" + "9" * 20,
    "slack_signing_secret": "8f14e45fceea167a5a36dedd4bea2543",
}


class RawRecords(logging.Handler):
    """Keeps every message as logged, before the redacting filter of the real handler."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        self.messages.append(text)


@pytest.fixture
def restore_logging():
    """``configure_logging`` replaces the root handlers; put pytest's back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


async def test_start_poll_scrape_and_stop_log_no_secret(tmp_path, monkeypatch, restore_logging):
    for field in Settings.model_fields.values():
        monkeypatch.delenv(field.alias, raising=False)
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'signpost.db'}",
        health_port=0,
        log_level="DEBUG",
        admins="telegram:42",
        **SECRETS,
    )
    assert sorted(settings.secrets()) == sorted(SECRETS.values())
    raw = RawRecords()
    output = io.StringIO()
    # As ``signpost run`` does it, at DEBUG so that as much as possible is logged.
    configure_logging(level="DEBUG", fmt="json", secrets=settings.secrets(), stream=output)
    logging.getLogger().handlers.insert(0, raw)  # first: sees records before redaction

    servers: list[HealthServer] = []
    scraped: list[str] = []
    failures: list[BaseException] = []

    async def health(runtime: Runtime) -> HealthServer:
        server = await start_health_server(runtime, host="127.0.0.1", port=0)
        servers.append(server)
        return server

    async def drive(runtime: Runtime) -> None:
        """Poll one source, scrape both endpoints, then ask the bot to stop."""
        try:
            reports = await runtime.poll([sorted(runtime.sources)[0]])
            assert reports
            async with aiohttp.ClientSession() as session:
                for path in ("/healthz", "/metrics"):
                    async with session.get(servers[0].url + path) as response:
                        scraped.append(await response.text())
        except BaseException as exc:
            failures.append(exc)
        finally:
            runtime.stop.set()

    tasks: list[asyncio.Task] = []

    async def driver(runtime: Runtime) -> None:
        tasks.append(asyncio.create_task(drive(runtime)))

    async with asyncio.timeout(60):
        await serve(settings, offline=True, components=[health, driver])
    await asyncio.gather(*tasks)

    assert not failures, failures
    assert len(scraped) == 2
    logged = output.getvalue()
    assert "Signpost is running offline" in logged
    assert "polled " in logged
    assert "stopped" in logged
    for name, secret in SECRETS.items():
        assert secret not in logged, f"{name} reached the log output"
        assert not any(secret in message for message in raw.messages), f"{name} was logged"
        assert not any(secret in body for body in scraped), f"{name} is in /healthz or /metrics"
