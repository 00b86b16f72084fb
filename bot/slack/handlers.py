"""Slack requests in, core commands through, Block Kit out.

Why it is thin: the core already answers every command and button for every platform; a
Slack listener only turns a slash command, a button press or a form into a ``Context`` and
a core call, then answers through ``respond()`` (the request's ``response_url``), which
needs no channel membership and can be private to the asker. Every listener calls
``ack()`` first: Slack gives three seconds, and a search may take longer than that.

Who may change a channel's alerts: anyone who can run a slash command in it. Slack offers
no cheap "is this person a channel manager" check, channel membership is already the trust
boundary for everything else posted there, and teams that share a channel usually want any
of them to be able to tune its alerts. The person who last subscribed a channel is
recorded (``Chat.managed_by``) so their App Home lists it. Signpost's own admin commands
stay restricted to ``SIGNPOST_ADMINS``.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import replace
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import queries
from bot.core.commands import Commands
from bot.core.context import Context
from bot.core.model import Chat, Subscription
from bot.core.replies import Reply, Section
from bot.core.subscribe import describe
from bot.slack.render import ACTION_PREFIX, render
from bot.slack.slash import ADMIN_HELP, SHARE, SLACK_HELP, parse_slash, slack_words
from bot.slack.views import MODAL_CALLBACK, home_view, read_subscription, subscribe_modal

__all__ = ["SlackHandlers"]

log = logging.getLogger("signpost.slack")

MAX_RESPONSES = 5  # Slack accepts five posts to one response_url
_ACTIONS = re.compile("^" + re.escape(ACTION_PREFIX))


class SlackHandlers:
    """The listeners; ``register`` attaches them to a bolt ``AsyncApp``."""

    def __init__(self, commands: Commands, admins: frozenset[tuple[str, str]]) -> None:
        self.commands = commands
        self.services = commands.services
        self.admins = admins

    def register(self, app: AsyncApp) -> None:
        for name in ("/calls", "/glossary", "/deadlines", "/signpost"):
            app.command(name)(self.on_command)
        app.action(_ACTIONS)(self.on_action)
        app.view(MODAL_CALLBACK)(self.on_submit)
        app.event("app_home_opened")(self.on_home_opened)

    # ------------------------------------------------------------------ context
    async def context(self, channel_id: str, channel_name: str | None, user_id: str) -> Context:
        """The stored chat for a Slack conversation (created on first contact)."""
        dm = channel_id.startswith("D") or channel_name == "directmessage"
        chat = Chat(
            "slack",
            channel_id,
            kind="dm" if dm else "channel",
            title="direct message" if dm else (channel_name or None),
        )
        async with self.services.store.unit() as unit:
            chat = await unit.chats.ensure(chat, now=self.services.clock.now())
        is_admin = ("slack", user_id) in self.admins
        return Context(chat=chat, user_id=user_id, can_manage=True, is_admin=is_admin)

    def topics(self) -> list[tuple[str, str]]:
        return [(t.slug, t.label) for t in self.services.vocabulary.taxonomy.topics]

    # ------------------------------------------------------------------ listeners
    async def on_command(self, ack, command: dict[str, Any], respond, client) -> None:
        """Every slash command: ack, work out the core command, answer privately."""
        await ack()
        request = parse_slash(command.get("command", ""), command.get("text", ""))
        try:
            ctx = await self.context(
                command["channel_id"], command.get("channel_name"), command["user_id"]
            )
            if request.kind == "modal":
                reply = await self.open_modal(client, command.get("trigger_id"), ctx.chat)
            elif request.kind == "help":
                reply = self.help(ctx)
            else:
                reply = await self.commands.handle(ctx, request.text)
                if request.text.startswith("/subscribe "):
                    await self.note_manager(ctx)
        except Exception:
            log.exception("Slack command %s failed", command.get("command"))
            reply = Reply(text="Sorry, something went wrong; it has been logged.")
        if reply is not None:
            await self.answer(respond, reply, share=request.share)

    async def on_action(self, ack, body: dict[str, Any], action: dict[str, Any], respond, client):
        """A button: link buttons need only the ack; others go to ``Commands.press``."""
        await ack()
        value = action.get("value")
        if not value:
            return
        channel = body.get("channel") or {}
        if not channel.get("id"):  # pressed in the App Home tab
            meta = json.loads((body.get("view") or {}).get("private_metadata") or "{}")
            channel = {"id": meta.get("dm", ""), "name": "directmessage"}
        if not channel["id"]:
            return
        trigger = body.get("trigger_id")
        try:
            ctx = await self.context(channel["id"], channel.get("name"), body["user"]["id"])
            if value in ("home:subscribe", "sub:t:0:-:-:0"):
                reply = await self.open_modal(client, trigger, ctx.chat)
            elif value.startswith("edit:") and (existing := await self._subscription(ctx, value)):
                reply = await self.open_modal(client, trigger, ctx.chat, existing)
            else:
                reply = await self.commands.press(ctx, value)
        except Exception:
            log.exception("Slack button %r failed", value.partition(":")[0])
            reply = Reply(text="Sorry, something went wrong; it has been logged.")
        if reply is not None and body.get("response_url"):
            await self.answer(respond, reply, share=False, replace=reply.edit)

    async def on_submit(self, ack, body: dict[str, Any], view: dict[str, Any], client) -> None:
        """The subscription form: validate (errors show in the form), then save."""
        fields, errors = read_subscription(
            view.get("state", {}).get("values", {}), {slug for slug, _ in self.topics()}
        )
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        meta = json.loads(view.get("private_metadata") or "{}")
        user = body["user"]["id"]
        now = self.services.clock.now()
        async with self.services.store.unit() as unit:
            chat = await unit.chats.get(int(meta.get("chat") or 0))
            if chat is None or chat.platform != "slack":
                log.warning("subscription form for a chat that no longer exists")
                return
            # Editing keeps the subscription (and its digest hour, reminders) and changes
            # what the form shows; if it was deleted meanwhile, the form makes a new one.
            subs = {s.id: s for s in await unit.chats.subscriptions(chat.id)}
            old = subs.get(int(meta.get("edit") or 0))
            if old is not None:
                stored = await unit.chats.update_subscription(replace(old, **fields), now=now)
            else:
                stored = await unit.chats.add_subscription(
                    Subscription(chat_id=chat.id, **fields), now=now
                )
            await unit.chats.update_settings(chat.id, now, managed_by=user)
        done = "Updated" if old is not None else "Subscribed"
        reply = slack_words(
            Reply(
                text=f"{done}: {describe(stored, self.services)}. "
                "Alerts will appear here; /mysubs lists them."
            )
        )
        await self.confirm(client, chat, user, reply)

    async def on_home_opened(self, event: dict[str, Any], client) -> None:
        """Publish the App Home tab each time someone opens it (events need no ack)."""
        if event.get("tab", "home") != "home":
            return
        user = event["user"]
        view = await self.home(user, event.get("channel", ""))
        try:
            await client.views_publish(user_id=user, view=view)
        except SlackApiError as error:
            log.warning("could not publish the App Home: %s", error.response.get("error"))

    # ------------------------------------------------------------------ answers
    async def answer(
        self, respond, reply: Reply, *, share: bool, replace: bool | None = None
    ) -> None:
        """Answer through response_url: private unless shared. ``replace`` is None for a
        slash command, and for a button says whether to replace the message it was on."""
        messages = render(slack_words(reply))
        if len(messages) > MAX_RESPONSES:
            log.info("answer cut from %d to %d messages", len(messages), MAX_RESPONSES)
        for number, message in enumerate(messages[:MAX_RESPONSES]):
            options: dict[str, Any] = {"text": message.text, "blocks": message.blocks}
            options["unfurl_links"] = options["unfurl_media"] = reply.link_previews
            if replace is not None:
                options["replace_original"] = bool(replace and number == 0)
            if not options.get("replace_original"):
                options["response_type"] = "in_channel" if share else "ephemeral"
            await respond(**options)

    async def confirm(self, client: AsyncWebClient, chat: Chat, user: str, reply: Reply) -> None:
        """Tell the person who submitted the form, privately, where the alerts will go;
        if the bot cannot post in that channel yet, say so in a DM instead."""
        message = render(reply)[0]
        try:
            await client.chat_postEphemeral(
                channel=chat.platform_chat_id, user=user, text=message.text, blocks=message.blocks
            )
        except SlackApiError as error:
            log.info("ephemeral confirmation failed: %s", error.response.get("error"))
            note = " I can't post there yet: invite me with /invite @Signpost."
            try:
                await client.chat_postMessage(channel=user, text=message.text + note)
            except SlackApiError as again:
                log.warning("could not confirm a subscription: %s", again.response.get("error"))

    def help(self, ctx: Context) -> Reply:
        lines = [f"{name} — {what}" for name, what in SLACK_HELP]
        if ctx.is_admin:
            lines += [f"{name} (admin)" for name in ADMIN_HELP]
        lines.append(f"Answers are private to you; add {SHARE} to show one to the channel.")
        return Reply(text="What I can do:", sections=[Section(lines=lines)])

    async def open_modal(
        self,
        client: AsyncWebClient,
        trigger_id: str | None,
        chat: Chat,
        existing: Subscription | None = None,
    ) -> Reply | None:
        """Open the subscription form; None when it opened (the form is the answer)."""
        view = subscribe_modal(self.topics(), chat, existing=existing)
        try:
            await client.views_open(trigger_id=trigger_id, view=view)
        except SlackApiError as error:
            log.info("views.open failed: %s", error.response.get("error"))
            return Reply(
                text="Slack did not open the form in time; please try again, or type e.g. "
                "/subscribe mental health"
            )
        return None

    async def _subscription(self, ctx: Context, value: str) -> Subscription | None:
        sub_id = value.removeprefix("edit:")
        async with self.services.store.unit() as unit:
            subs = await unit.chats.subscriptions(ctx.chat_id)
        return next((s for s in subs if str(s.id) == sub_id), None)

    async def note_manager(self, ctx: Context) -> None:
        """Remember who subscribed a chat, so their App Home lists it."""
        async with self.services.store.unit() as unit:
            if await unit.chats.subscriptions(ctx.chat_id):
                await unit.chats.update_settings(
                    ctx.chat_id, self.services.clock.now(), managed_by=ctx.user_id
                )

    # ------------------------------------------------------------------ App Home
    async def home(self, user: str, dm_channel: str) -> dict[str, Any]:
        """The user's DM subscriptions, the channels they set up, deadlines, settings."""
        async with self.services.store.unit() as unit:
            dm = await unit.chats.find("slack", dm_channel) if dm_channel else None
            managed = await unit.chats.managed_by("slack", user)
            chats = [dm] if dm else []
            chats += [c for c in managed if not dm or c.id != dm.id]
            groups = []
            for chat in chats:
                subs = await unit.chats.subscriptions(chat.id)
                title = "Direct messages" if chat.kind == "dm" else f"#{chat.title or '?'}"
                if not chat.active:
                    title += f" (paused: {chat.paused_reason or 'paused'})"
                groups.append((title, [describe(s, self.services) for s in subs]))
        deadlines: dict[str, Section] = {}
        for chat in chats:
            answer = await queries.deadlines(Context(chat=chat, user_id=user), self.services)
            for section in answer.sections:
                deadlines.setdefault(section.url or section.heading, section)
        settings_chat = dm or Chat("slack", dm_channel)
        settings = [
            f"Time zone: {settings_chat.timezone}",
            f"Glossary notes in alerts: {'on' if settings_chat.glossary_in_alerts else 'off'}",
            f"Term of the week: {'on' if settings_chat.term_of_week else 'off'}",
            "Change them with /signpost settings in our DM or in a channel.",
        ]
        return home_view(groups, list(deadlines.values()), settings, dm_channel=dm_channel)
