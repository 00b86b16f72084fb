"""The Slack transport as a component of ``bot.app.serve``.

Why two modes: Socket Mode (``SLACK_APP_TOKEN`` set) needs no public URL, so a charity can
run Signpost on a laptop or behind a firewall; HTTP mode (an aiohttp server on
``SLACK_PORT`` at ``/slack/events``) suits a hosted deployment behind a TLS proxy, with
every request's signature and its five-minute replay window checked by bolt.

Slack delivers each Socket Mode event to one of the app's open sockets, so with several
replicas only one should hold the socket: the one that takes the ``leader:slack`` lock.
The others retry every ten seconds and take over when the leader goes away. The leader
confirms its lock every second and closes the socket the moment it cannot (its database link
broke, and PostgreSQL may already have handed the lock on), then asks again like a follower.
No grace before connecting, unlike Telegram: Slack accepts several sockets per app and
gives each event to one of them, so a moment with two open costs nothing. Sending
(the dispatcher's ``SlackChannel``) works on every replica regardless: it only needs the
Web API. ``runtime.connected["slack"]`` is True while this replica receives Slack requests.

Building the bolt app makes no network call: the ``AsyncWebClient`` is built here, with
``SLACK_API_BASE_URL`` when set (tests and proxies), and handed to ``AsyncApp``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.settings import Settings, SettingsError
from bot.slack.channel import SlackChannel
from bot.slack.handlers import SlackHandlers
from storage.locks import Held, hold

if TYPE_CHECKING:
    from bot.runtime import Runtime

__all__ = [
    "EVENTS_PATH",
    "SocketLeader",
    "build_app",
    "build_client",
    "http_app",
    "slack_component",
    "start_http",
    "start_socket_mode",
]

log = logging.getLogger("signpost.slack")

EVENTS_PATH = "/slack/events"
HTTP_HOST = "0.0.0.0"  # noqa: S104 — Slack must reach it; put a TLS proxy in front
LEADER_LOCK = "leader:slack"
LEADER_RETRY_SECONDS = 10.0
LEADER_CONFIRM_SECONDS = 1.0
API_TIMEOUT_SECONDS = 15
# bolt logs a refused request's whole body (response_url included) at INFO: keep it quiet
# and log one line of our own instead.
_NOISY_LOGGERS = ("slack_bolt.RequestVerification", "slack_bolt.AsyncRequestVerification")


def build_client(settings: Settings) -> AsyncWebClient:
    """The Web API client every Slack call goes through (no request is made here)."""
    assert settings.slack_bot_token is not None
    options = {"token": settings.slack_bot_token.get_secret_value()}
    if settings.slack_api_base_url:
        options["base_url"] = settings.slack_api_base_url
    return AsyncWebClient(timeout=API_TIMEOUT_SECONDS, **options)


def build_app(
    runtime: Runtime,
    client: AsyncWebClient,
    *,
    signing_secret: str,
    process_before_response: bool = False,
    socket_mode: bool = False,
) -> AsyncApp:
    """The bolt app with Signpost's listeners. ``process_before_response`` makes a request
    wait for its listener (tests); in production the ack goes back first."""
    app = AsyncApp(
        name="signpost",
        client=client,
        signing_secret=signing_secret,
        process_before_response=process_before_response,
        request_verification_enabled=not socket_mode,
        logger=logging.getLogger("signpost.slack.bolt"),
    )
    for name in _NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    SlackHandlers(runtime.commands, runtime.settings.admin_ids).register(app)
    return app


TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"


def _timestamp_well_formed(value: str | None) -> bool:
    """Absent (bolt refuses that itself) or Unix seconds in ASCII digits: Slack sends ten."""
    return value is None or (value.isascii() and value.isdigit() and len(value) <= 12)


def http_app(app: AsyncApp) -> web.Application:
    """An aiohttp application that hands Slack's POSTs to bolt, nothing more."""

    async def events(request: web.Request) -> web.Response:
        if not _timestamp_well_formed(request.headers.get(TIMESTAMP_HEADER)):
            # bolt's verifier calls int() on it: a non-number would be a 500 and a traceback
            log.info("refused a Slack request: malformed %s", TIMESTAMP_HEADER)
            return web.json_response({"error": "invalid request"}, status=401)
        response = await app.async_dispatch(await to_bolt_request(request))
        if response.status == 401:
            log.info("refused a Slack request: bad or expired signature")
        return await to_aiohttp_response(response)

    web_app = web.Application(client_max_size=1024 * 1024)
    web_app.router.add_post(EVENTS_PATH, events)
    return web_app


async def start_http(runtime: Runtime, app: AsyncApp, port: int) -> Callable[[], Awaitable[None]]:
    """Listen on ``port``; every replica can, behind a load balancer."""
    runner = web.AppRunner(http_app(app), access_log=None, shutdown_timeout=2.0)
    await runner.setup()
    await web.TCPSite(runner, HTTP_HOST, port).start()
    runtime.connected["slack"] = True
    log.info("Slack: listening for requests on port %d at %s", port, EVENTS_PATH)

    async def stop() -> None:
        runtime.connected["slack"] = False
        await runner.cleanup()

    return stop


# ``storage.locks.hold`` or a stand-in; a plain bool answer cannot be re-checked and stands.
Lock = Callable[[object, str], AbstractAsyncContextManager[Held | bool]]


class SocketLeader:
    """Holds the Socket Mode connection while this replica holds ``leader:slack``."""

    def __init__(
        self,
        database,
        connect: Callable[[], Awaitable[Callable[[], Awaitable[None]]]],
        *,
        on_change: Callable[[bool], None] = lambda up: None,
        lock: Lock = hold,
        retry: float = LEADER_RETRY_SECONDS,
        check_every: float | None = None,
    ) -> None:
        self.database = database
        self.connect = connect
        self.on_change = on_change
        self.lock = lock
        self.retry = retry
        self.check_every = check_every or min(LEADER_CONFIRM_SECONDS, retry)
        self.stopping = asyncio.Event()
        self.leading = False

    async def run(self) -> None:
        """Try for the lock until stopped; lead while holding it."""
        while not self.stopping.is_set():
            try:
                async with self.lock(self.database, LEADER_LOCK) as mine:
                    if mine:
                        await self._lead(mine)
                    else:
                        log.debug("another replica holds the Slack socket")
            except SlackApiError as error:
                log.warning(
                    "Slack Socket Mode: Slack refused to open a connection (%s); check "
                    "SLACK_APP_TOKEN (xapp-, scope connections:write); retrying in %.0f s",
                    error.response.get("error"),
                    self.retry,
                )
            except Exception as error:  # the database or the network had a moment
                log.warning("Slack Socket Mode: %s; retrying", type(error).__name__)
            await self._stopped_within(self.retry)

    async def _stopped_within(self, seconds: float) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), seconds)
        return self.stopping.is_set()

    async def _lead(self, mine: Held | bool) -> None:
        close = await self.connect()
        self.leading = True
        self.on_change(True)
        log.info("Slack: connected in Socket Mode (this replica holds %s)", LEADER_LOCK)
        try:
            while not await self._stopped_within(self.check_every):
                if isinstance(mine, Held) and not await mine.confirm():
                    log.warning(
                        "Slack: cannot confirm the %s lock (database link lost?); closing the "
                        "socket and asking for the lock again",
                        LEADER_LOCK,
                    )
                    break
        finally:
            self.leading = False
            self.on_change(False)
            await close()


async def start_socket_mode(
    runtime: Runtime, app: AsyncApp, app_token: str, client: AsyncWebClient
) -> Callable[[], Awaitable[None]]:
    """Hold the Socket Mode connection whenever this replica wins ``leader:slack``."""

    async def connect() -> Callable[[], Awaitable[None]]:
        # Ask for the socket URL ourselves first: slack_sdk retries a refused app token
        # forever, logging a traceback each time, while a refusal here is one clear line
        # and the leader's ten-second retry. The URL is handed on, not requested twice.
        opened = await client.apps_connections_open(app_token=app_token)
        handler = AsyncSocketModeHandler(app, app_token, web_client=client)
        handler.client.wss_uri = opened["url"]
        try:
            await handler.connect_async()
        except BaseException:
            await handler.close_async()
            raise
        return handler.close_async

    def changed(up: bool) -> None:
        runtime.connected["slack"] = up

    leader = SocketLeader(runtime.store.database, connect, on_change=changed)
    runtime.connected["slack"] = False
    task = asyncio.create_task(leader.run(), name="slack-socket-leader")

    async def stop() -> None:
        leader.stopping.set()
        done, _ = await asyncio.wait({task}, timeout=3.0)
        if not done:
            log.warning("Slack Socket Mode did not close in time; cancelling it")
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    return stop


async def slack_component(runtime: Runtime) -> Callable[[], Awaitable[None]]:
    """Start Slack: the channel for alerts, then Socket Mode or the HTTP endpoint."""
    settings = runtime.settings
    if settings.slack_bot_token is None:
        raise SettingsError("Slack needs SLACK_BOT_TOKEN")
    socket_mode = settings.slack_app_token is not None
    secret = settings.slack_signing_secret
    if not socket_mode and secret is None:
        raise SettingsError(
            "Slack HTTP mode needs SLACK_SIGNING_SECRET (or set SLACK_APP_TOKEN for Socket Mode)"
        )
    client = build_client(settings)
    app = build_app(
        runtime,
        client,
        signing_secret=secret.get_secret_value() if secret else "",
        socket_mode=socket_mode,
    )
    runtime.channels["slack"] = SlackChannel(client)
    if socket_mode:
        assert settings.slack_app_token is not None
        app_token = settings.slack_app_token.get_secret_value()
        return await start_socket_mode(runtime, app, app_token, client)
    return await start_http(runtime, app, settings.slack_port)
