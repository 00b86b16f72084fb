"""The long-running process: build everything in order, run, and stop in reverse order.

Nothing happens at import time. ``serve`` opens storage (migrating it), builds the runtime
(shared HTTP client, sources, pipeline, commands, dispatcher), starts the components —
the configured transports, the health endpoint — then the scheduler and the dispatcher, and
on SIGINT/SIGTERM tears them down within ``SHUTDOWN_SECONDS``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from contextlib import AsyncExitStack
from pathlib import Path

from bot.runtime import Component, build_runtime, schedule_jobs
from bot.settings import Settings
from sources import parsing
from storage.store import Store

log = logging.getLogger("signpost")

SHUTDOWN_SECONDS = 5.0


def _install_signal_handlers(stop: asyncio.Event) -> list[signal.Signals]:
    loop = asyncio.get_running_loop()
    installed = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
            installed.append(signum)
    return installed


def console_reads_commands(settings: Settings) -> bool:
    """Whether ``signpost run`` will read commands at a console: no chat token is set and
    stdin is a terminal, a pipe or a file (not a service's ``/dev/null``)."""
    from bot.console import reads_commands

    return not (settings.telegram_configured or settings.slack_configured) and reads_commands()


def default_components(settings: Settings, *, log_path: Path | None = None) -> list[Component]:
    """The transports the settings ask for; the console when no chat token is set (naming
    ``log_path`` as where the logs go, when they were sent to a file)."""
    components: list[Component] = []
    if settings.health_port is not None:
        from bot.ops.health import health_component

        components.append(health_component)
    if settings.telegram_configured:
        from bot.telegram.lifecycle import telegram_component

        components.append(telegram_component)
    if settings.slack_configured:
        from bot.slack.lifecycle import slack_component

        components.append(slack_component)
    if not components or not (settings.telegram_configured or settings.slack_configured):
        from bot.console import reads_commands
        from bot.console_session import console_component

        console = console_component(
            interactive=reads_commands(), chat_name=settings.console_chat, log_path=log_path
        )
        components.append(console)
    return components


async def serve(
    settings: Settings,
    *,
    offline: bool = False,
    stop: asyncio.Event | None = None,
    components: list[Component] | None = None,
) -> None:
    """Run the bot until ``stop`` is set (or a signal arrives), then shut down cleanly."""
    stop = stop or asyncio.Event()
    signals = _install_signal_handlers(stop)
    stack = AsyncExitStack()
    dispatcher_task = None
    try:
        store = Store.from_url(settings.database_url)
        stack.push_async_callback(store.close)
        revision = await store.upgrade()
        log.info("database ready (%s, schema revision %s)", store.dialect, revision)
        runtime = await build_runtime(settings, store, offline=offline, stop=stop)
        stack.push_async_callback(runtime.http.aclose)
        # The parse workers are started on the first poll; stop them with the bot.
        stack.callback(parsing.shutdown)
        for line in settings.describe_transports():
            log.info(line)
        if offline:
            log.info(
                "offline: %d sources replay their snapshots; the clock reads %s",
                len(runtime.sources),
                runtime.clock.now().isoformat(),
            )
        for start in default_components(settings) if components is None else components:
            stopper = await start(runtime)
            if stopper is not None:
                stack.push_async_callback(stopper)
        schedule_jobs(runtime)
        runtime.scheduler.start()
        stack.callback(runtime.scheduler.shutdown, wait=False)
        dispatcher_task = asyncio.create_task(
            runtime.dispatcher.run_forever(stop), name="dispatcher"
        )
        log.info("Signpost is running%s; press Ctrl-C to stop", " offline" if offline else "")
        await stop.wait()
        log.info("stopping")
    finally:
        try:
            async with asyncio.timeout(SHUTDOWN_SECONDS):
                if dispatcher_task is not None:
                    stop.set()
                    await dispatcher_task
                await stack.aclose()
        except TimeoutError:
            log.warning("shutdown took longer than %.0f s; exiting anyway", SHUTDOWN_SECONDS)
        loop = asyncio.get_running_loop()
        for signum in signals:
            loop.remove_signal_handler(signum)
    log.info("stopped")
