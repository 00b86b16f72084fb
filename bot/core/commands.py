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

from bot.core import glossary_admin, queries, subscribe
from bot.core.calendar import calendar_command
from bot.core.context import MAX_INPUT, Context, Services
from bot.core.model import Subscription
from bot.core.replies import Button, Reply, Section

log = logging.getLogger("signpost.commands")

Handler = Callable[[Context, Services, str], Awaitable[Reply]]

HELP = [
    ("calls", "search open funding calls, e.g. /calls mental health"),
    ("internships", "internships, placements and studentships"),
    ("events", "events, webinars and networking, soonest first"),
    ("deadlines", "what you follow that closes in the next 30 days"),
    ("calendar", "your deadlines as a calendar file"),
    ("glossary", "explain a term, e.g. /glossary co-PI"),
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
            "deadlines": lambda c, s, a: queries.deadlines(c, s),
            "calendar": calendar_command,
            "glossary": self.glossary,
            "subscribe": self.subscribe,
            "mysubs": lambda c, s, a: subscribe.list_subscriptions(c, s),
            "unsubscribe": subscribe.unsubscribe,
            "settings": self.settings,
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
        """Answer one typed message."""
        parsed = parse_command(text or "")
        if parsed is None:
            return Reply(text="Type a command, e.g. /calls mental health — /help lists them.")
        name, args = parsed
        handler = self.handlers.get(name)
        if handler is None:
            return Reply(text=f"I don't know /{name[:32]}. /help lists what I can do.")
        if name in self.admin_only and not ctx.is_admin:
            return Reply(text=f"/{name} is for Signpost's administrators.")
        if name in MANAGE and not ctx.can_manage and not (name == "settings" and not args):
            return Reply(
                text="Only this group's admins can change its subscriptions and "
                "settings. Anyone can use /calls, /events and /glossary."
            )
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
        kind, _, rest = (action or "").partition(":")
        try:
            return await self._press(ctx, kind, rest)
        except Exception:
            log.exception("button %r failed in chat %s", kind, ctx.chat.id)
            return Reply(text="Sorry, something went wrong; it has been logged.")

    async def _press(self, ctx: Context, kind: str, rest: str) -> Reply:
        services = self.services
        manage_buttons = {"sub", "unsub", "edit", "set", "forget", "dismiss"}
        if kind in manage_buttons and not ctx.can_manage:
            return Reply(text="Only this group's admins can change that.")
        if kind == "sub":
            return await subscribe.press(ctx, services, rest.split(":"))
        if kind == "unsub":
            return await subscribe.delete_pressed(ctx, services, rest)
        if kind == "edit":
            return await subscribe.edit_pressed(ctx, services, rest)
        if kind == "more":
            item_kind, _, tail = rest.partition(":")
            offset, _, query = tail.partition(":")
            if item_kind not in queries.KIND_WORDS or not offset.isdigit():
                return Reply(text="That button has expired; search again.")
            reply = await queries.search(ctx, services, query, kind=item_kind, offset=int(offset))
            return reply
        if kind in ("remind", "dismiss"):
            return await self._track(ctx, kind, rest)
        if kind == "glossary":
            entry = services.vocabulary.glossary.get(rest)
            if entry is None:
                return Reply(text="That term is no longer in the glossary.")
            return Reply(sections=[queries.entry_section(entry, services.vocabulary.glossary)])
        if kind == "set":
            return await self._toggle_setting(ctx, rest)
        if kind == "calendar":
            return await calendar_command(ctx, services, "")
        if kind == "forget" and rest == "yes":
            return await self.forget(ctx, services, "yes")
        if kind == "forget":
            return Reply(text="Nothing was deleted.", edit=True)
        return Reply(text="That button has expired.")

    async def _track(self, ctx: Context, kind: str, rest: str) -> Reply:
        if not rest.isdigit():
            return Reply(text="That button has expired.")
        services = self.services
        now = services.clock.now()
        async with services.store.unit() as unit:
            item = await unit.opportunities.get(int(rest))
            if item is None:
                return Reply(text="That opportunity is no longer listed.")
            if kind == "remind":
                await unit.tracking.track(ctx.chat_id, item.id, now=now, requested=True)
            else:
                await unit.tracking.dismiss(ctx.chat_id, item.id, now=now)
        if kind == "remind":
            return Reply(text=f"I'll remind you 14 and 3 days before “{item.title[:80]}” closes.")
        return Reply(text="Noted: no more reminders or updates about that one here.")

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
        return Reply(text="What I can do:", sections=[Section(lines=lines)])

    async def glossary(self, ctx: Context, services: Services, args: str) -> Reply:
        word, _, rest = args.partition(" ")
        admin_words = {
            "add": glossary_admin.add_term,
            "suggestions": glossary_admin.suggestions,
            "done": glossary_admin.done,
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

    async def settings(self, ctx: Context, services: Services, args: str) -> Reply:
        word, _, value = args.partition(" ")
        word, value = word.lower(), value.strip()
        now = services.clock.now()
        if word in ("timezone", "tz") and value:
            from bot.core.formatting import zone

            if zone(value).key != value:
                return Reply(
                    text=f"I don't know the time zone “{value[:40]}”. "
                    "Use a name like Europe/London."
                )
            async with services.store.unit() as unit:
                ctx.chat = await unit.chats.update_settings(ctx.chat_id, now, timezone=value)
        elif word == "hour" and value.isdigit() and 0 <= int(value) <= 23:
            async with services.store.unit() as unit:
                for sub in await unit.chats.subscriptions(ctx.chat_id):
                    sub.digest_hour = int(value)
                    await unit.chats.update_subscription(sub, now=now)
        elif word:
            return Reply(
                text="Settings: /settings timezone Europe/London, /settings hour 8, "
                "or tap the buttons."
            )
        return self._settings_reply(ctx, edit=False)

    def _settings_reply(self, ctx: Context, *, edit: bool) -> Reply:
        chat = ctx.chat
        lines = [
            f"Time zone: {chat.timezone}",
            f"Glossary notes in alerts: {'on' if chat.glossary_in_alerts else 'off'}",
            f"Term of the week: {'on' if chat.term_of_week else 'off'}",
            f"Alerts: {'paused — ' + (chat.paused_reason or '') if not chat.active else 'on'}",
        ]
        return Reply(
            text="Settings for this chat",
            sections=[Section(lines=lines)],
            buttons=[
                Button("Glossary notes on/off", action="set:glossary"),
                Button("Term of the week on/off", action="set:tow"),
            ],
            edit=edit,
        )

    async def _toggle_setting(self, ctx: Context, which: str) -> Reply:
        field = {"glossary": "glossary_in_alerts", "tow": "term_of_week"}.get(which)
        if field is None:
            return Reply(text="That button has expired.")
        async with self.services.store.unit() as unit:
            ctx.chat = await unit.chats.update_settings(
                ctx.chat_id, self.services.clock.now(), **{field: not getattr(ctx.chat, field)}
            )
        return self._settings_reply(ctx, edit=True)

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
        content = json.dumps(data, indent=2, ensure_ascii=False, default=str).encode()
        digest = hashlib.sha256(content).hexdigest()[:8]
        return Reply(
            text=f"Everything stored about this chat ({len(data.get('subscriptions', []))} "
            "subscriptions), as JSON.",
            attachment=(f"signpost-export-{digest}.json", content),
        )
