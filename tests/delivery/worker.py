"""A Signpost replica in its own OS process, for the crash and replica tests.

The tests run the fake Telegram server in their own process and start this script as real
workers that talk to it over loopback, so that ``SIGKILL`` kills a worker exactly as a crash
would: no ``finally``, no rollback, sockets closed by the kernel, leases left behind.

    python -m tests.delivery.worker dispatch --database URL [--schema S] \\
        --telegram http://127.0.0.1:PORT/bot --token TOKEN [--lease 2] [--batch 100] \\
        [--concurrency 32] [--rate 250]
    python -m tests.delivery.worker leader --database URL --schema S \\
        --telegram http://127.0.0.1:PORT/bot --token TOKEN [--retry 0.5]

``dispatch`` builds what ``signpost run`` builds for delivery (Store, a PTB ``Bot``, the real
``TelegramChannel`` and ``Dispatcher``) and runs ``Dispatcher.run_forever``. ``leader`` starts
the real Telegram transport (``start_telegram``: leader election, long polling, commands).

Lines on stdout, flushed one by one so that a killed worker's record survives it:
``ready <owner>`` (the dispatcher's lease owner), ``outcome <platform> <outcome> <reason>``
(the dispatcher's ``observe`` hook: for ``sent``, after the platform accepted the message and
the outbox was updated), ``leading`` / ``following``. Logs go to stderr. SIGTERM stops a
worker cleanly.

The end of the file is the tests' side of the same protocol: ``WorkerProcess`` starts, reads,
freezes and kills workers; ``seed_fan_out`` queues the alerts; ``deliveries`` counts them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import inspect
import logging
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from telegram import Bot

from bot.clock import SystemClock
from bot.core.pipeline import Vocabulary
from bot.delivery.dispatcher import Dispatcher
from bot.telegram.channel import SendLimits, TelegramChannel
from storage.store import Store


def say(*words: object) -> None:
    """One line on stdout, flushed at once (a SIGKILL must not lose what was said)."""
    sys.stdout.write(" ".join(str(word) for word in words) + "\n")
    sys.stdout.flush()


def stop_on_sigterm() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    return stop


def send_limits(rate: float) -> SendLimits:
    """Telegram's limits raised to ``rate`` a second everywhere (the fake is raised too)."""
    return SendLimits(
        overall_per_second=rate,
        overall_burst=10,
        private_per_second=rate,
        group_per_minute=rate * 60,
        group_burst=10,
    )


async def dispatch(args: argparse.Namespace) -> None:
    store = Store.from_url(args.database, schema=args.schema)
    vocabulary = await asyncio.to_thread(Vocabulary.load)
    stop = stop_on_sigterm()

    def observe(platform: str, outcome: str, reason: str) -> None:
        say("outcome", platform, outcome, reason)

    bot = Bot(args.token, base_url=args.telegram)
    try:
        async with bot:
            channel = TelegramChannel(bot, send_limits=send_limits(args.rate))
            dispatcher = Dispatcher(
                store,
                SystemClock(),
                {"telegram": channel},
                vocabulary,
                lease=timedelta(seconds=args.lease),
                concurrency=args.concurrency,
                batch=args.batch,
                observe=observe,
            )
            say("ready", dispatcher.owner)
            await dispatcher.run_forever(stop, idle=0.1)
    finally:
        await store.close()


async def lead(args: argparse.Namespace) -> None:
    from bot.runtime import build_runtime
    from bot.settings import load_settings
    from bot.telegram.lifecycle import start_telegram

    settings = load_settings(
        telegram_bot_token=args.token,
        telegram_api_base_url=args.telegram,
    )
    store = Store.from_url(args.database, schema=args.schema)
    stop = stop_on_sigterm()
    runtime = await build_runtime(settings, store, offline=True, stop=stop)
    stopper = await start_telegram(
        runtime, send_limits=send_limits(1000.0), retry_seconds=args.retry
    )
    transport = stopper.__self__  # type: ignore[attr-defined]
    say("following")
    leading = False
    try:
        while not stop.is_set():
            if transport.leading != leading:
                leading = transport.leading
                say("leading" if leading else "following")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.05)
    finally:
        await stopper()
        await runtime.http.aclose()
        await store.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=["dispatch", "leader"])
    parser.add_argument("--database", required=True)
    parser.add_argument("--schema", default=None)
    parser.add_argument("--telegram", required=True, help="PTB base_url of the Bot API")
    parser.add_argument("--token", required=True)
    parser.add_argument("--lease", type=float, default=2.0, help="lease seconds")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--rate", type=float, default=250.0, help="messages a second")
    parser.add_argument("--retry", type=float, default=0.5, help="leader retry seconds")
    args = parser.parse_args(argv)
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format=f"%(asctime)s {os.getpid()} %(name)s %(levelname)s %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    asyncio.run(dispatch(args) if args.mode == "dispatch" else lead(args))


# --------------------------------------------------------------------------- the test side
# What the crash and replica tests share: starting, reading and killing workers, seeding a
# fan-out through the store API, and counting what reached the fake Bot API.

ROOT = Path(__file__).resolve().parents[2]
FAN_OUT_TITLE = "Community mental health pilot fund"


class WorkerProcess:
    """A running worker: its stdout and stderr go to files, so a test can read them live."""

    def __init__(self, name: str, process: subprocess.Popen, out: Path, err: Path) -> None:
        self.name = name
        self.process = process
        self.out = out
        self.err = err

    @classmethod
    def start(cls, name: str, workdir: Path, *args: str) -> WorkerProcess:
        out, err = workdir / f"{name}.out", workdir / f"{name}.err"
        env = dict(os.environ, PTB_TIMEDELTA="true", PYTHONUNBUFFERED="1")
        with out.open("w") as stdout, err.open("w") as stderr:
            process = subprocess.Popen(
                [sys.executable, "-m", "tests.delivery.worker", *args],
                cwd=ROOT,
                env=env,
                stdout=stdout,
                stderr=stderr,
            )
        return cls(name, process, out, err)

    def lines(self) -> list[str]:
        return self.out.read_text().splitlines()

    def said(self, line: str) -> bool:
        return line in self.lines()

    @property
    def owner(self) -> str | None:
        """The dispatcher's lease owner name, once the worker said ``ready``."""
        ready = [line.split()[1] for line in self.lines() if line.startswith("ready ")]
        return ready[0] if ready else None

    def outcomes(self, outcome: str = "sent") -> int:
        return sum(1 for line in self.lines() if line.startswith(f"outcome telegram {outcome} "))

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """``kill -9``: no cleanup of any kind happens in the worker."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    async def kill_mid_batch(self, store: Store, *, tries: int = 200) -> int:
        """``kill -9`` at a moment the worker holds leases (it is frozen with SIGSTOP while
        that is checked, so the moment cannot pass); returns how many rows it held.

        A worker frozen while it holds the database (SQLite checkpoints and removes its WAL
        under an exclusive lock whenever the last connection closes, which with one
        connection per transaction is after every transaction) would keep the check waiting:
        it is thawed then, and looked at again a moment later."""
        assert self.owner is not None, "the worker never said ready"
        for _ in range(tries):
            self.process.send_signal(signal.SIGSTOP)
            check = asyncio.ensure_future(leased_by(store, self.owner))
            done, _ = await asyncio.wait({check}, timeout=0.5)
            if done and check.result():
                self.kill()
                return check.result()
            self.process.send_signal(signal.SIGCONT)
            await check
            await asyncio.sleep(0.005)
        raise AssertionError(f"{self.name} never held a lease when looked at")

    async def stop(self, seconds: float = 10.0) -> int | None:
        """SIGTERM, then SIGKILL if it has not stopped within ``seconds``."""
        if self.running:
            self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(self.process.wait, seconds)
        except subprocess.TimeoutExpired:
            self.kill()
        return self.process.returncode

    def log(self, tail: int = 4000) -> str:
        return f"--- {self.name} stderr (tail)\n{self.err.read_text()[-tail:]}"


def dispatch_args(fake_base_url: str, token: str, database: str, schema: str | None) -> list[str]:
    args = ["dispatch", "--database", database, "--telegram", fake_base_url, "--token", token]
    return [*args, "--schema", schema] if schema else args


async def seed_fan_out(store: Store, chats: int, *, first_chat_id: int = 100_001) -> list[int]:
    """One open call and a "new" alert about it for each of ``chats`` private chats, queued in
    one transaction as the ingest pipeline does; returns the Telegram chat ids."""
    from bot.core.model import Chat, Opportunity

    now = datetime.now(UTC)
    call = Opportunity(
        source="crash-test",
        external_id="fan-out",
        url="https://funder.example/calls/fan-out",
        title=FAN_OUT_TITLE,
        closes_at=now + timedelta(days=30),
        status="open",
    )
    chat_ids = [first_chat_id + n for n in range(chats)]
    async with store.unit() as unit:
        result = await unit.opportunities.upsert(call, now=now)
        for chat_id in chat_ids:
            chat = await unit.chats.ensure(Chat("telegram", str(chat_id)), now=now)
            await unit.outbox.enqueue(
                chat_id=chat.id,
                opportunity_id=result.id,
                reason="new",
                dedupe_key=f"new:{result.id}",
                now=now,
                payload={"why": "mental health"},
            )
    return chat_ids


async def unfinished(store: Store) -> int:
    """Rows still to send: pending or leased."""
    async with store.unit() as unit:
        counts = await unit.outbox.counts()
    return counts.get("pending", 0) + counts.get("leased", 0)


async def leased_by(store: Store, owner: str) -> int:
    from sqlalchemy import func, select

    from storage.models import OutboxItem

    query = select(func.count()).where(
        OutboxItem.status == "leased", OutboxItem.lease_owner == owner
    )
    async with store.unit() as unit:
        return int(await unit.session.scalar(query) or 0)


def deliveries(fake) -> Counter[tuple[int, str]]:
    """How many times each (chat, visible text) reached the fake Bot API."""
    return Counter((m.chat_id, m.plain_text) for m in fake.sent_messages())


if __name__ == "__main__":
    main()


async def until(condition: Callable[[], Any], seconds: float, waiting_for: str, *workers) -> None:
    """Poll ``condition`` (sync or async) until true; fail with the workers' logs if not."""
    import pytest  # here, not at the top: worker processes run this module without pytest

    deadline = time.monotonic() + seconds
    while True:
        result = condition()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            logs = "\n".join(worker.log() for worker in workers)
            pytest.fail(f"gave up after {seconds:g} s waiting for {waiting_for}\n{logs}")
        await asyncio.sleep(0.02)
