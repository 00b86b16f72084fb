"""The Telegram transport: python-telegram-bot on Signpost's event loop, updates in, replies out.

Lifecycle. ``telegram_component(runtime)`` builds a PTB ``Application`` (``base_url`` from
TELEGRAM_API_BASE_URL, for a self-hosted Bot API server) and, on the loop already running,
initializes it (getMe), starts it, sets the command menu from the core's HELP, and registers a
``TelegramChannel`` as ``runtime.channels["telegram"]``: every replica sends. Updates arrive by

* long polling, on one replica only: the holder of the ``leader:telegram`` advisory lock
  (PostgreSQL frees a dead session's locks; on SQLite, one process by design, it is always
  granted). The others try again every 10 s, so a survivor takes over well within 30 s;
* a webhook when TELEGRAM_WEBHOOK_URL is set: every replica serves it on TELEGRAM_WEBHOOK_PORT
  and answers 403, handling nothing, to a request without the ``secret_token`` given to
  setWebhook (TELEGRAM_WEBHOOK_SECRET, required). A small aiohttp server, not
  ``Updater.start_webhook``: that needs tornado (PTB's ``webhooks`` extra), which Signpost does
  not install, while aiohttp is already a dependency.

``runtime.connected["telegram"]`` says whether Telegram answers (False after a polling error
until a quiet 10 s). The stop function stops intake, lets PTB finish the updates in hand and
shuts down within ``STOP_SECONDS``.

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
import contextlib
import hmac
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from telegram import BotCommand, BotCommandScopeAllPrivateChats, ChatMember, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import BadRequest, InvalidToken, TelegramError
from telegram.ext import (
    Application,
    BaseUpdateProcessor,
    CallbackQueryHandler,
    ChatMemberHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.core.commands import HELP, parse_command
from bot.core.context import Context
from bot.core.model import Chat
from bot.core.replies import Reply
from bot.delivery.channel import ChatGone, ChatMoved, DeliveryError, RetryAfter
from bot.settings import Settings
from bot.telegram_channel import GONE_MARK, SendLimits, TelegramChannel, chat_target
from storage.locks import hold

__all__ = [
    "ChatOrderedProcessor",
    "TelegramTransport",
    "build_application",
    "start_telegram",
    "telegram_component",
]

log = logging.getLogger("signpost.telegram")

LEADER_LOCK = "leader:telegram"
RETRY_SECONDS = 10.0
ADMIN_CACHE_SECONDS = 60.0
STOP_SECONDS = 4.0
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY, Update.MY_CHAT_MEMBER]
MANAGERS = frozenset({ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER})
OWN_COMMANDS = frozenset({"start", "help", "channel"})  # never act for a managed channel
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
CHANNEL_USAGE = (
    "To manage a channel's alerts from here: add me to the channel as an admin who can post, "
    "then send /channel @channelname (or /channel -100… for a private channel)."
)
_USERNAME = re.compile(r"@[A-Za-z][A-Za-z0-9_]{3,31}")
_CHANNEL_ID = re.compile(r"-100\d{5,16}")


class ChatOrderedProcessor(BaseUpdateProcessor):
    """Updates of different chats run concurrently; one chat's run in arrival order, so that a
    guided flow's taps never overtake each other and a slow chat never holds up the rest."""

    def __init__(self, max_concurrent_updates: int = 64) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await coroutine
            return
        lock, users = self._locks.get(chat.id, (asyncio.Lock(), 0))
        self._locks[chat.id] = (lock, users + 1)
        try:
            async with lock:
                await coroutine
        finally:
            lock, users = self._locks[chat.id]
            if users <= 1:
                del self._locks[chat.id]
            else:
                self._locks[chat.id] = (lock, users - 1)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""


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


def build_application(settings: Settings) -> Application:
    """The PTB application: our base URL, no job queue (APScheduler runs Signpost's jobs)."""
    assert settings.telegram_bot_token is not None
    builder = (
        Application.builder()
        .token(settings.telegram_bot_token.get_secret_value())
        .concurrent_updates(ChatOrderedProcessor())
        .job_queue(None)
    )
    if base := settings.telegram_api_base_url:
        files = base[: -len("/bot")] + "/file/bot" if base.endswith("/bot") else base
        builder = builder.base_url(base).base_file_url(files)
    return builder.build()


class TelegramTransport:
    """Receives Telegram updates and answers them through the core's commands."""

    def __init__(
        self,
        runtime: Any,
        application: Application,
        *,
        send_limits: SendLimits | None = None,
        retry_seconds: float = RETRY_SECONDS,
    ) -> None:
        self.runtime = runtime
        self.application = application
        self.channel = TelegramChannel(application.bot, send_limits=send_limits)
        self.retry_seconds = retry_seconds
        self.admin_cache_seconds = ADMIN_CACHE_SECONDS
        self.leading = False
        self._token = application.bot.token
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._webhook: web.AppRunner | None = None
        self._admins: dict[tuple[str, int], tuple[float, bool]] = {}
        self._polling_failed_at: float | None = None
        application.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, self.on_migrate))
        application.add_handler(
            MessageHandler(filters.UpdateType.MESSAGE & filters.COMMAND, self.on_command)
        )
        private_text = filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND
        application.add_handler(
            MessageHandler(filters.UpdateType.MESSAGE & private_text, self.on_text)
        )
        application.add_handler(CallbackQueryHandler(self.on_press))
        application.add_handler(ChatMemberHandler(self.on_member, ChatMemberHandler.MY_CHAT_MEMBER))
        application.add_error_handler(self.on_error)

    def _scrub(self, text: str) -> str:
        return text.replace(self._token, "[redacted]")

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Connect now if Telegram answers, else keep trying in the background; a refused
        token is a configuration error and stops the start."""
        try:
            await self._connect()
        except InvalidToken:
            raise RuntimeError(
                "Telegram refused TELEGRAM_BOT_TOKEN; check it with @BotFather"
            ) from None
        except TelegramError as error:
            log.warning(
                "Telegram is not reachable yet (%s); retrying every %.0f s",
                self._scrub(error.message),
                self.retry_seconds,
            )
            self.runtime.connected["telegram"] = False
        self._task = asyncio.create_task(self._run(), name="telegram")

    async def _connect(self) -> None:
        app = self.application
        await app.initialize()
        if not app.running:
            await app.start()
        menu = [BotCommand(name, what) for name, what in HELP]
        try:
            await app.bot.set_my_commands(menu)
            private = [*menu, BotCommand("channel", "manage a channel's alerts from here")]
            await app.bot.set_my_commands(private, scope=BotCommandScopeAllPrivateChats())
        except TelegramError as error:
            log.warning("could not set the Telegram command menu: %s", self._scrub(error.message))
        self.runtime.channels["telegram"] = self.channel
        self.runtime.connected["telegram"] = True

    async def _wait(self, seconds: float) -> bool:
        """Sleep unless stopping; True when stopping."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stopping.wait()
        return self._stopping.is_set()

    async def _run(self) -> None:
        """Connect (if start could not), then receive updates until stopped."""
        try:
            while not self.application.running:
                if await self._wait(self.retry_seconds):
                    return
                try:
                    await self._connect()
                except TelegramError as error:
                    log.warning("Telegram is still not reachable: %s", self._scrub(error.message))
            if self.runtime.settings.telegram_webhook_url:
                await self._serve_webhook()
            else:
                await self._lead()
        except Exception:  # e.g. the webhook port is taken: say so, keep sending alerts
            self.runtime.connected["telegram"] = False
            log.exception("Telegram stopped receiving updates")

    async def _lead(self) -> None:
        """Long-poll while holding the leader lock; until then ask for it every few seconds."""
        while not self._stopping.is_set():
            try:
                async with hold(self.runtime.store.database, LEADER_LOCK) as mine:
                    if mine:
                        await self._poll()
                        return
            except Exception as error:  # the database or Telegram had a moment: ask again
                log.warning("Telegram polling stopped (%s); trying again", self._scrub(str(error)))
            if await self._wait(self.retry_seconds):
                return

    async def _poll(self) -> None:
        updater = self.application.updater
        assert updater is not None
        await updater.start_polling(allowed_updates=ALLOWED_UPDATES, error_callback=self._failed)
        self.leading = True
        log.info("Telegram: this replica receives updates (long polling)")
        try:
            while not await self._wait(self.retry_seconds):
                failed = self._polling_failed_at
                quiet = failed is None or time.monotonic() - failed >= self.retry_seconds
                self.runtime.connected["telegram"] = quiet
        finally:
            self.leading = False
            if updater.running:
                await updater.stop()

    def _failed(self, error: TelegramError) -> None:
        """PTB retries polling by itself; note the failure for health, without a traceback."""
        self._polling_failed_at = time.monotonic()
        self.runtime.connected["telegram"] = False
        log.warning("Telegram polling failed, retrying: %s", self._scrub(error.message))

    async def _serve_webhook(self) -> None:
        settings = self.runtime.settings
        url, port = settings.telegram_webhook_url, settings.telegram_webhook_port
        secret = settings.telegram_webhook_secret.get_secret_value()
        app = web.Application()
        app.router.add_post(urlsplit(url).path or "/", self._webhook_handler(secret))
        self._webhook = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._webhook.setup()
        # Every interface: Telegram (or the reverse proxy in front) must reach it.
        await web.TCPSite(self._webhook, "0.0.0.0", port).start()  # noqa: S104
        log.info("Telegram: webhook listening on port %d", port)
        while True:
            try:
                await self.application.bot.set_webhook(
                    url, secret_token=secret, allowed_updates=ALLOWED_UPDATES
                )
                break
            except TelegramError as error:
                self.runtime.connected["telegram"] = False
                log.warning("setWebhook failed, retrying: %s", self._scrub(error.message))
            if await self._wait(self.retry_seconds):
                return
        self.runtime.connected["telegram"] = True

    def _webhook_handler(self, secret: str) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def receive(request: web.Request) -> web.Response:
            """One update POSTed by Telegram; 403 without the secret, and nothing is handled."""
            given = request.headers.get(SECRET_HEADER, "")
            if not hmac.compare_digest(given.encode(), secret.encode()):
                log.info("refused a webhook request without the right secret token")
                return web.Response(status=403)
            try:
                payload = await request.json()
                if not isinstance(payload, dict) or "update_id" not in payload:
                    raise ValueError("not an update")
                update = Update.de_json(payload, self.application.bot)
            except Exception as error:  # whatever the body holds, it is not an update
                log.info("unreadable webhook update: %s", type(error).__name__)
                return web.Response(status=400)
            await self.application.update_queue.put(update)
            return web.Response()

        return receive

    async def stop(self) -> None:
        """Stop receiving, finish the updates in hand, shut PTB down; within STOP_SECONDS."""
        self._stopping.set()
        app = self.application
        try:
            async with asyncio.timeout(STOP_SECONDS):
                if self._task is not None:
                    await asyncio.gather(self._task, return_exceptions=True)
                if self._webhook is not None:
                    await self._webhook.cleanup()
                if app.updater is not None and app.updater.running:
                    await app.updater.stop()
                if app.running:
                    await app.stop()
                await app.shutdown()
        except TimeoutError:
            log.warning("Telegram did not stop within %.0f s; leaving it", STOP_SECONDS)
        finally:
            if self.runtime.channels.get("telegram") is self.channel:
                del self.runtime.channels["telegram"]
            self.runtime.connected["telegram"] = False

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


async def start_telegram(
    runtime: Any, *, send_limits: SendLimits | None = None, retry_seconds: float = RETRY_SECONDS
) -> Callable[[], Awaitable[None]]:
    """Start the transport (see the module docstring); returns its stop function."""
    settings: Settings = runtime.settings
    if settings.telegram_bot_token is None:
        raise RuntimeError("TELEGRAM_BOT_TOKEN is not set")
    if settings.telegram_webhook_url and settings.telegram_webhook_secret is None:
        raise RuntimeError(
            "TELEGRAM_WEBHOOK_URL is set without TELEGRAM_WEBHOOK_SECRET: refusing to accept "
            "updates that anyone could forge"
        )
    transport = TelegramTransport(
        runtime, build_application(settings), send_limits=send_limits, retry_seconds=retry_seconds
    )
    await transport.start()
    return transport.stop


async def telegram_component(runtime: Any) -> Callable[[], Awaitable[None]]:
    """``bot.app.serve``'s component: Telegram with its published limits."""
    return await start_telegram(runtime)
