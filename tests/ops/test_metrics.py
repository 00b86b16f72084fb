"""Metrics: counters follow what was observed, gauges follow the database at scrape time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from prometheus_client.parser import text_string_to_metric_families

from bot import __version__
from bot.clock import FrozenClock
from bot.core.model import Chat, Opportunity, Subscription
from bot.ops.metrics import Metrics
from sources.poller import PollReport
from storage.store import Store

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the rendered text, keyed by (name, sorted labels): the text a real
    Prometheus parses, not the registry's objects."""
    text = metrics.render().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(metrics: Metrics, name: str, **labels: str) -> float | None:
    return samples(metrics).get((name, tuple(sorted(labels.items()))))


def fake_runtime(store: Store, **overrides):
    """What ``refresh`` reads from the runtime, without building a whole one."""
    values = {
        "store": store,
        "clock": FrozenClock(NOW),
        "connected": {"telegram": True, "slack": False},
        "sources": {"ukri": None, "nihr": None},
    }
    values.update(overrides)
    return SimpleNamespace(**values)


async def populate(store: Store) -> None:
    """Two chats with three subscriptions, three opportunities, a queue and source state."""
    async with store.unit() as unit:
        tg = await unit.chats.ensure(Chat("telegram", "100"), now=NOW)
        sl = await unit.chats.ensure(Chat("slack", "C200", kind="channel"), now=NOW)
        await unit.chats.add_subscription(Subscription(chat_id=tg.id), now=NOW)
        await unit.chats.add_subscription(Subscription(chat_id=tg.id, topics=["x"]), now=NOW)
        await unit.chats.add_subscription(Subscription(chat_id=sl.id), now=NOW)
        for n, status in enumerate(["open", "open", "closed"]):
            url = f"https://funder.example/calls/{n}"
            item = Opportunity("stub", str(n), url, f"Call {n}", status=status)
            await unit.opportunities.upsert(item, now=NOW)
        for n, minutes in enumerate([30, 5]):
            await unit.outbox.enqueue(
                chat_id=tg.id,
                reason="notice",
                dedupe_key=f"k{n}",
                payload={"text": "hi"},
                now=NOW - timedelta(minutes=minutes),
            )
        await unit.outbox.enqueue(
            chat_id=sl.id, reason="new", dedupe_key="held", now=NOW, held=True
        )
        await unit.polling.record_success(
            "ukri", now=NOW - timedelta(hours=2), items=5, next_poll_at=NOW, duration_ms=900
        )
        await unit.polling.record_failure(
            "nihr", now=NOW, error="HTTP 500", next_poll_at=NOW, duration_ms=100
        )


def test_deliveries_are_counted_by_platform_outcome_and_reason():
    metrics = Metrics()
    metrics.observe_delivery("telegram", "sent", "new")
    metrics.observe_delivery("telegram", "sent", "new")
    metrics.observe_delivery("slack", "sent", "digest")
    metrics.observe_delivery("telegram", "rate_limited", "new")
    metrics.observe_delivery("slack", "dead", "new")

    assert value(metrics, "signpost_alerts_sent_total", platform="telegram", reason="new") == 2
    assert value(metrics, "signpost_alerts_sent_total", platform="slack", reason="digest") == 1
    failed = "signpost_alerts_failed_total"
    assert value(metrics, failed, platform="telegram", outcome="rate_limited", reason="new") == 1
    assert value(metrics, failed, platform="slack", outcome="dead", reason="new") == 1
    assert value(metrics, failed, platform="telegram", outcome="sent", reason="new") is None


def test_polls_are_timed_and_failures_counted_per_source():
    metrics = Metrics()
    metrics.track_sources(["ukri", "nihr", "tnlcf"])
    metrics.observe_poll(PollReport("ukri", "ok", new=3, duration_ms=1500))
    metrics.observe_poll(PollReport("ukri", "unchanged", duration_ms=200))
    metrics.observe_poll(PollReport("nihr", "failed", error="HTTP 500", duration_ms=40_000))

    assert value(metrics, "signpost_poll_duration_seconds_count", source="ukri") == 2
    assert value(metrics, "signpost_poll_duration_seconds_sum", source="ukri") == 1.7
    assert value(metrics, "signpost_poll_duration_seconds_bucket", source="ukri", le="1.0") == 1
    assert value(metrics, "signpost_poll_duration_seconds_bucket", source="nihr", le="30.0") == 0
    assert value(metrics, "signpost_poll_failures_total", source="nihr") == 1
    assert value(metrics, "signpost_poll_failures_total", source="ukri") == 0
    # A source not yet polled is exported at 0, so rate() works from its first failure.
    assert value(metrics, "signpost_poll_failures_total", source="tnlcf") == 0
    assert value(metrics, "signpost_polls_total", source="ukri", outcome="unchanged") == 1


async def test_refresh_reads_queue_opportunities_subscriptions_and_sources(store):
    await populate(store)
    metrics = Metrics()

    assert await metrics.refresh(fake_runtime(store)) is True

    assert value(metrics, "signpost_database_up") == 1
    assert value(metrics, "signpost_outbox_depth") == 2
    assert value(metrics, "signpost_outbox_oldest_age_seconds") == 30 * 60
    assert value(metrics, "signpost_outbox_rows", status="pending") == 2
    assert value(metrics, "signpost_outbox_rows", status="held") == 1
    assert value(metrics, "signpost_outbox_rows", status="dead") == 0
    assert value(metrics, "signpost_opportunities", status="open") == 2
    assert value(metrics, "signpost_opportunities", status="closed") == 1
    assert value(metrics, "signpost_opportunities", status="upcoming") == 0
    assert value(metrics, "signpost_subscriptions", platform="telegram") == 2
    assert value(metrics, "signpost_subscriptions", platform="slack") == 1
    age = "signpost_source_last_success_age_seconds"
    assert value(metrics, age, source="ukri") == 2 * 3600
    assert value(metrics, age, source="nihr") is None  # never succeeded: no age to give
    assert value(metrics, "signpost_source_consecutive_failures", source="nihr") == 1
    assert value(metrics, "signpost_transport_connected", transport="telegram") == 1
    assert value(metrics, "signpost_transport_connected", transport="slack") == 0
    assert value(metrics, "signpost_poll_failures_total", source="ukri") == 0


async def test_a_success_stamped_ahead_of_this_clock_has_no_age(store):
    """Written by another clock (an offline replay's capture date is behind a live run's):
    "0 seconds ago" would be a lie, so the age is absent, as before a first success."""
    async with store.unit() as unit:
        await unit.polling.record_success(
            "ukri", now=NOW + timedelta(days=3), items=5, next_poll_at=NOW, duration_ms=9
        )
        await unit.polling.record_failure(
            "ukri", now=NOW, error="HTTP 500", next_poll_at=NOW, duration_ms=9
        )
    metrics = Metrics()
    await metrics.refresh(fake_runtime(store))
    assert value(metrics, "signpost_source_last_success_age_seconds", source="ukri") is None
    assert value(metrics, "signpost_source_consecutive_failures", source="ukri") == 1


async def test_refresh_of_an_empty_database_exports_zeros(store):
    metrics = Metrics()
    await metrics.refresh(fake_runtime(store, connected={}))
    assert value(metrics, "signpost_outbox_depth") == 0
    assert value(metrics, "signpost_outbox_oldest_age_seconds") == 0
    assert value(metrics, "signpost_subscriptions", platform="telegram") == 0


async def test_refresh_without_a_database_says_so_and_still_renders(tmp_path):
    # A directory where the database file should be: every connection fails.
    (tmp_path / "db").mkdir()
    store = Store.from_url(f"sqlite:///{tmp_path / 'db'}")
    try:
        metrics = Metrics()
        assert await metrics.refresh(fake_runtime(store)) is False
    finally:
        await store.close()
    assert value(metrics, "signpost_database_up") == 0
    assert value(metrics, "signpost_build_info", version=__version__) == 1


def test_each_instance_has_its_own_registry():
    first, second = Metrics(), Metrics()
    first.observe_delivery("telegram", "sent", "new")
    assert value(second, "signpost_alerts_sent_total", platform="telegram", reason="new") is None
