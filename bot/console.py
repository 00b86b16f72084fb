"""The console transport: the same commands at a terminal prompt, alerts printed.

It exists so that a newcomer sees the whole bot with nothing configured. Lines are read by
a daemon thread (so Ctrl-C is never stuck behind a blocking read) and handed to the event
loop; with stdin not a terminal, ``run`` does not read it at all, while ``demo`` reads a
piped script of commands and stops at its end.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
from typing import TextIO

from bot.core.commands import Commands
from bot.core.context import Context
from bot.core.model import Chat
from bot.core.replies import Reply, Section
from bot.delivery.channel import Limits
from storage.store import Store

CONSOLE_CHAT = Chat(platform="console", platform_chat_id="local", kind="private", title="Console")
RULE = "─" * 60


def render(reply: Reply) -> str:
    """Plain text with buttons shown as hints, e.g. ``[Remind me: remind:12]``."""
    parts = [reply.text] if reply.text else []
    for section in reply.sections:
        parts.append(_section(section))
    if reply.buttons:
        parts.append("  ".join(_button(b) for b in reply.buttons))
    return "\n\n".join(p for p in parts if p)


def _section(section: Section) -> str:
    lines = []
    if section.heading:
        lines.append(f"• {section.heading}")
    if section.url:
        lines.append(f"  {section.url}")
    lines.extend(f"  {line}" for line in section.lines)
    if section.note:
        lines.extend(f"  ℹ {line}" for line in section.note.splitlines())
    if section.buttons:
        lines.append("  " + "  ".join(_button(b) for b in section.buttons))
    return "\n".join(lines)


def _button(button) -> str:
    return f"[{button.label}: {button.action}]" if button.action else f"[{button.label}]"


class ConsoleChannel:
    """Prints alerts; the dispatcher treats it like any other platform."""

    platform = "console"
    limits = Limits(max_chars=20_000)

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        self.sent = 0

    async def send(self, chat: Chat, reply: Reply) -> list[str]:
        self.sent += 1
        self.out.write(f"\n{RULE}\n{render(reply)}\n{RULE}\n")
        self.out.flush()
        return [str(self.sent)]


class ConsoleTransport:
    """Reads commands from a stream and answers on another."""

    def __init__(
        self,
        commands: Commands,
        store: Store,
        *,
        now,
        admin: bool = True,
        stream: TextIO | None = None,
        out: TextIO | None = None,
    ) -> None:
        self.commands = commands
        self.store = store
        self.now = now
        self.admin = admin
        self.stream = stream or sys.stdin
        self.out = out or sys.stdout
        self.finished = asyncio.Event()

    async def context(self) -> Context:
        async with self.store.unit() as unit:
            chat = await unit.chats.ensure(CONSOLE_CHAT, now=self.now())
        return Context(chat=chat, user_id="console", can_manage=True, is_admin=self.admin)

    async def answer(self, line: str) -> str:
        """Answer one typed line: a command, or a button's action (``remind:12``)."""
        ctx = await self.context()
        line = line.strip()
        if not line:
            return ""
        if not line.startswith("/") and ":" in line.split(" ", 1)[0]:
            reply = await self.commands.press(ctx, line)
        else:
            reply = await self.commands.handle(ctx, line)
        return render(reply)

    async def run(self, stop: asyncio.Event) -> None:
        """Read lines until EOF or ``stop``; EOF sets ``finished``."""
        loop = asyncio.get_running_loop()
        lines: asyncio.Queue[str | None] = asyncio.Queue()

        def reader() -> None:
            for raw in self.stream:
                loop.call_soon_threadsafe(lines.put_nowait, raw)
            loop.call_soon_threadsafe(lines.put_nowait, None)

        threading.Thread(target=reader, name="console-input", daemon=True).start()
        self._prompt()
        while not stop.is_set():
            getter = asyncio.ensure_future(lines.get())
            stopper = asyncio.ensure_future(stop.wait())
            done, _ = await asyncio.wait({getter, stopper}, return_when=asyncio.FIRST_COMPLETED)
            stopper.cancel()
            if getter not in done:
                getter.cancel()
                break
            line = getter.result()
            if line is None:
                self.finished.set()
                break
            if line.strip():
                self.out.write(f"\n{await self.answer(line)}\n")
            self._prompt()

    def _prompt(self) -> None:
        self.out.write("signpost> ")
        self.out.flush()


DEMO_TOPIC = "mental-health"


async def _drain(runtime) -> None:
    """Wait until the dispatcher has sent what is queued (at most 15 seconds)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(15):
            while True:
                async with runtime.store.unit() as unit:
                    waiting, _ = await unit.outbox.depth(runtime.clock.now())
                if waiting == 0:
                    return
                runtime.dispatcher.wake()
                await asyncio.sleep(0.2)


def console_component(*, interactive: bool, demo: bool = False, out: TextIO | None = None):
    """The console as a component of ``bot.app.serve``.

    ``interactive`` reads commands from stdin; ``demo`` first subscribes the console to
    mental health, polls every offline source and shows the alerts, then reads commands
    (a piped script ends the demo at its end).
    """

    async def start(runtime):
        from bot.core.model import Subscription

        out_stream = out or sys.stdout
        runtime.channels["console"] = ConsoleChannel(out_stream)
        transport = ConsoleTransport(
            runtime.commands, runtime.store, now=runtime.clock.now, out=out_stream
        )
        runtime.connected["console"] = True
        if demo:
            async with runtime.store.unit() as unit:
                chat = await unit.chats.ensure(CONSOLE_CHAT, now=runtime.clock.now())
                if not await unit.chats.subscriptions(chat.id):
                    await unit.chats.add_subscription(
                        Subscription(chat_id=chat.id, topics=[DEMO_TOPIC]),
                        now=runtime.clock.now(),
                    )

        async def session() -> None:
            if demo:
                out_stream.write(
                    f"Signpost demo: offline, the clock reads {runtime.clock.now():%d %B %Y}. "
                    "This console is subscribed to mental health; polling the snapshots...\n"
                )
                reports = await runtime.poll()
                for r in reports:
                    out_stream.write(
                        f"  {r.source}: {r.outcome}, {r.new} new"
                        + (f" ({r.error})" if r.error else "")
                        + "\n"
                    )
                await _drain(runtime)
                out_stream.write(
                    "\nTry /calls mental health, /glossary co-PI, /events, /help. "
                    "Ctrl-D or Ctrl-C ends the demo.\n"
                )
            if interactive:
                await transport.run(runtime.stop)
                if transport.finished.is_set() and demo:
                    await _drain(runtime)
                    runtime.stop.set()

        task = asyncio.create_task(session(), name="console")

        async def stop() -> None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

        return stop

    return start
