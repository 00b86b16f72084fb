"""The long-running process: build everything in order, run, and stop in reverse order.

Nothing happens at import time. ``serve`` builds settings-driven components on one event
loop — storage (migrated on start), the shared HTTP client, the scheduler and whichever
transports are configured — and tears them down within ``SHUTDOWN_SECONDS`` of SIGINT or
SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.settings import Settings
from storage.store import Store

log = logging.getLogger("signpost")

SHUTDOWN_SECONDS = 5.0

# A component hook: given the running services, start something and return its stopper.
Starter = Callable[["Services"], Awaitable[Callable[[], Awaitable[None]] | None]]


@dataclass(slots=True)
class Services:
    """What the running bot is made of; handed to transports, jobs and health checks."""

    settings: Settings
    store: Store
    http: object
    scheduler: AsyncIOScheduler
    offline: bool = False
    extras: dict[str, object] = field(default_factory=dict)


def user_agent(settings: Settings) -> str:
    from bot import __version__

    return f"SignpostBot/{__version__} (+{settings.contact_url})"


def _install_signal_handlers(stop: asyncio.Event) -> list[signal.Signals]:
    loop = asyncio.get_running_loop()
    installed = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
            installed.append(signum)
    return installed


async def serve(
    settings: Settings,
    *,
    offline: bool = False,
    stop: asyncio.Event | None = None,
    components: list[Starter] | None = None,
) -> None:
    """Run the bot until ``stop`` is set (or a signal arrives), then shut down cleanly."""
    from sources.http import build_http_client

    stop = stop or asyncio.Event()
    signals = _install_signal_handlers(stop)
    stack = AsyncExitStack()
    try:
        store = Store.from_url(settings.database_url)
        stack.push_async_callback(store.close)
        revision = await store.upgrade()
        log.info("database ready (%s, schema revision %s)", store.dialect, revision)

        transport = None
        if offline:
            from sources.offline import SnapshotTransport

            transport = SnapshotTransport.from_package()
        http = build_http_client(user_agent(settings), transport=transport)
        stack.push_async_callback(http.aclose)

        scheduler = AsyncIOScheduler(timezone="UTC")
        scheduler.start()
        stack.callback(scheduler.shutdown, wait=False)

        services = Services(settings, store, http, scheduler, offline=offline)
        for line in settings.describe_transports():
            log.info(line)
        for start_component in components or []:
            stopper = await start_component(services)
            if stopper is not None:
                stack.push_async_callback(stopper)
        log.info("Signpost is running%s; press Ctrl-C to stop", " (offline)" if offline else "")
        await stop.wait()
        log.info("stopping")
    finally:
        try:
            async with asyncio.timeout(SHUTDOWN_SECONDS):
                await stack.aclose()
        except TimeoutError:
            log.warning("shutdown took longer than %.0f s; exiting anyway", SHUTDOWN_SECONDS)
        loop = asyncio.get_running_loop()
        for signum in signals:
            loop.remove_signal_handler(signum)
    log.info("stopped")
