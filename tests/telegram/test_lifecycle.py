"""The Telegram transport end to end: real PTB polling (or webhook) against the fake Bot API,
a real runtime (offline snapshots) on SQLite and PostgreSQL, and the core's real commands.

Updates are pushed to the fake as Telegram would queue them; a test then waits for what the bot
did about them (its sendMessage, editMessageText and sendDocument calls) and looks at the store.
"""

from __future__ import annotations

import asyncio
import io
import logging
import time
from types import SimpleNamespace

import aiohttp
import pytest

from bot.app import serve
from bot.ops.logs import RedactingFilter, TextFormatter
from bot.runtime import Runtime, build_runtime
from bot.settings import SettingsError, load_settings
from bot.telegram.lifecycle import TelegramTransport, start_telegram, telegram_component
from storage.store import Store
from tests.helpers.fake_telegram import FakeTelegramServer
from tests.helpers.limits import UNTHROTTLED_TELEGRAM as FAST
from tests.telegram.support import (
    free_port,
    poll_all,
    say,
    settings_for,
    stored_chat,
    until,
)

# --------------------------------------------------------------------------- lifecycle


async def test_webhook_refuses_requests_without_the_secret(
    store: Store, fake: FakeTelegramServer
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram-hook"
    settings = settings_for(
        fake,
        telegram_webhook_url=url,
        telegram_webhook_port=port,
        telegram_webhook_secret="s3cr3t-webhook-value",
    )
    built = await build_runtime(settings, store, offline=True, stop=asyncio.Event())
    stop = await start_telegram(built, send_limits=FAST, retry_seconds=0.2)
    try:
        await until(lambda: fake.webhook is not None and built.connected.get("telegram"))
        assert fake.webhook["url"] == url
        assert fake.webhook["secret_token"] == "s3cr3t-webhook-value"
        missing = await fake.post_update_to(url, fake.build.private_message(5, "/help"))
        wrong = await fake.post_update_to(
            url, fake.build.private_message(5, "/help"), secret_token="guess"
        )
        assert (missing, wrong) == (403, 403)
        await asyncio.sleep(0.3)
        assert fake.sent_messages(5) == [] and await stored_chat(built, 5) is None
        right = await fake.post_update_to(
            url, fake.build.private_message(5, "/help"), secret_token="s3cr3t-webhook-value"
        )
        assert right == 200
        headers = {"X-Telegram-Bot-Api-Secret-Token": "s3cr3t-webhook-value"}
        async with aiohttp.ClientSession() as session:
            garbage = await session.post(url, json=[1, 2], headers=headers)
        assert garbage.status == 400
        await until(lambda: fake.sent_messages(5))
        assert fake.sent_messages(5)[0].plain_text.startswith("What I can do:")
        assert fake.calls_to("getUpdates") == []
    finally:
        await stop()
        await built.http.aclose()


async def test_a_webhook_without_a_secret_is_refused_at_start(fake: FakeTelegramServer) -> None:
    with pytest.raises(SettingsError, match="needs TELEGRAM_WEBHOOK_SECRET"):
        settings_for(fake, telegram_webhook_url="https://bot.example.org/tg")


async def test_a_refused_token_stops_the_start(fake: FakeTelegramServer, runtime: Runtime) -> None:
    settings = load_settings(
        telegram_bot_token="42:not-the-token", telegram_api_base_url=fake.base_url
    )
    wrong = SimpleNamespace(store=runtime.store, clock=runtime.clock)
    wrong.settings, wrong.channels, wrong.connected = settings, {}, {}
    with pytest.raises(RuntimeError, match="refused TELEGRAM_BOT_TOKEN"):
        await start_telegram(wrong)
    assert wrong.channels == {}


async def test_unreachable_telegram_is_retried_in_the_background(runtime: Runtime) -> None:
    port = free_port()  # nothing listens there
    settings = load_settings(
        telegram_bot_token="42:token", telegram_api_base_url=f"http://127.0.0.1:{port}/bot"
    )
    offline = SimpleNamespace(store=runtime.store, clock=runtime.clock, settings=settings)
    offline.channels, offline.connected = {}, {}
    stop = await start_telegram(offline, send_limits=FAST, retry_seconds=0.1)
    assert offline.connected["telegram"] is False and "telegram" not in offline.channels
    started = time.monotonic()
    await stop()
    assert time.monotonic() - started < 1


async def test_one_replica_polls_and_a_survivor_takes_over(
    store: Store, fake: FakeTelegramServer, caplog: pytest.LogCaptureFixture
) -> None:
    first = await build_runtime(settings_for(fake), store, offline=True, stop=asyncio.Event())
    second = await build_runtime(settings_for(fake), store, offline=True, stop=asyncio.Event())
    stop_first = await start_telegram(first, send_limits=FAST, retry_seconds=0.2)
    leader: TelegramTransport = stop_first.__self__  # type: ignore[attr-defined]
    try:
        await until(lambda: leader.leading)
        if store.dialect != "postgresql":
            return  # SQLite deployments are one process: the lock is always granted
        stop_second = await start_telegram(second, send_limits=FAST, retry_seconds=0.2)
        follower: TelegramTransport = stop_second.__self__  # type: ignore[attr-defined]
        await asyncio.sleep(0.6)
        assert not follower.leading and second.connected["telegram"]
        assert "telegram" in second.channels  # a follower still sends
        assert (await say(fake, 5, "/help"))["text"].startswith("What I can do:")
        await stop_first()
        await until(lambda: follower.leading, seconds=3)
        assert (await say(fake, 6, "/help"))["text"].startswith("What I can do:")
        await stop_second()
        # Never two pollers at once: PTB would have reported a Conflict to our callback.
        assert not [r for r in caplog.records if "polling failed" in r.getMessage()]
    finally:
        await stop_first()
        await first.http.aclose()
        await second.http.aclose()


async def test_stop_is_prompt_and_unregisters(fake: FakeTelegramServer, runtime: Runtime) -> None:
    stop = await start_telegram(runtime, send_limits=FAST)
    await until(lambda: fake.calls_to("getUpdates"))  # a long poll is in flight
    started = time.monotonic()
    await stop()
    assert time.monotonic() - started < 2
    assert "telegram" not in runtime.channels and runtime.connected["telegram"] is False


async def test_serve_end_to_end(tmp_path, caplog: pytest.LogCaptureFixture) -> None:
    """``bot.app.serve`` with the real component, Telegram's real limits on, offline data."""
    async with FakeTelegramServer() as fake:
        settings = load_settings(
            database_url=f"sqlite:///{tmp_path / 'e2e.db'}",
            telegram_bot_token=fake.token,
            telegram_api_base_url=fake.base_url,
        )
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        handler.setFormatter(TextFormatter())
        handler.addFilter(RedactingFilter(settings.secrets()))
        root = logging.getLogger()
        root.addHandler(handler)
        grabbed: list[Runtime] = []

        async def grab(runtime: Runtime) -> None:
            grabbed.append(runtime)

        stop = asyncio.Event()
        components = [telegram_component, grab]
        serving = asyncio.create_task(
            serve(settings, offline=True, stop=stop, components=components)
        )
        try:
            with caplog.at_level(logging.INFO):
                await until(lambda: grabbed and grabbed[0].connected.get("telegram"), seconds=10)
                await poll_all(grabbed[0])
                said = {
                    11: "/start",
                    12: "/help",
                    13: "/calls mental health",
                    14: "/glossary co-PI",
                    15: "/subscribe",
                    16: "asdf qwerty",
                }
                fake.push_updates(fake.build.private_message(u, t) for u, t in said.items())
                await until(lambda: all(fake.sent_messages(user) for user in said))
                text = {user: fake.sent_messages(user)[0].plain_text for user in said}
                stop.set()
                started = time.monotonic()
                await asyncio.wait_for(serving, 10)
                stopping = time.monotonic() - started
        finally:
            stop.set()
            root.removeHandler(handler)
    assert text[11].startswith("Hello! I'm Signpost")
    assert text[12].startswith("What I can do:")
    assert text[13].startswith("Open calls for “mental health”")
    assert text[14].startswith("co-PI\n")
    assert text[15].startswith("Step 1 of 3")
    assert text[16].startswith("Type a command")
    assert fake.rate_limited == 0
    assert stopping < 5
    logs = stream.getvalue()
    assert "Telegram: this replica receives updates" in logs
    assert fake.token not in logs and "Traceback" not in logs
    ours = [r for r in caplog.records if r.name.startswith("signpost")]
    assert all(fake.token not in r.getMessage() for r in ours)
    assert all(r.exc_info is None for r in caplog.records)
