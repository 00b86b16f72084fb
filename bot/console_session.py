"""The console as a component of ``bot.app.serve``: what it says around the commands.

``signpost run`` (no chat token) says where the logs go and that the first poll is under
way, then one line when that poll round ends (how many sources answered; or that every one
failed, with ``make demo`` as the way to see the bot offline). ``signpost demo`` subscribes
its chat to mental health, polls the snapshots and shows the alerts first. In both, the end
of the input (Ctrl-D, or a piped script's last line) sends what is queued for this chat and
stops the bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from pathlib import Path
from typing import TextIO

from sqlalchemy import func, select, update

from bot.console import DEFAULT_CHAT, ConsoleChannel, ConsoleScreen, ConsoleTransport, console_chat
from storage.models import OutboxItem

log = logging.getLogger("signpost.console")

DEMO_TOPIC = "mental-health"
DRAIN_SECONDS = 15.0


async def _waiting_for(runtime, chat_id: int) -> int:
    """Messages due now for this console chat (another console's are not ours to wait on)."""
    now = runtime.clock.now()
    query = (
        select(func.count())
        .select_from(OutboxItem)
        .where(
            OutboxItem.chat_id == chat_id,
            OutboxItem.status.in_(("pending", "leased")),
            OutboxItem.next_attempt_at <= now,
        )
    )
    async with runtime.store.unit() as unit:
        return int(await unit.session.scalar(query) or 0)


async def _collect(runtime, chat_id: int) -> None:
    """Make this chat's waiting messages due now: a console on the same database, which
    could not print them, left them for later, and its clock (offline, each run replays the
    capture date afresh) need not agree with ours."""
    now = runtime.clock.now()
    query = (
        update(OutboxItem)
        .where(OutboxItem.chat_id == chat_id, OutboxItem.status == "pending")
        .values(next_attempt_at=now)
    )
    async with runtime.store.unit() as unit:
        await unit.session.execute(query)


async def _drain(runtime, chat_id: int) -> None:
    """Wait until the dispatcher has sent what is due for this chat (at most 15 seconds)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(DRAIN_SECONDS):
            while await _waiting_for(runtime, chat_id):
                runtime.dispatcher.wake()
                await asyncio.sleep(0.2)


def first_poll_summary(runtime, log_path: Path | None = None) -> str:
    """One line when every source has been polled once."""
    progress = runtime.first_poll.progress()
    where = f" Details are in {log_path}." if log_path else ""
    if progress.total and progress.failed == progress.total:
        return (
            f"Every source failed ({progress.total} of {progress.total}; is this machine "
            "offline?), so there is nothing to search yet. `make demo` (or `signpost demo`) "
            f"shows the bot on saved pages, offline.{where}"
        )
    failures = runtime.first_poll.failures()
    line = (
        f"First poll done: {progress.total - progress.failed} of {progress.total} sources answered"
    )
    if failures:
        named = ", ".join(failures[:5]) + (", …" if len(failures) > 5 else "")
        line += f"; {len(failures)} failed ({named}).{where}"
    else:
        line += "."
    return line + " Try /calls mental health."


def _intro(runtime, chat_name: str, log_path: Path | None) -> str:
    who = "" if chat_name == DEFAULT_CHAT else f" as chat “{chat_name}”"
    logs = f"Logs go to {log_path}. " if log_path else ""
    count = len(runtime.sources)
    return (
        f"Signpost console{who}: the commands of Telegram and Slack, typed here; alerts are "
        f"printed. {logs}I'm gathering opportunities from {count} sources; the first round "
        "takes a minute or two, and I'll say here when it is done. Meanwhile try /help or "
        "/glossary co-PI. Ctrl-D or Ctrl-C stops the bot."
    )


async def _subscribe_demo_chat(runtime, chat_name: str) -> None:
    from bot.core.model import Subscription

    async with runtime.store.unit() as unit:
        chat = await unit.chats.ensure(console_chat(chat_name), now=runtime.clock.now())
        if not await unit.chats.subscriptions(chat.id):
            await unit.chats.add_subscription(
                Subscription(chat_id=chat.id, topics=[DEMO_TOPIC]), now=runtime.clock.now()
            )


async def _demo_opening(runtime, screen: ConsoleScreen, channel: ConsoleChannel, chat_id) -> None:
    screen.say(
        f"Signpost demo: offline, the clock reads {runtime.clock.now():%d %B %Y}. "
        "This console is subscribed to mental health; polling the snapshots..."
    )
    for r in await runtime.poll():
        error = f" ({r.error})" if r.error else ""
        screen.say(f"  {r.source}: {r.outcome}, {r.new} new{error}")
    await _drain(runtime, chat_id)
    if channel.sent == 0:
        screen.say(
            "No new alerts: this database has seen these snapshots before, so nothing is new."
        )
    screen.say(
        "\nTry /calls mental health, /glossary co-PI, /events, /help. "
        "Ctrl-D or Ctrl-C ends the demo."
    )


def console_component(
    *,
    interactive: bool,
    demo: bool = False,
    out: TextIO | None = None,
    stream: TextIO | None = None,
    chat_name: str = DEFAULT_CHAT,
    files_dir: Path | None = None,
    log_path: Path | None = None,
):
    """The console as a component. ``interactive`` reads commands (from ``stream``, stdin
    by default) and ends the bot at their end; ``demo`` opens with the offline poll;
    ``log_path`` is where the logs were sent, named so that the user can look."""

    async def start(runtime):
        screen = ConsoleScreen(out or sys.stdout, files_dir=files_dir)
        channel = ConsoleChannel(screen, chat_name)
        runtime.channels["console"] = channel
        transport = ConsoleTransport(
            runtime.commands,
            runtime.store,
            now=runtime.clock.now,
            screen=screen,
            chat_name=chat_name,
            stream=stream,
        )
        runtime.connected["console"] = True
        if demo:
            await _subscribe_demo_chat(runtime, chat_name)
        chat_id = (await transport.context()).chat_id
        await _collect(runtime, chat_id)
        tasks: list[asyncio.Task] = []

        async def summary() -> None:
            await runtime.first_poll.complete.wait()
            screen.say(first_poll_summary(runtime, log_path))

        async def session() -> None:
            try:
                await converse()
            except OSError as exc:  # the output went away (a closed pipe): nobody to answer
                log.warning("console output closed (%s); stopping", exc)
                runtime.stop.set()
            except Exception:
                log.exception("the console failed; stopping")
                runtime.stop.set()

        async def converse() -> None:
            if demo:
                await _demo_opening(runtime, screen, channel, chat_id)
            elif interactive:
                screen.say(_intro(runtime, chat_name, log_path))
                tasks.append(asyncio.create_task(summary(), name="console-summary"))
            if interactive:
                await transport.run(runtime.stop)
                if transport.finished.is_set():
                    await _drain(runtime, chat_id)
                    runtime.stop.set()

        tasks.append(asyncio.create_task(session(), name="console"))

        async def stop() -> None:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

        return stop

    return start
