"""The one command set, for Telegram, Slack and the console alike.

Transports call ``Commands.handle(ctx, text)`` for a typed message and
``Commands.press(ctx, action)`` for a button; both always return replies — an unknown
command points to /help, a failure is logged and answered with an apology, never raised.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from bot.core import chat_settings, funders, glossary_admin, queries, subscribe
from bot.core.arguments import MAX_ACTION, clean_text, parse_id, parse_int
from bot.core.calendar import calendar_command
from bot.core.context import MAX_INPUT, Context, Services
from bot.core.formatting import plural, when
from bot.core.model import Subscription
from bot.core.replies import Button, Reply, Section, encodable, encodable_reply

log = logging.getLogger("signpost.commands")

Handler = Callable[[Context, Services, str], Awaitable[Reply]]

HELP = [
    ("calls", "search open funding calls, e.g. /calls mental health"),
    ("internships", "internships, placements and studentships"),
    ("events", "events, webinars and networking, soonest first"),
    ("deadlines", "what you follow that closes soon, e.g. /deadlines 60 (days; 30 if none)"),
    ("calendar", "your deadlines as a calendar file"),
    ("glossary", "explain a term, e.g. /glossary co-PI"),
    ("funders", "who funded work like this, e.g. /funders mental health near Wales"),
    ("funder", "one funder's past awards: what, where, how much, how often"),
    ("subscribe", "get alerts: choose topics, role and how often"),
    ("mysubs", "your subscriptions, to edit or delete"),
    ("unsubscribe", "remove a subscription"),
    ("settings", "time zone, digest hour, glossary notes"),
    ("pause", "stop alerts for now"),
    ("resume", "start alerts again"),
    ("export", "everything stored about this chat"),
    ("forget", "delete everything stored about this chat"),
    ("help", "this list"),
]
ADMIN_HELP = [
    ("status", "health of sources and the queue"),
    ("sources", "configured sources and their state (release NAME: lift a flood hold)"),
    ("poll", "poll sources now"),
    ("broadcast", "send a message to every chat"),
]
MANAGE = {"subscribe", "unsubscribe", "settings", "pause", "resume", "forget", "export", "calendar"}
# Buttons that change what this chat stores or hands out: the same rule as MANAGE.
MANAGE_BUTTONS = {"sub", "unsub", "edit", "set", "forget", "dismiss", "remind", "calendar"}
NOT_YOURS = (
    "Only this group's admins can change its subscriptions, reminders and settings. "
    "Anyone can use /calls, /events and /glossary."
)
MAX_OFFSET = 10_000  # "More" pages beyond this are not a person paging
EXPIRED = "That button has expired."


def parse_command(text: str) -> tuple[str, str] | None:
    """``/calls@SignpostBot mental health`` -> ("calls", "mental health"); None if not a
    command."""
    text = text.strip()
    if not text.startswith("/"):
        return None
    head, _, rest = text[1:].partition(" ")
    name = head.split("@", 1)[0].lower()
    return name, rest.strip()


class Commands:
    """Routes commands and button presses to the core's handlers."""

    def __init__(self, services: Services) -> None:
        self.services = services
        from bot.core import admin

        self.handlers: dict[str, Handler] = {
            "start": self.start,
            "help": self.help,
            "calls": lambda c, s, a: queries.search(c, s, a, kind="call"),
            "internships": lambda c, s, a: queries.search(c, s, a, kind="internship"),
            "events": lambda c, s, a: queries.search(c, s, a, kind="event"),
            "deadlines": queries.deadlines_command,
            "calendar": calendar_command,
            "glossary": self.glossary,
            "funders": funders.funders_command,
            "funder": funders.funder_command,
            "subscribe": self.subscribe,
            "mysubs": lambda c, s, a: subscribe.list_subscriptions(c, s),
            "unsubscribe": subscribe.unsubscribe,
            "settings": chat_settings.settings,
            "pause": self.pause,
            "resume": self.resume,
            "forget": self.forget,
            "export": self.export,
            "status": admin.status,
            "sources": admin.sources,
            "poll": admin.poll,
            "broadcast": admin.broadcast,
        }
        self.admin_only = {"status", "sources", "poll", "broadcast"}

    async def handle(self, ctx: Context, text: str) -> Reply:
        """Answer one typed message (cleaned first: see ``bot.core.arguments``); the answer
        is made encodable, since it may show what was stored before input was cleaned."""
        return encodable_reply(await self._handle(ctx, text))

    async def _handle(self, ctx: Context, text: str) -> Reply:
        parsed = parse_command(clean_text(text))
        if parsed is None:
            return Reply(text="Type a command, e.g. /calls mental health — /help lists them.")
        name, args = parsed
        handler = self.handlers.get(name)
        if handler is None:
            return Reply(text=f"I don't know /{name[:32]}. /help lists what I can do.")
        if name in self.admin_only and not ctx.is_admin:
            return Reply(text=f"/{name} is for Signpost's administrators.")
        if name in MANAGE and not ctx.can_manage and not (name == "settings" and not args):
            return Reply(text=NOT_YOURS)
        note = ""
        if len(args) > MAX_INPUT:
            note = f" (I read the first {MAX_INPUT} characters.)"
            args = args[:MAX_INPUT]
        try:
            reply = await handler(ctx, self.services, args)
        except Exception:
            log.exception("command /%s failed in chat %s", name, ctx.chat.id)
            return Reply(
                text="Sorry, something went wrong; it has been logged. Please try "
                "again in a minute."
            )
        if note:
            reply.text = (reply.text + note).strip()
        return reply

    async def press(self, ctx: Context, action: str) -> Reply:
        """Answer a button press; ``action`` is the button's data."""
        kind, _, rest = clean_text(action, limit=MAX_ACTION).partition(":")
        try:
            return encodable_reply(await self._press(ctx, kind, rest))
        except Exception:
            log.exception("button %r failed in chat %s", kind, ctx.chat.id)
            return Reply(text="Sorry, something went wrong; it has been logged.")

    async def _press(self, ctx: Context, kind: str, rest: str) -> Reply:
        services = self.services
        if kind in MANAGE_BUTTONS and not ctx.can_manage:
            return Reply(text=NOT_YOURS)
        if kind == "sub":
            return await subscribe.press(ctx, services, rest.split(":"))
        if kind == "unsub":
            return await subscribe.delete_pressed(ctx, services, rest)
        if kind == "edit":
            return await subscribe.edit_pressed(ctx, services, rest)
        if kind == "more":
            item_kind, _, tail = rest.partition(":")
            offset, _, query = tail.partition(":")
            start = parse_int(offset, 1, MAX_OFFSET)
            if item_kind not in queries.KIND_WORDS or start is None:
                return Reply(text="That button has expired; search again.")
            return await queries.search(ctx, services, query, kind=item_kind, offset=start)
        if kind in ("remind", "dismiss"):
            return await self._track(ctx, kind, rest)
        if kind == "glossary":
            entry = services.vocabulary.glossary.get(rest)
            if entry is None:
                return Reply(text="That term is no longer in the glossary.")
            return Reply(sections=[queries.entry_section(entry, services.vocabulary.glossary)])
        if kind == "set":
            return await chat_settings.toggle(ctx, services, rest)
        if kind == "calendar":
            return await calendar_command(ctx, services, "")
        if kind == "forget" and rest == "yes":
            return await self.forget(ctx, services, "yes")
        if kind == "forget":
            return Reply(text="Nothing was deleted.", edit=True)
        return Reply(text=EXPIRED)

    async def _track(self, ctx: Context, kind: str, rest: str) -> Reply:
        """The "Remind me" and "Not for us" buttons. Whether a call is closed is the clock's answer
        (its closing time against now), not the stored status, which lags until a poll."""
        opportunity_id = parse_id(rest)
        if opportunity_id is None:
            return Reply(text=EXPIRED)
        services = self.services
        now = services.clock.now()
        async with services.store.unit() as unit:
            item = await unit.opportunities.get(opportunity_id)
            if item is None:
                return Reply(text="That opportunity is no longer listed.")
            title = item.title[:80]
            if kind == "remind" and item.closes_at is not None and item.closes_at <= now:
                closed = when(item.closes_at, ctx.chat.timezone)
                return Reply(
                    text=f"“{title}” closed on {closed}, so there is nothing to remind you of."
                )
            if kind == "remind":
                await unit.tracking.track(ctx.chat_id, item.id, now=now, requested=True)
            else:
                await unit.tracking.dismiss(ctx.chat_id, item.id, now=now)
        if kind == "dismiss":
            return Reply(text="Noted: no more reminders or updates about that one here.")
        return Reply(text=reminder_promise(title, item.closes_at, now, ctx.chat.timezone))

    # ------------------------------------------------------------ commands
    async def start(self, ctx: Context, services: Services, args: str) -> Reply:
        """Welcome, or a deep link: ``topic-crisis-support`` subscribes in one tap."""
        if args.startswith("topic-") and ctx.can_manage:
            slug = args.removeprefix("topic-")
            topic = services.vocabulary.taxonomy.get(slug)
            if topic is not None:
                reply = await subscribe.save(
                    ctx, services, Subscription(chat_id=ctx.chat_id, topics=[slug])
                )
                reply.edit = False
                return reply
        return Reply(
            text="Hello! I'm Signpost. I find UK research funding calls, internships and "
            "events — from UKRI, MRC, ESRC, NIHR and charities — and explain the jargon "
            "both ways. Try /calls mental health, /glossary co-PI, or /subscribe to get "
            "alerts.",
            buttons=[Button("Subscribe", action="sub:t:0:-:-:0")],
        )

    async def help(self, ctx: Context, services: Services, args: str) -> Reply:
        lines = [f"/{name} — {what}" for name, what in HELP]
        if ctx.is_admin:
            lines += [f"/{name} — {what} (admin)" for name, what in ADMIN_HELP]
        forms = Section(heading="Subscribing in one line", lines=list(subscribe.ONE_LINE_FORMS))
        return Reply(text="What I can do:", sections=[Section(lines=lines), forms])

    async def glossary(self, ctx: Context, services: Services, args: str) -> Reply:
        word, _, rest = args.partition(" ")
        admin_words = {
            "add": glossary_admin.add_term,
            "suggestions": glossary_admin.suggestions,
            "done": glossary_admin.done,
            "stale": glossary_admin.stale,
        }
        if word.lower() in admin_words and ctx.is_admin:
            return await admin_words[word.lower()](ctx, services, rest)
        if word.lower() == "suggest":
            if not rest.strip():
                return Reply(
                    text="Tell me the term: /glossary suggest TERM (and what it means if you know)."
                )
            async with services.store.unit() as unit:
                await unit.glossary.suggest(
                    ctx.chat_id, ctx.user_id, rest.strip(), now=services.clock.now()
                )
            return Reply(text="Thanks — your suggestion is saved for the admins.")
        return queries.glossary_answer(args, services)

    async def subscribe(self, ctx: Context, services: Services, args: str) -> Reply:
        if args:
            return await subscribe.one_line(ctx, services, args)
        return subscribe.topics_step(0, services, edit=False)

    async def pause(self, ctx: Context, services: Services, args: str) -> Reply:
        async with services.store.unit() as unit:
            await unit.chats.pause(ctx.chat_id, "paused with /pause", services.clock.now())
        return Reply(text="Alerts paused. /resume starts them again; nothing is deleted.")

    async def resume(self, ctx: Context, services: Services, args: str) -> Reply:
        async with services.store.unit() as unit:
            await unit.chats.resume(ctx.chat_id, services.clock.now())
        return Reply(text="Alerts resumed.")

    async def forget(self, ctx: Context, services: Services, args: str) -> Reply:
        if args.strip().lower() != "yes":
            return Reply(
                text="This deletes this chat's subscriptions, settings and history here. "
                "Are you sure? (Or type /forget yes)",
                buttons=[
                    Button("Yes, delete everything", action="forget:yes"),
                    Button("No, keep it", action="forget:no"),
                ],
            )
        async with services.store.unit() as unit:
            await unit.chats.forget(ctx.chat_id)
        return Reply(text="Done: everything stored about this chat has been deleted.", edit=True)

    async def export(self, ctx: Context, services: Services, args: str) -> Reply:
        async with services.store.unit() as unit:
            data = await unit.chats.export(ctx.chat_id)
        text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
        content = encodable(text).encode()  # a row stored before input was cleaned
        digest = hashlib.sha256(content).hexdigest()[:8]
        count = plural(len(data.get("subscriptions", [])), "subscription")
        return Reply(
            text=f"Everything stored about this chat ({count}), as JSON.",
            attachment=(f"signpost-export-{digest}.json", content),
        )


REMINDER_DAYS = (14, 3)  # what ``tracking.track`` stores by default


def reminder_promise(title: str, closes_at, now, tz: str | None) -> str:
    """What "Remind me" will really do: only the reminders whose day is still ahead (the
    reminder job skips one whose window had opened when the chat asked)."""
    if closes_at is None:
        return (
            f"Noted. “{title}” has no closing date yet; once one is published I'll remind "
            "you before it closes (14 and 3 days before, where there is time)."
        )
    ahead = [d for d in REMINDER_DAYS if closes_at - timedelta(days=d) > now]
    closes = when(closes_at, tz)
    if not ahead:
        return f"Noted, but “{title}” closes on {closes}, too soon for a reminder."
    days = " and ".join(str(d) for d in ahead)
    return f"I'll remind you {days} days before “{title}” closes ({closes})."
