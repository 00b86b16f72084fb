"""Helpers shared by the tests in this folder (moved from test_telegram.py)."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest

from bot.core.pipeline import search_text
from bot.runtime import Runtime
from bot.settings import Settings, load_settings
from tests.helpers.builders import opportunity
from tests.helpers.fake_telegram import FakeTelegramServer, TelegramCall

ADMIN = 900
ANSWERS = {"sendMessage", "editMessageText", "sendDocument"}


def settings_for(fake: FakeTelegramServer, **extra: Any) -> Settings:
    return load_settings(
        telegram_bot_token=fake.token,
        telegram_api_base_url=fake.base_url,
        admins=f"telegram:{ADMIN}",
        **extra,
    )


# --------------------------------------------------------------------------- helpers


async def until(condition: Callable[[], Any], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("the bot never did what the test waited for")
        await asyncio.sleep(0.01)


async def eventually(check: Callable[[], Awaitable[Any]], seconds: float = 5.0) -> Any:
    deadline = time.monotonic() + seconds
    while not (result := await check()):
        if time.monotonic() > deadline:
            pytest.fail("the store never reached the state the test waited for")
        await asyncio.sleep(0.02)
    return result


async def handled(fake: FakeTelegramServer, update: dict, answers: int = 1) -> list[TelegramCall]:
    """Push an update; return the bot's answering calls once ``answers`` have completed."""
    start = len(fake.calls)
    fake.push_update(update)

    def made() -> list[TelegramCall]:
        return [c for c in fake.calls[start:] if c.method in ANSWERS and c.status is not None]

    await until(lambda: len(made()) >= answers)
    return made()


async def ask(fake: FakeTelegramServer, update: dict) -> dict:
    """The message the bot answered an update with."""
    call = (await handled(fake, update))[0]
    assert call.ok, call.response
    return call.response["result"]


async def say(fake: FakeTelegramServer, user: int, text: str) -> dict:
    return await ask(fake, fake.build.private_message(user, text))


async def press(
    fake: FakeTelegramServer, message: dict, data: str, *, by: int | None = None
) -> TelegramCall:
    chat_id = message["chat"]["id"]
    query = fake.build.callback_query(chat_id, data, message_id=message["message_id"], from_id=by)
    return (await handled(fake, query))[0]


def buttons(message: dict) -> dict[str, str]:
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return {b["text"]: b.get("callback_data") or b.get("url") for row in rows for b in row}


async def nothing_more(fake: FakeTelegramServer, update: dict) -> None:
    start = len(fake.calls)
    fake.push_update(update)
    await asyncio.sleep(0.4)
    assert [c.method for c in fake.calls[start:] if c.method in ANSWERS] == []


async def stored_chat(runtime: Runtime, chat_id: int | str, thread: str = ""):
    async with runtime.store.unit() as unit:
        return await unit.chats.find("telegram", str(chat_id), thread)


async def subscriptions(runtime: Runtime, chat_id: int | str, thread: str = "") -> list:
    chat = await stored_chat(runtime, chat_id, thread)
    if chat is None:
        return []
    async with runtime.store.unit() as unit:
        return await unit.chats.subscriptions(chat.id)


async def add_calls(runtime: Runtime, titles: list[str]) -> None:
    now = runtime.clock.now()
    async with runtime.store.unit() as unit:
        for n, title in enumerate(titles):
            item = opportunity(f"extra-{n}", title=title, closes_at=now + timedelta(days=30 + n))
            text = search_text(item, runtime.vocabulary)
            await unit.opportunities.upsert(item, now=now, search_text=text)


async def poll_all(runtime: Runtime) -> None:
    """Poll every offline source. A poll is skipped while another process holds the source's
    advisory lock, and those locks are server-wide (test runs share the PostgreSQL server):
    ask again until each source has been polled once here."""
    polled: set[str] = set()
    deadline = time.monotonic() + 20
    while polled != set(runtime.sources) and time.monotonic() < deadline:
        reports = await runtime.poll(sorted(set(runtime.sources) - polled))
        polled |= {report.source for report in reports}
        await asyncio.sleep(0.05 if polled != set(runtime.sources) else 0)
    assert polled == set(runtime.sources)


async def deliver_all(runtime: Runtime) -> None:
    while await runtime.dispatcher.run_once():
        pass


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
