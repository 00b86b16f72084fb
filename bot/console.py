"""The console transport: the same commands at a terminal prompt, alerts printed.

It exists so that a newcomer sees the whole bot with nothing configured. Lines are read by
a daemon thread (so Ctrl-C is never stuck behind a blocking read) and handed to the event
loop. The console reads commands from a terminal, a pipe or a file, and ends the bot at the
end of its input (Ctrl-D, or a script's last line); with stdin at ``/dev/null`` (a service
without a chat token) it only prints alerts.

A button is printed with a number (``[1] Subscribe``) and pressed by typing the number; an
attachment (``/export``, ``/calendar``) is written to a file whose path is printed. Several
people can share one database, each as a named console chat (``--chat NAME``): a console
prints its own chat's alerts and leaves the others' queued for their own console.
"""

from __future__ import annotations

import asyncio
import os
import stat
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from bot.core.commands import Commands
from bot.core.context import Context
from bot.core.model import Chat
from bot.core.replies import Button, Reply, Section
from bot.delivery.channel import Limits, RetryAfter
from storage.store import Store

DEFAULT_CHAT = "local"
CONSOLE_CHAT = Chat(
    platform="console", platform_chat_id=DEFAULT_CHAT, kind="private", title="Console"
)
RULE = "─" * 60
PROMPT = "signpost> "
# Another console's alert waits this long before its next try (no attempt is counted).
ELSEWHERE_RETRY_SECONDS = 10.0


def console_chat(name: str = DEFAULT_CHAT) -> Chat:
    """The stored chat a console acts as; each ``--chat NAME`` is a chat of its own."""
    if name == DEFAULT_CHAT:
        return CONSOLE_CHAT
    return Chat(platform="console", platform_chat_id=name, kind="private", title=f"Console {name}")


def reads_commands(stream: TextIO | None = None) -> bool:
    """Whether the console should read commands from ``stream`` (stdin): a terminal, a pipe
    or a file, yes; ``/dev/null`` or a closed stdin (a service's), no, or the bot would stop
    as soon as it started."""
    stream = stream if stream is not None else sys.stdin
    try:
        fd = stream.fileno()
        if os.isatty(fd):
            return True
        mode = os.fstat(fd).st_mode
    except (AttributeError, OSError, ValueError):
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISREG(mode) or stat.S_ISSOCK(mode)


def _render(reply: Reply, button: Callable[[Button], str]) -> str:
    parts = [reply.text] if reply.text else []
    for section in reply.sections:
        parts.append(_section(section, button))
    if reply.buttons:
        parts.append("  ".join(button(b) for b in reply.buttons))
    return "\n\n".join(p for p in parts if p)


def _section(section: Section, button: Callable[[Button], str]) -> str:
    lines = []
    if section.heading:
        lines.append(f"• {section.heading}")
    if section.url:
        lines.append(f"  {section.url}")
    lines.extend(f"  {line}" for line in section.lines)
    if section.note:
        lines.extend(f"  ℹ {line}" for line in section.note.splitlines())
    if section.buttons:
        lines.append("  " + "  ".join(button(b) for b in section.buttons))
    return "\n".join(lines)


def _label(button: Button) -> str:
    return f"[{button.label}: {button.url}]" if button.url else f"[{button.label}]"


def render(reply: Reply) -> str:
    """Plain text, buttons by their labels only (the CLI's ``search`` and ``glossary``)."""
    return _render(reply, _label)


def render_numbered(reply: Reply, first: int = 1) -> tuple[str, list[str]]:
    """Plain text with each action button numbered from ``first`` (``[1] Remind me``), and
    the actions in that order; a link button shows its URL."""
    actions: list[str] = []

    def number(button: Button) -> str:
        if button.url or not button.action:
            return _label(button)
        actions.append(button.action)
        return f"[{first + len(actions) - 1}] {button.label}"

    return _render(reply, number), actions


class ConsoleScreen:
    """Everything the console prints goes through here: the buttons on screen and their
    numbers, the files attachments are written to, and the prompt, redrawn after a line
    printed while it waits (an alert, the first poll's summary)."""

    def __init__(self, out: TextIO, *, files_dir: Path | None = None) -> None:
        self.out = out
        self.files_dir = files_dir or Path.cwd()
        self.actions: list[str] = []
        self.waiting = False  # the prompt is on screen, waiting for a line
        self._hinted = False

    def prompt(self) -> None:
        self.out.write(PROMPT)
        self.out.flush()
        self.waiting = True

    def typed(self) -> None:
        """A line was read: the cursor is at the start of a fresh line."""
        self.waiting = False

    def say(self, text: str) -> None:
        self.out.write(("\n" if self.waiting else "") + text + "\n")
        if self.waiting:
            self.out.write(PROMPT)
        self.out.flush()

    def show(self, reply: Reply, *, fresh: bool) -> str:
        """The text of a reply; ``fresh`` (an answer) numbers its buttons from 1, otherwise
        (an alert) after those already on screen, which stay pressable."""
        if fresh:
            self.actions = []
        text, actions = render_numbered(reply, first=len(self.actions) + 1)
        self.actions += actions
        if actions and not self._hinted:
            text += "\n\n(Type a button's number to press it.)"
            self._hinted = True
        if reply.attachment is not None:
            text += "\n\n" + self.save(*reply.attachment)
        return text

    def action(self, number: int) -> str | None:
        return self.actions[number - 1] if 0 < number <= len(self.actions) else None

    def save(self, name: str, content: bytes) -> str:
        # Only the file name is kept: a name can never write outside the folder.
        path = (self.files_dir / Path(name).name).resolve()
        try:
            path.write_bytes(content)
        except OSError as exc:
            return f"Could not save {path.name} in {self.files_dir}: {exc.strerror or exc}"
        return f"Saved {path.name} ({len(content):,} bytes) to {path}"


class ConsoleChannel:
    """Prints this console chat's alerts; the dispatcher treats it like any other platform.
    Another console chat's alert (a person on the same database in another terminal) is
    not ours to print: it is left queued, uncounted, for that console."""

    platform = "console"
    limits = Limits(max_chars=20_000)

    def __init__(self, screen: ConsoleScreen, chat_name: str = DEFAULT_CHAT) -> None:
        self.screen = screen
        self.chat_name = chat_name
        self.sent = 0

    async def send(self, chat: Chat, reply: Reply) -> list[str]:
        if chat.platform_chat_id != self.chat_name:
            raise RetryAfter(
                ELSEWHERE_RETRY_SECONDS, f"console chat {chat.platform_chat_id} is not open here"
            )
        self.sent += 1
        self.screen.say(f"\n{RULE}\n{self.screen.show(reply, fresh=False)}\n{RULE}")
        return [str(self.sent)]


class ConsoleTransport:
    """Reads commands from a stream and answers on the screen."""

    def __init__(
        self,
        commands: Commands,
        store: Store,
        *,
        now,
        screen: ConsoleScreen | None = None,
        chat_name: str = DEFAULT_CHAT,
        admin: bool = True,
        stream: TextIO | None = None,
    ) -> None:
        self.commands = commands
        self.store = store
        self.now = now
        self.screen = screen or ConsoleScreen(sys.stdout)
        self.chat_name = chat_name
        self.admin = admin
        self.stream = stream or sys.stdin
        self.finished = asyncio.Event()

    async def context(self) -> Context:
        async with self.store.unit() as unit:
            chat = await unit.chats.ensure(console_chat(self.chat_name), now=self.now())
        user = "console" if self.chat_name == DEFAULT_CHAT else self.chat_name
        return Context(chat=chat, user_id=user, can_manage=True, is_admin=self.admin)

    async def answer(self, line: str) -> str:
        """Answer one typed line: a command, a button's number, or its action (``remind:12``)."""
        line = line.strip()
        if not line:
            return ""
        ctx = await self.context()
        if line.isascii() and line.isdigit():  # "¹" is a digit to isdigit, not to int
            action = self.screen.action(int(line))
            if action is None:
                return (
                    f"There is no button {line} on screen: type the number shown in "
                    "brackets, e.g. 1 for [1], or a command such as /help."
                )
            reply = await self.commands.press(ctx, action)
        elif not line.startswith("/") and ":" in line.split(" ", 1)[0]:
            reply = await self.commands.press(ctx, line)
        else:
            reply = await self.commands.handle(ctx, line)
        return self.screen.show(reply, fresh=True)

    async def run(self, stop: asyncio.Event) -> None:
        """Read lines until EOF or ``stop``; EOF sets ``finished``."""
        loop = asyncio.get_running_loop()
        lines: asyncio.Queue[str | None] = asyncio.Queue()

        def reader() -> None:
            for raw in self.stream:
                loop.call_soon_threadsafe(lines.put_nowait, raw)
            loop.call_soon_threadsafe(lines.put_nowait, None)

        threading.Thread(target=reader, name="console-input", daemon=True).start()
        self.screen.prompt()
        while not stop.is_set():
            getter = asyncio.ensure_future(lines.get())
            stopper = asyncio.ensure_future(stop.wait())
            done, _ = await asyncio.wait({getter, stopper}, return_when=asyncio.FIRST_COMPLETED)
            stopper.cancel()
            if getter not in done:
                getter.cancel()
                break
            line = getter.result()
            self.screen.typed()
            if line is None:
                self.screen.say("")  # end the prompt's line: the shell's comes next
                self.finished.set()
                break
            if line.strip():
                self.screen.say(f"\n{await self.answer(line)}")
            self.screen.prompt()
