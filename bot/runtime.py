"""Everything the running bot is made of, built in one place from the settings.

``build_runtime`` creates the shared HTTP client (or the offline snapshot transport), the
clock, the catalogue's sources, the vocabulary, the ingest pipeline, the command set and the
dispatcher. Transports (console, Telegram, Slack) and the health endpoint are *components*:
``async start(runtime) -> stop`` functions that ``bot.app.serve`` starts in order and stops
in reverse.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

import httpx
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.clock import Clock, SystemClock
from bot.core.commands import Commands
from bot.core.context import Services as CoreServices
from bot.core.glossary_admin import load_admin_terms
from bot.core.pipeline import Ingestor, Vocabulary
from bot.delivery.channel import Channel
from bot.delivery.dispatcher import Dispatcher
from bot.first_poll import FirstPoll
from bot.jobs import notify_admins
from bot.settings import Settings
from sources.base import Source
from sources.catalogue import Catalogue, load_catalogue
from sources.http import Fetcher, build_http_client
from sources.poller import PollReport, poll_many
from sources.registry import build_source
from storage.locks import hold
from storage.store import Store

log = logging.getLogger("signpost")

Stopper = Callable[[], Awaitable[None]]
Component = Callable[["Runtime"], Awaitable[Stopper | None]]


class PollObserver(Protocol):
    """What the runtime tells about each poll; ``bot.ops.metrics.Metrics`` is one. The runtime
    is handed an observer rather than importing the metrics, so operations depend on the
    runtime and never the other way round."""

    def observe_poll(self, report: PollReport) -> None: ...


@dataclass(slots=True)
class Runtime:
    """The running bot's parts; handed to components, jobs and health checks."""

    settings: Settings
    store: Store
    http: httpx.AsyncClient
    fetcher: Fetcher
    clock: Clock
    catalogue: Catalogue
    sources: dict[str, Source]
    vocabulary: Vocabulary
    ingestor: Ingestor
    commands: Commands
    core: CoreServices
    dispatcher: Dispatcher
    scheduler: AsyncIOScheduler
    stop: asyncio.Event
    offline: bool = False
    channels: dict[str, Channel] = field(default_factory=dict)
    connected: dict[str, bool] = field(default_factory=dict)
    metrics: PollObserver | None = None  # hooked by the health endpoint
    first_poll: FirstPoll = field(default_factory=FirstPoll)
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    _poll_slots: asyncio.Semaphore | None = None

    @property
    def poll_slots(self) -> asyncio.Semaphore:
        """At most SIGNPOST_MAX_CONCURRENT_POLLS polls run at once, scheduled or forced. Each
        poll uses one pooled connection at a time for its writes (its lock lives on the lock
        session, see ``storage.locks``), so the bound keeps the rest of the pool free for
        commands, the dispatcher and health checks when every source falls due at start."""
        if self._poll_slots is None:
            self._poll_slots = asyncio.Semaphore(self.settings.max_concurrent_polls)
        return self._poll_slots

    async def poll(self, names: list[str] | None = None) -> list[PollReport]:
        """Poll the named sources (all, when none are named) now; reports in name order."""
        chosen = names or sorted(self.sources)
        reports = await asyncio.gather(*(self.poll_one(name, force=True) for name in chosen))
        return [r for r in reports if r is not None]

    async def ingest(self, source: Source, items):
        stats = await self.ingestor(source, items)
        self.dispatcher.wake()
        return stats

    async def poll_one(self, name: str, *, force: bool = False) -> PollReport | None:
        """Poll one source, one poll per source at a time (so two ingests never race to
        insert the same new items). A scheduled poll skips a source that is being polled,
        polled by a replica, or backing off; ``force`` (an admin's or the CLI's) waits."""
        lock = self._locks.setdefault(name, asyncio.Lock())
        if lock.locked() and not force:
            return None  # a scheduled poll finds one running: nothing to add
        # The slot covers the "is it due?" read too: forty sources falling due at start
        # would otherwise all queue for the pool at once, ahead of a command.
        async with lock, self.poll_slots:
            if not force:
                async with self.store.unit() as unit:
                    state = await unit.polling.get(name)
                if state and state.next_poll_at and state.next_poll_at > self.clock.now():
                    return None
            async with hold(self.store.database, f"poll:{name}") as mine:
                if not mine:
                    return None
                [report] = await poll_many(
                    [self.sources[name]],
                    fetcher=self.fetcher,
                    store=self.store,
                    clock=self.clock,
                    ingest=self.ingest,
                )
            if self.metrics is not None:
                self.metrics.observe_poll(report)
            self.first_poll.record(name, failed=report.outcome == "failed")
        log.info(
            "polled %s: %s (new %d, updated %d, unchanged %d)%s",
            name,
            report.outcome,
            report.new,
            report.updated,
            report.unchanged,
            f": {report.error}" if report.error else "",
        )
        return report

    async def scheduled_poll(self, name: str) -> None:
        """The poll job. A poll skipped (not due, backing off, a replica's) still counts in
        ``first_poll``, from the stored state. Shutdown cancels a running job: that ends it
        quietly, where APScheduler would log the cancellation as the job's traceback."""
        try:
            report = await self.poll_one(name)
            if report is None:
                async with self.store.unit() as unit:
                    state = await unit.polling.get(name)
                failing = state is not None and state.consecutive_failures > 0
                self.first_poll.record(name, failed=failing)
        except asyncio.CancelledError:
            log.info("poll of %s stopped: shutting down", name)


def offline_sources(catalogue: Catalogue, manifest) -> dict[str, Source]:
    """Offline, each source with snapshots starts from its saved pages; the rest are idle."""
    urls: dict[str, list[str]] = {}
    for snapshot in manifest.snapshots:
        if snapshot.source:
            urls.setdefault(snapshot.source, []).append(snapshot.url)
    sources = {}
    for name, start in urls.items():
        config = catalogue.get(name)
        options = dict(config.options) | {"start_urls": start}
        # Only the saved pages exist offline: never follow their "next page" links.
        offline = dataclasses.replace(config, options=options, max_pages=len(start))
        sources[name] = build_source(offline, clock=manifest.clock())
    return sources


async def build_runtime(
    settings: Settings, store: Store, *, offline: bool, stop: asyncio.Event
) -> Runtime:
    """Build every part (no network I/O happens here)."""
    from bot import __version__
    from sources.http import default_user_agent

    catalogue = load_catalogue(settings.sources_file)
    clock: Clock = SystemClock()
    transport = None
    if offline:
        from sources.offline import SnapshotTransport, load_manifest

        manifest = load_manifest()
        transport = SnapshotTransport(manifest)
        clock = manifest.clock()
        sources = offline_sources(catalogue, manifest)
    else:
        sources = {c.name: build_source(c) for c in catalogue.polled()}
    agent = default_user_agent(settings.contact_url, __version__)
    http = build_http_client(agent, transport=transport)
    fetcher = Fetcher(http, min_gap=0.0 if offline else 1.0)
    vocabulary = await asyncio.to_thread(Vocabulary.load, settings.glossary_file)
    ingestor = Ingestor(store, clock, vocabulary, admins=settings.admin_ids)
    scheduler = AsyncIOScheduler(timezone="UTC")
    runtime_ref: list[Runtime] = []

    async def poll_now(names: list[str]) -> str:
        reports = await runtime_ref[0].poll(names or None)
        return (
            "\n".join(
                f"{r.source}: {r.outcome} (new {r.new}, updated {r.updated})"
                + (f" — {r.error}" if r.error else "")
                for r in reports
            )
            or "No sources to poll."
        )

    core = CoreServices(
        store,
        clock,
        vocabulary,
        admins=settings.admin_ids,
        source_names=lambda: sorted(sources),
        poll_now=poll_now,
        poll_progress=lambda: runtime_ref[0].first_poll.progress(),
        fetcher=fetcher,
    )
    commands = Commands(core)
    admin_terms = await load_admin_terms(core)
    if admin_terms:
        vocabulary.reload_glossary(admin_terms)

    async def dead_letter(row, error: str) -> None:
        """Admins hear about every alert given up on, once."""
        await notify_admins(
            store,
            clock,
            settings.admin_ids,
            f"Gave up sending a {row.reason} message (outbox row {row.id}): {error[:300]}",
            key=f"dead:{row.id}",
        )

    dispatcher = Dispatcher(store, clock, {}, vocabulary, on_dead=dead_letter)
    runtime = Runtime(
        settings=settings,
        store=store,
        http=http,
        fetcher=fetcher,
        clock=clock,
        catalogue=catalogue,
        sources=sources,
        vocabulary=vocabulary,
        ingestor=ingestor,
        commands=commands,
        core=core,
        dispatcher=dispatcher,
        scheduler=scheduler,
        stop=stop,
        offline=offline,
        first_poll=FirstPoll(
            sources, local=not (settings.telegram_configured or settings.slack_configured)
        ),
    )
    runtime_ref.append(runtime)
    dispatcher.channels = runtime.channels
    capacity = store.database.capacity
    if capacity is not None and settings.max_concurrent_polls > capacity - 2:
        log.warning(
            "SIGNPOST_MAX_CONCURRENT_POLLS=%d leaves little of the %d-connection database pool "
            "for commands and deliveries; they may wait while sources are polled",
            settings.max_concurrent_polls,
            capacity,
        )
    return runtime


def schedule_jobs(runtime: Runtime) -> None:
    """Poll jobs per source, and the periodic jobs that queue digests, reminders and more."""
    from bot import jobs
    from bot.ops import retention

    scheduler, store, clock = runtime.scheduler, runtime.store, runtime.clock
    rng = random.Random()
    for name, source in runtime.sources.items():
        minutes = max(5, source.config.interval_minutes)
        scheduler.add_job(
            runtime.scheduled_poll,
            "interval",
            args=[name],
            id=f"poll:{name}",
            minutes=minutes,
            jitter=minutes * 6,
            coalesce=True,
            max_instances=1,
            # The scheduler runs on real time even offline, where the clock replays a date.
            next_run_time=datetime.now(UTC) + timedelta(seconds=rng.uniform(0, 3)),
        )
    admins = runtime.settings.admin_ids
    common = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 600}
    scheduler.add_job(
        jobs.close_expired,
        "interval",
        minutes=30,
        args=[store, clock],
        id="close-expired",
        **common,
    )
    scheduler.add_job(
        jobs.queue_reminders, "interval", minutes=30, args=[store, clock], id="reminders", **common
    )
    scheduler.add_job(
        retention.prune,
        "cron",
        hour=3,
        minute=30,
        timezone="Europe/London",
        args=[store, clock],
        id="retention",
        **common,
    )
    scheduler.add_job(
        jobs.release_urgent_held,
        "interval",
        minutes=30,
        args=[store, clock],
        id="release-urgent",
        **common,
    )
    scheduler.add_job(
        jobs.queue_digests, "cron", minute=0, args=[store, clock], id="digests", **common
    )
    scheduler.add_job(
        jobs.queue_term_of_week,
        "cron",
        day_of_week="mon",
        hour=9,
        timezone="Europe/London",
        args=[store, clock, runtime.vocabulary],
        id="term-of-week",
        **common,
    )
    scheduler.add_job(
        jobs.source_health_report,
        "cron",
        hour=8,
        timezone="Europe/London",
        args=[store, clock, admins],
        kwargs={"daily": True},
        id="daily-report",
        **common,
    )
    scheduler.add_job(
        jobs.source_health_report,
        "interval",
        hours=1,
        args=[store, clock, admins],
        kwargs={"daily": False},
        id="health-alerts",
        **common,
    )
