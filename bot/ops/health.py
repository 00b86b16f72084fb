"""The health and metrics endpoint: ``/healthz`` (JSON) and ``/metrics`` (Prometheus).

``/healthz`` answers two questions at once. That it answers at all proves the process is
alive (the event loop runs handlers). Its status code says whether this replica is *ready*:
200 when the database answers and every configured transport (Telegram when
``TELEGRAM_BOT_TOKEN`` is set, Slack when ``SLACK_BOT_TOKEN`` is) reports itself connected
in ``runtime.connected``; 503 otherwise, with the reasons in ``problems``. Sources never make
a replica unready: a silent source is the admins' business (the daily report and the
``signpost_source_last_success_age_seconds`` metric), not a reason to restart the bot.

``runtime.connected["telegram"]`` is True on every replica once Telegram answers (every
replica sends; only the holder of the ``leader:telegram`` lock also long-polls).
``runtime.connected["slack"]`` in Socket Mode is True only on the replica holding the socket
(``leader:slack``): a follower is therefore ready when, on PostgreSQL, some session holds that
lock, i.e. another replica leads. On SQLite there is one process, so it must be connected.

The component returns a ``HealthServer``: calling it stops the server, and its ``port`` is
the bound port, which is how a test (or anyone using ``SIGNPOST_HEALTH_PORT=0``) finds it;
the port is also logged at start.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot import __version__
from bot.ops.metrics import CONTENT_TYPE, Metrics
from storage.locks import held_locks as _held_locks

if TYPE_CHECKING:
    from collections.abc import Iterable

    from bot.runtime import Runtime
    from storage.store import Store

__all__ = [
    "HealthServer",
    "health_component",
    "held_locks",
    "readiness",
    "start_health_server",
]

log = logging.getLogger("signpost.health")

# What "listen everywhere" looks like, so that ``url`` can name a reachable address instead.
# The host comes from ``SIGNPOST_HEALTH_HOST``: loopback by default, 0.0.0.0 in the image.
ALL_INTERFACES = "0.0.0.0"  # noqa: S104
LOOPBACK = "127.0.0.1"
# Stopping must fit in ``bot.app.SHUTDOWN_SECONDS`` even with a scraper's keep-alive open.
SHUTDOWN_TIMEOUT = 1.0
# A source query slower than this counts as the database being unreachable.
QUERY_SECONDS = 3.0


def configured_transports(runtime: Runtime) -> list[str]:
    """The transports the settings ask for, each of which must be connected to be ready."""
    settings = runtime.settings
    names = []
    if settings.telegram_configured:
        names.append("telegram")
    if settings.slack_configured:
        names.append("slack")
    return names


def _leader_only(runtime: Runtime, name: str) -> bool:
    """Whether the transport reports itself connected only where it leads (receives)."""
    return name == "slack" and runtime.settings.slack_app_token is not None


async def held_locks(store: Store, names: Iterable[str]) -> set[str]:
    """The leader locks some replica holds now (see ``storage.locks.held_locks``)."""
    async with asyncio.timeout(QUERY_SECONDS):
        return await _held_locks(store.database, names)


def _iso(at) -> str | None:
    return at.isoformat() if at is not None else None


async def _source_ages(runtime: Runtime) -> dict[str, dict[str, Any]]:
    """Each configured source's last success age, failure run, and the instants behind them.

    The age is None before the first success, and also when the success is stamped later
    than this process's clock reads (another clock wrote it: an offline replay, which reads
    the capture date, sharing a database with a live run, or a replica whose clock is
    ahead): clamping that to 0 used to claim "succeeded just now" beside a failure."""
    now = runtime.clock.now()
    async with asyncio.timeout(QUERY_SECONDS), runtime.store.unit() as unit:
        states = {state.name: state for state in await unit.polling.all()}
    ages: dict[str, dict[str, Any]] = {}
    for name in sorted(runtime.sources):
        state = states.get(name)
        success = state.last_success_at if state else None
        age = (now - success).total_seconds() if success else None
        ages[name] = {
            "last_success_age_seconds": round(age, 1) if age is not None and age >= 0 else None,
            "consecutive_failures": state.consecutive_failures if state else 0,
            "last_success_at": _iso(success),
            "last_attempt_at": _iso(state.last_attempt_at if state else None),
            "last_error": state.last_error if state and state.consecutive_failures else None,
        }
    return ages


async def _transports(
    runtime: Runtime, *, database_ok: bool
) -> tuple[dict[str, dict[str, bool]], list[str]]:
    """Each known transport's state, and the configured ones this replica lacks."""
    configured = configured_transports(runtime)
    followers = [n for n in configured if _leader_only(runtime, n) and not runtime.connected.get(n)]
    led_elsewhere: set[str] = set()
    if database_ok and followers:
        try:
            held = await held_locks(runtime.store, [f"leader:{n}" for n in followers])
        except Exception as exc:  # treated as "nobody leads": the follower reports itself
            log.warning("health: cannot read leader locks (%s)", type(exc).__name__)
            held = set()
        led_elsewhere = {n for n in followers if f"leader:{n}" in held}
    states: dict[str, dict[str, bool]] = {}
    missing = []
    for name in sorted(set(configured) | set(runtime.connected)):
        connected = bool(runtime.connected.get(name, False))
        states[name] = {"configured": name in configured, "connected": connected}
        if _leader_only(runtime, name):
            states[name]["leader_elsewhere"] = name in led_elsewhere
        if name in configured and not connected and name not in led_elsewhere:
            missing.append(name)
    return states, missing


async def readiness(runtime: Runtime, *, started: float | None = None) -> tuple[bool, dict]:
    """(ready, the ``/healthz`` body). Never raises: a failing check is a ``problem``."""
    problems: list[str] = []
    database_ok = await runtime.store.database.ping()
    sources: dict[str, dict[str, Any]] = {}
    if database_ok:
        try:
            sources = await _source_ages(runtime)
        except Exception as exc:  # the database went away between ping and query
            log.warning("health: cannot read source state (%s)", type(exc).__name__)
            database_ok = False
    if not database_ok:
        problems.append("database unreachable")
    transports, not_connected = await _transports(runtime, database_ok=database_ok)
    problems += [f"{name} not connected" for name in not_connected]
    ready = not problems
    body = {
        "status": "ok" if ready else "unavailable",
        "live": True,
        "ready": ready,
        "version": __version__,
        "offline": runtime.offline,
        "checked_at": runtime.clock.now().isoformat(),
        "uptime_seconds": round(time.monotonic() - started, 1) if started is not None else None,
        "database": {"reachable": database_ok, "dialect": runtime.store.dialect},
        "transports": transports,
        "sources": sources,
        "problems": problems,
    }
    return ready, body


class HealthServer:
    """A running endpoint. ``port`` is the bound port; ``await server()`` stops it."""

    def __init__(self, runtime: Runtime, metrics: Metrics, host: str) -> None:
        self.runtime = runtime
        self.metrics = metrics
        self.host = host
        self.port = 0
        self.started = time.monotonic()
        self._runner: web.AppRunner | None = None
        self._previous: tuple[object, Any] | None = None

    @property
    def url(self) -> str:
        """Where to reach it from this host (loopback when listening everywhere)."""
        host = LOOPBACK if self.host == ALL_INTERFACES else self.host
        return f"http://{host}:{self.port}"

    async def start(self, port: int) -> None:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics)
        # No access log: a probe every few seconds would drown the lines that matter.
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = runner.addresses[0][1]
        runtime = self.runtime
        self._previous = (runtime.metrics, runtime.dispatcher.observe)
        runtime.metrics = self.metrics
        runtime.dispatcher.observe = self.metrics.observe_delivery
        self.metrics.track_sources(sorted(runtime.sources))
        log.info("health endpoint on %s:%d (/healthz, /metrics)", self.host, self.port)

    async def __call__(self) -> None:
        """Stop serving and unhook the metrics (the component's stopper)."""
        if self._previous is not None:
            previous_metrics, previous_observe = self._previous
            if self.runtime.dispatcher.observe == self.metrics.observe_delivery:
                self.runtime.dispatcher.observe = previous_observe
            if self.runtime.metrics is self.metrics:
                self.runtime.metrics = previous_metrics
            self._previous = None
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()
            log.info("health endpoint stopped")

    async def _healthz(self, request: web.Request) -> web.Response:
        ready, body = await readiness(self.runtime, started=self.started)
        return web.json_response(body, status=200 if ready else 503)

    async def _metrics(self, request: web.Request) -> web.Response:
        await self.metrics.refresh(self.runtime)
        return web.Response(body=self.metrics.render(), headers={"Content-Type": CONTENT_TYPE})


async def start_health_server(
    runtime: Runtime, *, host: str = LOOPBACK, port: int = 0
) -> HealthServer:
    """Serve ``/healthz`` and ``/metrics`` on ``host:port`` (0: any free port) and hook
    ``runtime.metrics`` and the dispatcher's ``observe`` to one ``Metrics``."""
    existing = runtime.metrics
    metrics = existing if isinstance(existing, Metrics) else Metrics()
    server = HealthServer(runtime, metrics, host)
    await server.start(port)
    return server


async def health_component(runtime: Runtime) -> HealthServer:
    """The component ``bot.app`` starts when ``SIGNPOST_HEALTH_PORT`` is set; it listens on
    ``SIGNPOST_HEALTH_HOST`` (loopback unless the deployment says otherwise)."""
    port = runtime.settings.health_port
    host = runtime.settings.health_host
    return await start_health_server(runtime, host=host, port=port if port is not None else 0)
