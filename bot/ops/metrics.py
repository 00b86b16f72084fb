"""Prometheus metrics: what Signpost did (counters, histograms) and what it holds (gauges).

Two kinds of numbers, filled two ways:

- events are counted as they happen: each delivery outcome the dispatcher reports through its
  ``observe`` hook, and each poll report (``observe_poll``);
- state is read from the database when Prometheus scrapes (``refresh``): the queue, the
  opportunities, the subscriptions and each source's last success. Reading at scrape time
  keeps the numbers right with several replicas, where no one process sees every write.

Every ``Metrics`` owns its own ``CollectorRegistry``: the global one would make a second
instance (another test, a restarted component) fail on duplicate names.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from bot import __version__

if TYPE_CHECKING:
    from bot.runtime import Runtime
    from sources.poller import PollReport

__all__ = ["CONTENT_TYPE", "REFRESH_SECONDS", "Metrics"]

log = logging.getLogger("signpost.metrics")

CONTENT_TYPE = CONTENT_TYPE_LATEST
# A scrape must answer even when the database hangs; stale gauges beat a timed-out scrape.
REFRESH_SECONDS = 5.0
# Poll durations: a 304 takes well under a second, a listing with 25 detail pages at a 1 s
# politeness gap takes half a minute or more.
POLL_BUCKETS = (0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
# Known values are always exported (as 0 when absent), so that a series never vanishes
# between scrapes and alert rules need no ``absent()`` clause.
OUTBOX_STATUSES = ("held", "pending", "leased", "sent", "dead", "cancelled", "digested")
OPPORTUNITY_STATUSES = ("upcoming", "open", "closed")
PLATFORMS = ("telegram", "slack", "console")


class Metrics:
    """Signpost's metrics in a private registry; ``render()`` is the ``/metrics`` body."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.alerts_sent = Counter(
            "signpost_alerts_sent",
            "Messages the platform accepted, by platform and outbox reason.",
            ["platform", "reason"],
            registry=r,
        )
        self.alerts_failed = Counter(
            "signpost_alerts_failed",
            "Send attempts that did not deliver, by outcome: failed (will retry), dead "
            "(gave up), rate_limited, chat_gone (chat paused), moved (chat migrated).",
            ["platform", "outcome", "reason"],
            registry=r,
        )
        self.poll_duration = Histogram(
            "signpost_poll_duration_seconds",
            "Wall time of one poll of one source, whatever its outcome.",
            ["source"],
            buckets=POLL_BUCKETS,
            registry=r,
        )
        self.polls = Counter(
            "signpost_polls",
            "Polls by source and outcome (ok, unchanged, failed).",
            ["source", "outcome"],
            registry=r,
        )
        self.poll_failures = Counter(
            "signpost_poll_failures", "Polls that failed, by source.", ["source"], registry=r
        )
        self.outbox_depth = Gauge(
            "signpost_outbox_depth", "Messages waiting to be sent (pending or leased).", registry=r
        )
        self.outbox_oldest_age = Gauge(
            "signpost_outbox_oldest_age_seconds",
            "Age of the oldest message waiting to be sent; 0 when none waits.",
            registry=r,
        )
        self.outbox_rows = Gauge(
            "signpost_outbox_rows", "Outbox rows by status.", ["status"], registry=r
        )
        self.opportunities = Gauge(
            "signpost_opportunities", "Stored opportunities by status.", ["status"], registry=r
        )
        self.subscriptions = Gauge(
            "signpost_subscriptions", "Subscriptions by platform.", ["platform"], registry=r
        )
        self.source_success_age = Gauge(
            "signpost_source_last_success_age_seconds",
            "Seconds since each source's last successful poll (absent until it has one).",
            ["source"],
            registry=r,
        )
        self.source_failures = Gauge(
            "signpost_source_consecutive_failures",
            "Consecutive failed polls of each source (0 after a success).",
            ["source"],
            registry=r,
        )
        self.transport_connected = Gauge(
            "signpost_transport_connected",
            "1 when the transport reports itself connected, else 0.",
            ["transport"],
            registry=r,
        )
        self.database_up = Gauge(
            "signpost_database_up",
            "1 when the last scrape could read the database; at 0 the other gauges are stale.",
            registry=r,
        )
        self.build_info = Gauge(
            "signpost_build_info", "The running version, as a label.", ["version"], registry=r
        )
        self.build_info.labels(__version__).set(1)
        for status in OPPORTUNITY_STATUSES:
            self.opportunities.labels(status)
        for status in OUTBOX_STATUSES:
            self.outbox_rows.labels(status)
        for platform in PLATFORMS:
            self.subscriptions.labels(platform)

    def observe_delivery(self, platform: str, outcome: str, reason: str) -> None:
        """The dispatcher's ``observe`` hook: one call per send attempt's outcome."""
        if outcome == "sent":
            self.alerts_sent.labels(platform, reason).inc()
        else:
            self.alerts_failed.labels(platform, outcome, reason).inc()

    def observe_poll(self, report: PollReport) -> None:
        """Count one poll and its duration (the runtime calls this after every poll)."""
        self.poll_duration.labels(report.source).observe(report.duration_ms / 1000)
        self.polls.labels(report.source, report.outcome).inc()
        failures = self.poll_failures.labels(report.source)  # exported at 0 until one fails
        if report.outcome == "failed":
            failures.inc()

    def track_sources(self, names: list[str]) -> None:
        """Create every source's counters at 0, so ``rate()`` works from the first failure."""
        for name in names:
            self.poll_failures.labels(name)

    async def refresh(self, runtime: Runtime) -> bool:
        """Read the gauges from the database; False (and ``database_up`` 0) when it cannot.

        Everything is read first and written after, with no ``await`` in between, so a
        concurrent scrape never sees a half-cleared gauge.
        """
        self.track_sources(sorted(runtime.sources))
        connected = dict(runtime.connected)
        for transport, up in connected.items():
            self.transport_connected.labels(transport).set(1 if up else 0)
        now = runtime.clock.now()
        try:
            async with asyncio.timeout(REFRESH_SECONDS), runtime.store.unit() as unit:
                depth, oldest = await unit.outbox.depth(now)
                outbox = await unit.outbox.counts()
                by_status = await unit.opportunities.count_by_status(now)
                by_platform = await unit.chats.count_by_platform()
                health = await unit.polling.all()
        except Exception as exc:  # the scrape must still answer, saying the database is down
            log.warning("metrics: cannot read the database (%s)", type(exc).__name__)
            self.database_up.set(0)
            return False
        self.database_up.set(1)
        self.outbox_depth.set(depth)
        self.outbox_oldest_age.set(max(0.0, oldest))
        _fill(self.outbox_rows, OUTBOX_STATUSES, outbox)
        _fill(self.opportunities, OPPORTUNITY_STATUSES, by_status)
        _fill(self.subscriptions, PLATFORMS, by_platform)
        self.source_success_age.clear()
        self.source_failures.clear()
        for source in health:
            self.source_failures.labels(source.name).set(source.consecutive_failures)
            if source.last_success_at is not None:
                age = (now - source.last_success_at).total_seconds()
                # A success stamped ahead of this clock (an offline replay's, or a replica's
                # with a clock ahead) has no honest age here: absent, not "just now".
                if age >= 0:
                    self.source_success_age.labels(source.name).set(age)
        return True

    def render(self) -> bytes:
        """The registry in Prometheus text format (``CONTENT_TYPE``)."""
        return generate_latest(self.registry)


def _fill(gauge: Gauge, known: tuple[str, ...], values: dict[str, int]) -> None:
    """Set a labelled gauge to ``values``: known labels at 0 when absent, stale ones dropped."""
    gauge.clear()
    for label in known:
        gauge.labels(label).set(0)
    for label, value in values.items():
        gauge.labels(label).set(value)
