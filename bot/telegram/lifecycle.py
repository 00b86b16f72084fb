"""The Telegram transport: python-telegram-bot on Signpost's event loop, updates in, replies out.

Lifecycle. ``telegram_component(runtime)`` builds a PTB ``Application`` (``base_url`` from
TELEGRAM_API_BASE_URL, for a self-hosted Bot API server) and, on the loop already running,
initializes it (getMe), starts it, sets the command menu from the core's HELP, and registers a
``TelegramChannel`` as ``runtime.channels["telegram"]``: every replica sends. Updates arrive by

* long polling, on one replica only: the holder of the ``leader:telegram`` advisory lock
  (PostgreSQL frees a dead session's locks; on SQLite, one process by design, it is always
  granted). The others try again every 10 s, so a survivor takes over well within 30 s.
  Two pollers at once make Telegram answer both with 409 Conflict, so leadership is checked
  from both ends: the leader confirms its lock every ``CONFIRM_SECONDS`` and stops polling
  the moment it cannot (its database link broke: PostgreSQL may have given the lock to
  another replica already), then asks for the lock again like any follower; and a new leader
  waits ``takeover_grace`` (one confirm interval, one confirm deadline and a margin for PTB's
  last getUpdates, 3 s) before its first long poll, by which time a leader that was cut off
  has noticed and stopped;
* a webhook when TELEGRAM_WEBHOOK_URL is set: every replica serves it on TELEGRAM_WEBHOOK_PORT
  and answers 403, handling nothing, to a request without the ``secret_token`` given to
  setWebhook (TELEGRAM_WEBHOOK_SECRET, required). A small aiohttp server, not
  ``Updater.start_webhook``: that needs tornado (PTB's ``webhooks`` extra), which Signpost does
  not install, while aiohttp is already a dependency.

``runtime.connected["telegram"]`` says whether Telegram answers (False after a polling error
until a quiet 10 s). The stop function stops intake, lets PTB finish the updates in hand and
shuts down within ``STOP_SECONDS``.

Update handling (commands, buttons, membership, channels) is in ``bot.telegram.updates``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from telegram import BotCommand, BotCommandScopeAllPrivateChats, Update
from telegram.error import InvalidToken, TelegramError
from telegram.ext import (
    Application,
    BaseUpdateProcessor,
    CallbackQueryHandler,
    ChatMemberHandler,
    MessageHandler,
    filters,
)

from bot.core.commands import HELP
from bot.settings import Settings
from bot.telegram.channel import SendLimits, TelegramChannel
from bot.telegram.updates import TelegramUpdates
from storage.locks import Held, hold

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
CONFIRM_SECONDS = 1.0  # the leader asks "is the lock still mine?" this often
CONFIRM_TIMEOUT = 1.5  # and takes no answer within this long for "no"
STOP_MARGIN = 0.5  # PTB's stop: cancel the long poll, one getUpdates with timeout 0
ADMIN_CACHE_SECONDS = 60.0
STOP_SECONDS = 4.0
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY, Update.MY_CHAT_MEMBER]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name


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


class TelegramTransport(TelegramUpdates):
    """Receives Telegram updates and answers them through the core's commands."""

    def __init__(
        self,
        runtime: Any,
        application: Application,
        *,
        send_limits: SendLimits | None = None,
        retry_seconds: float = RETRY_SECONDS,
        confirm_seconds: float | None = None,
    ) -> None:
        self.runtime = runtime
        self.application = application
        self.channel = TelegramChannel(application.bot, send_limits=send_limits)
        self.retry_seconds = retry_seconds
        # Tests retry fast; the checks scale down with them so a takeover stays quick.
        self.confirm_seconds = confirm_seconds or min(CONFIRM_SECONDS, retry_seconds)
        self.confirm_timeout = min(CONFIRM_TIMEOUT, max(0.5, 2 * self.confirm_seconds))
        self.takeover_grace = self.confirm_seconds + self.confirm_timeout + STOP_MARGIN
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
        """Long-poll while holding the leader lock; until then, and after losing it, ask for
        it every few seconds."""
        while not self._stopping.is_set():
            try:
                async with hold(self.runtime.store.database, LEADER_LOCK) as mine:
                    if mine:
                        await self._poll(mine)
            except Exception as error:  # the database or Telegram had a moment: ask again
                log.warning("Telegram polling stopped (%s); trying again", self._scrub(str(error)))
            if await self._wait(self.retry_seconds):
                return

    async def _poll(self, mine: Held) -> None:
        """Long-poll until stopping or until the lock can no longer be confirmed."""
        # A leader cut off from the database stops within a confirm interval and deadline:
        # start only after that, so Telegram never sees its long poll and ours together.
        if await self._wait(self.takeover_grace) or not await self._confirm(mine):
            return
        updater = self.application.updater
        assert updater is not None
        await updater.start_polling(allowed_updates=ALLOWED_UPDATES, error_callback=self._failed)
        self.leading = True
        log.info("Telegram: this replica receives updates (long polling)")
        try:
            while not await self._wait(self.confirm_seconds):
                if not await self._confirm(mine):
                    break
                failed = self._polling_failed_at
                quiet = failed is None or time.monotonic() - failed >= self.retry_seconds
                self.runtime.connected["telegram"] = quiet
        finally:
            try:
                if updater.running:
                    await updater.stop()
            finally:
                self.leading = False  # only once the last getUpdates is over

    async def _confirm(self, mine: Held) -> bool:
        if await mine.confirm(self.confirm_timeout):
            return True
        log.warning(
            "Telegram: cannot confirm the %s lock (database link lost?); stopping receiving "
            "updates and asking for the lock again",
            LEADER_LOCK,
        )
        return False

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


async def start_telegram(
    runtime: Any,
    *,
    send_limits: SendLimits | None = None,
    retry_seconds: float = RETRY_SECONDS,
    confirm_seconds: float | None = None,
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
        runtime,
        build_application(settings),
        send_limits=send_limits,
        retry_seconds=retry_seconds,
        confirm_seconds=confirm_seconds,
    )
    await transport.start()
    return transport.stop


async def telegram_component(runtime: Any) -> Callable[[], Awaitable[None]]:
    """``bot.app.serve``'s component: Telegram with its published limits."""
    return await start_telegram(runtime)
