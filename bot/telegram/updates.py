"""Telegram updates in, core commands and replies out: the translating half of the transport.

Translation. An update becomes a core ``Context``: the stored chat (one per forum topic, so
alerts for a subscription made in a topic go back to that topic), the user, ``can_manage``
(always in a private chat; in a group for its administrators, asked with getChatMember and
remembered for a minute) and ``is_admin`` (SIGNPOST_ADMINS). Commands and private plain text
go to ``Commands.handle``, buttons to ``Commands.press`` (answered at once; a reply with
``edit`` replaces the pressed message). One chat's updates are handled in order, different
chats concurrently (``ChatOrderedProcessor``).

Channels. Nobody types commands in a channel, so its admin manages it from a private chat with
the bot: ``/channel @name`` (or ``/channel -100…``) checks with getChatMember that the user
administers the channel and that the bot may post there; from then on every command in that
private chat except /start, /help and /channel acts for the channel, until ``/channel off``.
The choice is stored on the private chat (``managed_by = "chat:<id>"``, never a user id) so that
any replica answers alike; the channel's ``managed_by`` names the user who set it up. The
user's admin status is checked again (cached a minute) each time.

Chat state. The bot added to a group creates the chat and says hello; removed, kicked or
blocked pauses it with the reason; added again or unblocked resumes it ("welcome back"); a group
that becomes a supergroup moves its chat to the new id.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from typing import Any

from telegram import ChatMember, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    Application,
    ContextTypes,
)

from bot.core.commands import parse_command
from bot.core.context import Context
from bot.core.model import Chat
from bot.core.replies import Reply
from bot.delivery.channel import ChatGone, ChatMoved, DeliveryError, RetryAfter
from bot.telegram.channel import GONE_MARK, TelegramChannel, chat_target

log = logging.getLogger("signpost.telegram")

MANAGERS = frozenset({ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER})
OWN_COMMANDS = frozenset({"start", "help", "channel"})  # never act for a managed channel
CHANNEL_USAGE = (
    "To manage a channel's alerts from here: add me to the channel as an admin who can post, "
    "then send /channel @channelname (or /channel -100… for a private channel)."
)
_USERNAME = re.compile(r"@[A-Za-z][A-Za-z0-9_]{3,31}")
_CHANNEL_ID = re.compile(r"-100\d{5,16}")


def _present(member: ChatMember) -> bool:
    status = member.status
    return (
        status in MANAGERS
        or status == ChatMemberStatus.MEMBER
        or (status == ChatMemberStatus.RESTRICTED and bool(getattr(member, "is_member", False)))
    )


def _channel_ref(text: str) -> int | str | None:
    if _USERNAME.fullmatch(text):
        return text.lower()  # usernames are case-insensitive: one chat row per channel
    return int(text) if _CHANNEL_ID.fullmatch(text) else None


class TelegramUpdates:
    """The update handlers of ``bot.telegram.TelegramTransport``, which owns the application,
    the channel and the runtime they use; split out so each file reads in one sitting."""

    runtime: Any
    application: Application
    channel: TelegramChannel
    admin_cache_seconds: float
    _admins: dict

    _scrub: Callable[[str], str]  # removes the token from error texts (the transport's)

    # ------------------------------------------------------------------ translation
    async def context(self, update: Update) -> tuple[Context, Chat]:
        """The core's view of an update, and the stored chat where the answer goes."""
        tg_chat, user = update.effective_chat, update.effective_user
        query = update.callback_query  # its message may be too old to read: no topic then
        message = query.message if query is not None else update.effective_message
        assert tg_chat is not None
        thread = ""
        if getattr(message, "is_topic_message", False) and message.message_thread_id:
            thread = str(message.message_thread_id)
        private = tg_chat.type == ChatType.PRIVATE
        title = None if private else tg_chat.title
        wanted = Chat("telegram", str(tg_chat.id), thread, kind=tg_chat.type, title=title)
        async with self.runtime.store.unit() as unit:
            here = await unit.chats.ensure(wanted, now=self.runtime.clock.now())
        user_id = str(user.id) if user else ""
        sender = getattr(message, "sender_chat", None)
        if private or (sender is not None and sender.id == tg_chat.id):  # or an anonymous admin
            can_manage = True
        else:
            can_manage = user is not None and await self.is_manager(tg_chat.id, user.id)
        is_admin = ("telegram", user_id) in self.runtime.settings.admin_ids
        return Context(here, user_id, can_manage=can_manage, is_admin=is_admin), here

    async def is_manager(self, chat_id: int | str, user_id: int) -> bool:
        """Whether the user administers the chat; a successful answer is kept a minute."""
        key, now = (str(chat_id), user_id), time.monotonic()
        cached = self._admins.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            member = await self.application.bot.get_chat_member(chat_id, user_id)
        except TelegramError as error:
            log.info("getChatMember in %s failed: %s", chat_id, self._scrub(error.message))
            return False
        if len(self._admins) > 4096:
            self._admins = {k: v for k, v in self._admins.items() if v[0] > now}
        self._admins[key] = (now + self.admin_cache_seconds, member.status in MANAGERS)
        return member.status in MANAGERS

    async def answer(self, where: Chat, reply: Reply, *, edit: int | None = None) -> None:
        """Send a reply (or edit it into message ``edit``); failures are logged, not raised.
        A short flood wait is waited out once: a person is waiting for this answer."""
        for attempt in (1, 2):
            try:
                if edit is not None:
                    await self.channel.edit(where, edit, reply)
                else:
                    await self.channel.send(where, reply)
                return
            except RetryAfter as error:
                if attempt == 2 or error.seconds > 10:
                    log.warning("answer to %s dropped: %s", where.platform_chat_id, error)
                    return
                await asyncio.sleep(error.seconds)
            except (ChatGone, ChatMoved) as error:
                log.info("could not answer in %s: %s", where.platform_chat_id, error)
                return
            except DeliveryError as error:
                log.warning("could not answer in %s: %s", where.platform_chat_id, error)
                return

    # ------------------------------------------------------------------ handlers
    async def on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Any /command: /channel is the transport's; the core answers the rest."""
        message = update.effective_message
        assert message is not None
        text = message.text or ""
        mention = text.split(maxsplit=1)[0].partition("@")[2]
        if mention and mention.lower() != (context.bot.username or "").lower():
            return  # addressed to another bot in the group
        name, args = parse_command(text) or ("", "")
        ctx, here = await self.context(update)
        if name == "channel":
            reply = await self.channel_command(ctx, here, args)
        elif name not in OWN_COMMANDS and (refusal := await self._act_for_channel(ctx, here)):
            reply = refusal
        else:
            reply = await self.runtime.commands.handle(ctx, text)
        await self.answer(here, self._labelled(ctx, here, reply))

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Plain text in a private chat: the core answers with a hint."""
        ctx, here = await self.context(update)
        text = update.effective_message.text if update.effective_message else ""
        await self.answer(here, await self.runtime.commands.handle(ctx, text or ""))

    async def on_press(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A button: answer the query at once, then edit in place or reply anew."""
        query = update.callback_query
        assert query is not None
        try:
            await query.answer()
        except BadRequest as error:  # "query is too old": the user pressed long ago; carry on
            log.debug("answerCallbackQuery: %s", error.message)
        except TelegramError as error:
            log.info("answerCallbackQuery failed: %s", self._scrub(error.message))
        if not query.data or query.message is None or update.effective_chat is None:
            return
        ctx, here = await self.context(update)
        reply = await self._act_for_channel(ctx, here)
        if reply is None:
            reply = await self.runtime.commands.press(ctx, query.data)
        reply = self._labelled(ctx, here, reply)
        editable = reply.edit and query.message.is_accessible
        await self.answer(here, reply, edit=query.message.message_id if editable else None)

    async def on_member(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The bot's own membership changed: added, removed, blocked or unblocked."""
        change = update.my_chat_member
        assert change is not None
        joined = _present(change.new_chat_member)
        if _present(change.old_chat_member) == joined:
            return  # promoted, demoted, restricted: still here
        tg_chat, now = change.chat, self.runtime.clock.now()
        kind, private = tg_chat.type, tg_chat.type == ChatType.PRIVATE
        keys = [str(tg_chat.id)]
        if kind == ChatType.CHANNEL and tg_chat.username:  # /channel may have stored @name
            keys.append(f"@{tg_chat.username.lower()}")
        async with self.runtime.store.unit() as unit:
            # The chat and each of its forum topics are rows of their own: all go together.
            known = [chat for key in keys for chat in await unit.chats.threads("telegram", key)]
            if not joined:
                why = "the user blocked the bot" if private else f"removed from the {kind}"
                for chat in known:
                    if chat.active:  # a chat paused with /pause keeps that reason
                        await unit.chats.pause(chat.id, GONE_MARK + why, now)
                log.info("Telegram chat %s paused: %s", tg_chat.id, why)
                return
            returning = [
                chat
                for chat in known
                if not chat.active and (chat.paused_reason or "").startswith(GONE_MARK)
            ]
            for chat in returning:
                await unit.chats.resume(chat.id, now)
            here = None
            if kind != ChatType.CHANNEL:  # a channel is set up with /channel, not here
                title = None if private else tg_chat.title
                wanted = Chat("telegram", str(tg_chat.id), kind=kind, title=title)
                here = await unit.chats.ensure(wanted, now=now)
        if returning:
            log.info("Telegram chat %s resumed", tg_chat.id)
        if here is None:
            return  # never post unasked into a channel
        if returning:
            text = "Welcome back — alerts resumed. /mysubs lists this chat's subscriptions."
            await self.answer(here, Reply(text=text))
        elif kind in (ChatType.GROUP, ChatType.SUPERGROUP):
            ctx = Context(here, str(change.from_user.id), can_manage=False)
            await self.answer(here, await self.runtime.commands.handle(ctx, "/start"))

    async def on_migrate(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A group became a supergroup: its chats (every topic) move to the new id."""
        message = update.effective_message
        assert message is not None
        if message.migrate_to_chat_id:
            old, new = message.chat.id, message.migrate_to_chat_id
        else:
            old, new = message.migrate_from_chat_id, message.chat.id
        async with self.runtime.store.unit() as unit:
            moved = await unit.chats.migrate(
                "telegram", str(old), str(new), self.runtime.clock.now()
            )
        if moved is not None:
            log.info("Telegram chat %s became supergroup %s", old, new)

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log a failed update (never a request URL) and apologise in its chat if we can."""
        error = context.error
        if isinstance(error, TelegramError):
            log.warning("Telegram update failed: %s", self._scrub(error.message))
            return
        log.error("handling a Telegram update failed", exc_info=error)
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is not None:
            sorry = Reply(text="Sorry, something went wrong; it has been logged.")
            await self.answer(Chat("telegram", str(chat.id), kind=chat.type), sorry)

    # ------------------------------------------------------------------ channels
    async def channel_command(self, ctx: Context, here: Chat, args: str) -> Reply:
        """``/channel @name`` | ``/channel -100…`` | ``/channel off`` | ``/channel``."""
        if here.kind != ChatType.PRIVATE:
            return Reply(text="Use /channel in a private chat with me. " + CHANNEL_USAGE)
        word = (args.split() or [""])[0]
        if word.lower() == "off":
            await self._manage(here, None)
            return Reply(text="Done: commands here act for this chat again.")
        if not word:
            channel = await self._managed_channel(here)
            if channel is None:
                return Reply(text=CHANNEL_USAGE)
            return Reply(text=f"Commands here act for {channel.title}. /channel off to stop.")
        target = _channel_ref(word)
        if target is None:
            return Reply(text=CHANNEL_USAGE)
        if not await self.is_manager(target, int(ctx.user_id)):
            return Reply(
                text=f"I can't see you as an admin of {word}, so I can't let you manage it."
            )
        bot = self.application.bot
        try:
            me = await bot.get_chat_member(target, bot.id)
        except TelegramError:
            me = None
        if (
            me is None
            or me.status != ChatMemberStatus.ADMINISTRATOR
            or (getattr(me, "can_post_messages", None) is False)
        ):
            return Reply(
                text=f"Add me to {word} as an admin who can post messages, then try again."
            )
        now = self.runtime.clock.now()
        async with self.runtime.store.unit() as unit:
            wanted = Chat("telegram", str(target), kind=ChatType.CHANNEL, title=word)
            channel = await unit.chats.ensure(wanted, now=now)
            # Like Slack's: ``managed_by`` on a channel is the user who set it up.
            await unit.chats.update_settings(channel.id, now, managed_by=ctx.user_id)
        await self._manage(here, channel)
        return Reply(
            text=f"From now on /subscribe, /mysubs, /settings, /pause, /resume, /export and "
            f"/forget here act for {word}. Send /channel off to stop."
        )

    async def _manage(self, here: Chat, channel: Chat | None) -> None:
        ref = f"chat:{channel.id}" if channel is not None else None
        async with self.runtime.store.unit() as unit:
            await unit.chats.update_settings(here.id, self.runtime.clock.now(), managed_by=ref)

    async def _managed_channel(self, here: Chat) -> Chat | None:
        ref = here.managed_by or ""
        if here.kind != ChatType.PRIVATE or not ref.removeprefix("chat:").isdigit():
            return None
        async with self.runtime.store.unit() as unit:
            return await unit.chats.get(int(ref.removeprefix("chat:")))

    async def _act_for_channel(self, ctx: Context, here: Chat) -> Reply | None:
        """Point ``ctx`` at the channel this private chat manages, if any; a Reply if the
        channel is gone or the user no longer administers it."""
        if not (here.managed_by or "").startswith("chat:"):
            return None
        channel = await self._managed_channel(here)
        if channel is None or not await self.is_manager(chat_target(channel), int(ctx.user_id)):
            await self._manage(here, None)
            name = channel.title if channel is not None else "that channel"
            return Reply(
                text=f"I no longer act for {name} here (it was forgotten, or you no longer "
                "administer it); commands act for this chat again. /channel to choose one."
            )
        ctx.chat, ctx.can_manage = channel, True
        return None

    @staticmethod
    def _labelled(ctx: Context, here: Chat, reply: Reply) -> Reply:
        if ctx.chat.id != here.id:
            reply.text = f"[{ctx.chat.title or ctx.chat.platform_chat_id}] {reply.text}".strip()
        return reply
