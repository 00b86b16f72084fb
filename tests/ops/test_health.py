"""The health endpoint over real HTTP: readiness, per-source ages, metrics, a clean stop."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.clock import FrozenClock
from bot.ops.health import HealthServer, health_component, held_locks, start_health_server
from bot.ops.metrics import Metrics
from bot.runtime import Runtime, build_runtime
from bot.settings import Settings
from sources.poller import PollReport
from storage.locks import hold
from storage.store import Store

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
FAKE_TELEGRAM_TOKEN = "123456789:AAHealthTestTokenNotRealxxxxxxxxxxxxx"
SLACK_SOCKET_MODE = {"slack_bot_token": "xoxb-0-health-test", "slack_app_token": "xapp-0-health"}


def settings_for(monkeypatch, **values) -> Settings:
    """Settings from ``values`` alone: a variable in the test runner's environment (a real
    token, say) must not change what is configured."""
    for field in Settings.model_fields.values():
        monkeypatch.delenv(field.alias, raising=False)
    return Settings(**values)


async def make_runtime(settings: Settings, store: Store) -> Runtime:
    runtime = await build_runtime(settings, store, offline=False, stop=asyncio.Event())
    runtime.clock = FrozenClock(NOW)
    return runtime


@pytest.fixture
async def serve_health():
    """Start endpoints on loopback ephemeral ports; stop them and the runtimes at the end."""
    started: list[tuple[HealthServer, Runtime]] = []

    async def start(runtime: Runtime) -> HealthServer:
        server = await start_health_server(runtime, host="127.0.0.1", port=0)
        started.append((server, runtime))
        return server

    yield start
    for server, runtime in reversed(started):
        await server()
        await runtime.http.aclose()


async def get(url: str) -> tuple[int, str, dict | None, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        text = await response.text()
        is_json = response.content_type == "application/json"
        body = await response.json() if is_json else None
        return response.status, text, body, response.headers.get("Content-Type", "")


async def test_ready_with_each_source_age(store, monkeypatch, serve_health):
    runtime = await make_runtime(settings_for(monkeypatch), store)
    async with store.unit() as unit:
        await unit.polling.record_success(
            "ukri", now=NOW - timedelta(seconds=90), items=4, next_poll_at=NOW, duration_ms=10
        )
    server = await serve_health(runtime)

    status, _, body, _ = await get(f"{server.url}/healthz")

    assert status == 200
    assert body["status"] == "ok"
    assert body["live"] is True and body["ready"] is True
    assert body["database"] == {"reachable": True, "dialect": store.dialect}
    assert body["transports"] == {}
    assert body["problems"] == []
    assert body["sources"]["ukri"] == {
        "last_success_age_seconds": 90.0,
        "consecutive_failures": 0,
        "last_success_at": (NOW - timedelta(seconds=90)).isoformat(),
        "last_attempt_at": (NOW - timedelta(seconds=90)).isoformat(),
        "last_error": None,
    }
    assert body["sources"]["nihr"]["last_success_age_seconds"] is None
    assert set(body["sources"]) == set(runtime.sources)


async def test_a_success_stamped_by_another_clock_is_not_reported_as_just_now(
    store, monkeypatch, serve_health
):
    """An offline replay reads the capture date; a live run sharing its database stamped
    its success later. The age used to be clamped to 0 beside a failure: "succeeded just
    now, failed once"."""
    runtime = await make_runtime(settings_for(monkeypatch), store)
    later = NOW + timedelta(days=30)
    async with store.unit() as unit:
        await unit.polling.record_success(
            "ukri", now=later, items=4, next_poll_at=later, duration_ms=10
        )
        await unit.polling.record_failure(
            "ukri", now=NOW, error="robots.txt unreachable", next_poll_at=NOW, duration_ms=5
        )
    server = await serve_health(runtime)

    _, _, body, _ = await get(f"{server.url}/healthz")

    ukri = body["sources"]["ukri"]
    assert ukri["consecutive_failures"] == 1
    assert ukri["last_success_age_seconds"] is None
    assert ukri["last_success_at"] == later.isoformat()
    assert ukri["last_attempt_at"] == NOW.isoformat()
    assert ukri["last_error"] == "robots.txt unreachable"


async def test_the_endpoint_listens_on_loopback_unless_the_host_is_set(store, monkeypatch):
    default = settings_for(monkeypatch, health_port=0)
    assert default.health_host == "127.0.0.1"
    monkeypatch.setenv("SIGNPOST_HEALTH_HOST", "0.0.0.0")
    assert Settings().health_host == "0.0.0.0"
    for settings, host in ((default, "127.0.0.1"), (Settings(health_port=0), "0.0.0.0")):
        runtime = await make_runtime(settings, store)
        server = await health_component(runtime)
        try:
            assert server.host == host
            assert server._runner.addresses[0][0] == host
            assert server.url.startswith("http://127.0.0.1:")
        finally:
            await server()
            await runtime.http.aclose()


async def test_a_configured_transport_that_is_not_connected_is_not_ready(
    store, monkeypatch, serve_health
):
    settings = settings_for(monkeypatch, telegram_bot_token=FAKE_TELEGRAM_TOKEN)
    runtime = await make_runtime(settings, store)
    server = await serve_health(runtime)

    status, text, body, _ = await get(f"{server.url}/healthz")
    assert status == 503
    assert body["ready"] is False
    assert body["transports"] == {"telegram": {"configured": True, "connected": False}}
    assert body["problems"] == ["telegram not connected"]
    assert FAKE_TELEGRAM_TOKEN not in text

    runtime.connected["telegram"] = True
    status, _, body, _ = await get(f"{server.url}/healthz")
    assert status == 200
    assert body["transports"]["telegram"]["connected"] is True


async def test_a_slack_socket_mode_follower_is_ready_while_another_replica_leads(
    store, monkeypatch, serve_health
):
    runtime = await make_runtime(settings_for(monkeypatch, **SLACK_SOCKET_MODE), store)
    runtime.connected["slack"] = False  # as bot/slack.py reports a follower
    server = await serve_health(runtime)

    async with hold(store.database, "leader:slack") as mine:  # "another replica" leads
        assert mine
        status, _, body, _ = await get(f"{server.url}/healthz")

    if store.dialect == "postgresql":
        assert status == 200
        assert body["transports"]["slack"] == {
            "configured": True,
            "connected": False,
            "leader_elsewhere": True,
        }
    else:  # one process: no other replica can be receiving for it
        assert status == 503
        assert body["transports"]["slack"]["leader_elsewhere"] is False
        assert body["problems"] == ["slack not connected"]


async def test_held_locks_sees_a_lock_only_while_it_is_held(store):
    name = f"test-lock-{uuid.uuid4().hex}"  # unique: other test runs share the server
    assert await held_locks(store, [name]) == set()
    async with hold(store.database, name):
        expected = {name} if store.dialect == "postgresql" else set()
        assert await held_locks(store, [name, "test-lock-never-taken"]) == expected
    assert await held_locks(store, [name]) == set()


@pytest.mark.parametrize("where", ["sqlite-directory", "postgresql-refused"])
async def test_an_unreachable_database_is_not_ready_but_metrics_still_answer(
    where, tmp_path, monkeypatch, serve_health
):
    healthy = Store.from_url(f"sqlite:///{tmp_path / 'signpost.db'}")
    await healthy.upgrade()
    runtime = await make_runtime(settings_for(monkeypatch), healthy)
    await healthy.close()
    # The database goes away after start (it cannot be away at start: serve migrates it).
    if where == "sqlite-directory":
        (tmp_path / "db").mkdir()  # a directory where the file should be: connecting fails
        runtime.store = Store.from_url(f"sqlite:///{tmp_path / 'db'}")
    else:  # nothing listens on port 1
        runtime.store = Store.from_url("postgresql://signpost@127.0.0.1:1/signpost")
    try:
        server = await serve_health(runtime)

        status, _, body, _ = await get(f"{server.url}/healthz")
        assert status == 503
        assert body["database"]["reachable"] is False
        assert body["problems"] == ["database unreachable"]
        assert body["sources"] == {}

        status, text, _, _ = await get(f"{server.url}/metrics")
        assert status == 200
        assert "signpost_database_up 0.0" in text
    finally:
        await runtime.store.close()


async def test_metrics_count_observed_deliveries_and_polls(store, monkeypatch, serve_health):
    runtime = await make_runtime(settings_for(monkeypatch), store)
    server = await serve_health(runtime)

    # The hooks the rest of the bot calls: the dispatcher's observe, the runtime's metrics.
    runtime.dispatcher.observe("telegram", "sent", "new")
    runtime.dispatcher.observe("telegram", "failed", "new")
    runtime.metrics.observe_poll(PollReport("ukri", "failed", error="timeout", duration_ms=2500))
    status, text, _, content_type = await get(f"{server.url}/metrics")

    assert status == 200
    assert content_type.startswith("text/plain")
    values = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert values[("signpost_alerts_sent_total", (("platform", "telegram"), ("reason", "new")))]
    failed = (("outcome", "failed"), ("platform", "telegram"), ("reason", "new"))
    assert values[("signpost_alerts_failed_total", failed)] == 1
    assert values[("signpost_poll_failures_total", (("source", "ukri"),))] == 1
    assert values[("signpost_poll_duration_seconds_sum", (("source", "ukri"),))] == 2.5
    assert values[("signpost_poll_failures_total", (("source", "nihr"),))] == 0
    assert values[("signpost_database_up", ())] == 1
    assert values[("signpost_outbox_depth", ())] == 0


async def test_the_component_binds_the_configured_port_and_stops_cleanly(store, monkeypatch):
    runtime = await make_runtime(settings_for(monkeypatch, health_port=0), store)
    no_op = runtime.dispatcher.observe
    try:
        stop = await health_component(runtime)
        assert isinstance(runtime.metrics, Metrics)
        assert runtime.dispatcher.observe == runtime.metrics.observe_delivery
        assert stop.port > 0
        status, _, _, _ = await get(f"{stop.url}/healthz")
        assert status == 200

        await stop()

        assert runtime.metrics is None
        assert runtime.dispatcher.observe is no_op
        with pytest.raises(aiohttp.ClientConnectionError):
            await get(f"{stop.url}/healthz")
        await stop()  # a second stop is harmless
    finally:
        await runtime.http.aclose()
