"""A bot starting with many sources on PostgreSQL, for the pool test and ``bench/startup.py``.

``StartupRig`` builds the real runtime (``build_runtime`` from a sources file) on a private
PostgreSQL schema, with every source an RSS feed on one of a few slow loopback websites
(``tests.helpers.fake_website``) and the real Telegram transport talking to the fake Bot API
(``tests.helpers.fake_telegram``). ``start_polls()`` fires every source's poll at once, as the
scheduler does at start; ``ask()`` sends a command as a Telegram user and waits for the answer.

The feeds are CONSTRUCTED here (three items each, links on the fake host): the test is about
connections, not parsing, and no link may point at a real site.

It watches the database pool from outside: ``peak`` (most pooled connections checked out at
once) and ``pool_errors`` (log records of a pool that ran dry, "QueuePool limit ... reached").
"""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from sqlalchemy import event

from bot.runtime import Runtime, build_runtime
from bot.settings import load_settings
from bot.telegram.lifecycle import TelegramTransport, start_telegram
from sources.http import Fetcher
from sources.poller import PollReport
from storage.store import Store
from tests.helpers.databases import PostgresSchema
from tests.helpers.fake_telegram import FakeTelegramServer, TelegramLimits
from tests.helpers.fake_website import FakeWebsite
from tests.helpers.limits import UNTHROTTLED_TELEGRAM as FAST_SENDING

POOL_EXHAUSTED = "QueuePool limit"


def constructed_feed(origin: str, source: int, items: int = 3) -> str:
    """A small RSS 2.0 feed (CONSTRUCTED, see the module docstring)."""
    entries = "".join(
        f"<item><title>Research grant {source}-{n}</title>"
        f"<link>{origin}/calls/{source}/{n}</link><guid>{origin}/calls/{source}/{n}</guid>"
        f"<description>Funding for mental health research, round {n}. Closing date: "
        f"30 June 2031.</description><pubDate>Mon, 03 Jun 2030 09:00:00 +0000</pubDate></item>"
        for n in range(items)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>Funder {source}</title><link>{origin}/</link>"
        f"<description>Constructed feed</description>{entries}</channel></rss>"
    )


class _PoolErrors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text += str(record.exc_info[1])
        if POOL_EXHAUSTED in text:
            self.count += 1


class StartupRig:
    """See the module docstring. ``async with StartupRig(url, tmp) as rig: ...``"""

    def __init__(
        self,
        postgres_url: str,
        workdir: Path,
        *,
        sources: int = 40,
        hosts: int = 4,
        delay: float = 0.3,
        min_gap: float = 0.2,
        retry_seconds: float = 0.2,
        wait_for_leading: bool = True,
    ) -> None:
        self.postgres_url = postgres_url
        self.workdir = workdir
        self.source_count = sources
        self.host_count = hosts
        self.delay = delay
        self.min_gap = min_gap
        self.retry_seconds = retry_seconds
        self.wait_for_leading = wait_for_leading
        self.peak = 0
        self._out = 0
        self._errors = _PoolErrors()
        self._stack = AsyncExitStack()
        self._polls: list[asyncio.Task[PollReport | None]] = []
        self.sites: list[FakeWebsite] = []

    @property
    def pool_errors(self) -> int:
        return self._errors.count

    async def __aenter__(self) -> StartupRig:
        stack = self._stack
        await stack.__aenter__()
        try:
            await self._start(stack)
        except BaseException:
            await stack.aclose()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for task in self._polls:
            task.cancel()
        await asyncio.gather(*self._polls, return_exceptions=True)
        await self._stack.aclose()

    async def _start(self, stack: AsyncExitStack) -> None:
        logging.getLogger().addHandler(self._errors)
        stack.callback(logging.getLogger().removeHandler, self._errors)
        self.telegram = await stack.enter_async_context(
            FakeTelegramServer(limits=TelegramLimits(enabled=False))
        )
        for _ in range(self.host_count):
            self.sites.append(await stack.enter_async_context(FakeWebsite(delay=self.delay)))
        lines = []
        for n in range(self.source_count):
            site = self.sites[n % self.host_count]
            site.serve(f"/feed/{n}", constructed_feed(site.origin, n), content_type="text/xml")
            lines += [
                f"[sources.funder-{n:02d}]",
                'type = "rss"',
                f'url = "{site.url(f"/feed/{n}")}"',
                'evidence = "confirmed"  # served by the fake website',
            ]
        sources_file = self.workdir / "sources.toml"
        sources_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
        schema = PostgresSchema(self.postgres_url)
        await schema.create()
        stack.push_async_callback(schema.drop)
        self.store = Store.from_url(self.postgres_url, schema=schema.name)
        stack.push_async_callback(self.store.close)
        await self.store.upgrade()
        settings = load_settings(
            database_url=self.postgres_url,
            sources_file=sources_file,
            telegram_bot_token=self.telegram.token,
            telegram_api_base_url=self.telegram.base_url,
        )
        self.runtime: Runtime = await build_runtime(
            settings, self.store, offline=False, stop=asyncio.Event()
        )
        stack.push_async_callback(self.runtime.http.aclose)
        # Politeness per origin stays on, shorter than production's 1 s to keep the run short.
        self.runtime.fetcher = Fetcher(self.runtime.http, min_gap=self.min_gap)
        self._watch_pool()
        stop = await start_telegram(
            self.runtime, send_limits=FAST_SENDING, retry_seconds=self.retry_seconds
        )
        stack.push_async_callback(stop)
        self.transport: TelegramTransport = stop.__self__  # type: ignore[attr-defined]
        if self.wait_for_leading:
            await self._until(lambda: self.transport.leading, 30, "the bot to receive updates")

    def _watch_pool(self) -> None:
        engine = self.store.database.engine.sync_engine

        def checkout(*_: Any) -> None:
            self._out += 1
            self.peak = max(self.peak, self._out)

        def checkin(*_: Any) -> None:
            self._out -= 1

        event.listen(engine, "checkout", checkout)
        event.listen(engine, "checkin", checkin)

    def start_polls(self) -> None:
        """Every source's scheduled poll, all at once (as at start)."""
        self._polls = [
            asyncio.create_task(self.runtime.poll_one(name))
            for name in sorted(self.runtime.sources)
        ]

    @property
    def polls_running(self) -> int:
        return sum(not task.done() for task in self._polls)

    async def finish_polls(self, seconds: float = 120) -> list[PollReport | None]:
        async with asyncio.timeout(seconds):
            return list(await asyncio.gather(*self._polls))

    async def feeds_requested(self, count: int, seconds: float = 30) -> None:
        """Wait until ``count`` feeds have been asked for (polls are under way)."""
        await self._until(
            lambda: sum(len(s.requests) for s in self.sites) >= count, seconds, "feed requests"
        )

    async def ask(self, user: int, text: str, seconds: float = 60) -> float:
        """Send ``text`` from ``user``; seconds until the bot's first answer was sent."""
        self.telegram.push_update(self.telegram.build.private_message(user, text))
        sent_at = time.monotonic()
        await self._until(
            lambda: self.telegram.sent_messages(user), seconds, f"an answer to {text}"
        )
        return self.telegram.sent_messages(user)[0].time - sent_at

    def feeds_at_once(self) -> int:
        """The most feed requests in flight at one moment, over all the sites."""
        events = []
        for site in self.sites:
            for request in site.requests:
                if request.path.startswith("/feed/"):
                    events += [(request.started, 1), (request.ended or float("inf"), -1)]
        peak = current = 0
        for _, step in sorted(events):
            current += step
            peak = max(peak, current)
        return peak

    def answer(self, user: int) -> str:
        return self.telegram.sent_messages(user)[0].plain_text

    @staticmethod
    async def _until(condition, seconds: float, what: str) -> None:
        deadline = time.monotonic() + seconds
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError(f"gave up after {seconds:.0f} s waiting for {what}")
            await asyncio.sleep(0.01)
