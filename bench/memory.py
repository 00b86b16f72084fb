"""Memory benchmark: the running bot's peak RSS with 100,000 subscriptions and 100,000
opportunities stored, while it polls, matches and dispatches.

Setup (in this process): 100,000 subscriptions over about 62,000 chats and 100,000
opportunities from ``bench/_data.py``, bulk-inserted with ``bench/_rows.py``; the fake Bot
API and Web API (``tests/helpers/``) listening on loopback.

Measured (in a child process, so that the data generated here is not counted): the bot as
``signpost run --offline`` builds it (``build_runtime``: the real Store, sources, Ingestor,
Dispatcher), with the real ``TelegramChannel`` and ``SlackChannel`` pointed at the fakes. It
polls every offline source (the bundled snapshots) — so the Ingestor loads the subscriptions
and matches each new item against them — while the dispatcher sends what that queued; then
it polls once more (nothing new) and dispatches for ``--dispatch-seconds``. The child reports
its peak resident set size (``VmHWM``; ``ru_maxrss`` would include this process's size at
the fork) and its RSS after each phase and at most during each (``VmRSS``).

Target: peak RSS at most 250 MB (``ratio_to_target`` <= 1).

A new item matches about 9,000 of these subscriptions (``bench/match.py``), and each match is
queued with its own statements, so one poll of the whole offline catalogue (a hundred new
items) means a fan-out of most of a million rows: far longer than a benchmark should take.
``--sources`` chooses what the bot polls (by default an event calendar and a funder's
listing: six new items; ``all`` for every offline source), and ``--budget`` bounds the bot's
run: when it runs out the bot reports its peak so far with ``"finished": false`` (a figure
for a bot still in the middle of its fan-out).

    .venv/bin/python bench/memory.py [--postgres [URL]] [--sources a,b|all] [--budget 900]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench._common import Stopwatch, bench_parser, check, emit, note, open_store, ratio  # noqa: E402
from bench._data import Generator  # noqa: E402
from bench._rows import bulk_insert, opportunity_rows  # noqa: E402

TARGET_MB = 250.0
SCRIPT = Path(__file__).resolve()


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def rss_mb() -> float:
    """The current resident set size (Linux ``VmRSS``), in MB."""
    return _status_mb("VmRSS")


def peak_mb() -> float:
    """The peak resident set size of this program, in MB: Linux's ``VmHWM``, which starts
    afresh at ``exec``. ``getrusage().ru_maxrss`` does not: Linux carries it over from the
    forking parent, so a child of this (data-laden) process would report the parent's size."""
    return _status_mb("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --------------------------------------------------------------------------- the bot (child)


async def run_bot(args: argparse.Namespace) -> dict[str, Any]:
    from slack_sdk.web.async_client import AsyncWebClient
    from telegram import Bot

    from bot.runtime import build_runtime
    from bot.settings import load_settings
    from bot.slack.channel import SlackChannel
    from bot.telegram.channel import SendLimits, TelegramChannel
    from storage.store import Store

    phases = {"started": rss_mb()}
    # The most RSS seen (sampled every 0.1 s) while each phase ran: where a peak came from.
    peaks: dict[str, float] = {}
    phase = ["building"]

    async def sample() -> None:
        while True:
            peaks[phase[0]] = max(peaks.get(phase[0], 0.0), rss_mb())
            await asyncio.sleep(0.1)

    sampler = asyncio.create_task(sample())
    store = Store.from_url(args.database, schema=args.schema)
    stop = asyncio.Event()
    runtime = await build_runtime(load_settings(), store, offline=True, stop=stop)
    phases["built"] = rss_mb()
    names = sorted(runtime.sources) if args.sources == "all" else args.sources.split(",")
    sent: list[str] = []

    def out_of_time() -> None:
        """The budget is spent: say what the peak was so far, and stop where we are."""
        report = {
            "finished": False,
            "peak_rss_mb": round(peak_mb(), 1),
            "rss_mb_by_phase": {k: round(v, 1) for k, v in phases.items()},
            "sources": names,
            "subscriptions_indexed": len(runtime.ingestor._index or ()),
            "sent": sent.count("sent"),
        }
        print(json.dumps(report), flush=True)
        os._exit(0)

    asyncio.get_running_loop().call_later(args.budget, out_of_time)
    fast = SendLimits(
        overall_per_second=2000, overall_burst=100, private_per_second=100, group_per_minute=6000
    )
    bot = Bot(args.token, base_url=args.telegram)
    async with bot:
        runtime.channels["telegram"] = TelegramChannel(bot, send_limits=fast)
        slack = AsyncWebClient(token=args.slack_token, base_url=args.slack)
        runtime.channels["slack"] = SlackChannel(
            slack, per_channel_per_second=100, workspace_per_minute=1e6
        )
        runtime.dispatcher.observe = lambda platform, outcome, reason: sent.append(outcome)
        dispatching = asyncio.create_task(runtime.dispatcher.run_forever(stop, idle=0.2))
        phase[0] = "polling"
        with Stopwatch() as polling:
            reports = await runtime.poll(names)
        phase[0] = "dispatching"
        phases["polled"] = rss_mb()
        again = await runtime.poll(names)
        phases["polled_again"] = rss_mb()
        deadline = time.monotonic() + args.dispatch_seconds
        while time.monotonic() < deadline and not dispatching.done():
            async with store.unit() as unit:
                counts = await unit.outbox.counts()
            if not counts.get("pending") and not counts.get("leased"):
                break
            await asyncio.sleep(0.5)
        stop.set()
        await dispatching
        phases["dispatched"] = rss_mb()
        sampler.cancel()
        async with store.unit() as unit:
            counts = await unit.outbox.counts()
    await runtime.http.aclose()
    await store.close()
    return {
        "finished": True,
        "peak_rss_mb": round(peak_mb(), 1),
        "rss_mb_by_phase": {k: round(v, 1) for k, v in phases.items()},
        "peak_rss_mb_while": {k: round(v, 1) for k, v in peaks.items()},
        "sources": names,
        "poll_failures": [r.source for r in reports if r.outcome == "failed"],
        "new_items": sum(r.new for r in reports),
        "new_items_second_poll": sum(r.new for r in again),
        "poll_s": round(polling.seconds, 2),
        "subscriptions_indexed": len(runtime.ingestor._index or ()),
        "outbox": counts,
        "sent": sent.count("sent"),
    }


# --------------------------------------------------------------------------- the measurer


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    from tests.helpers.fake_slack import FakeSlackServer, SlackLimits
    from tests.helpers.fake_telegram import FakeTelegramServer, TelegramLimits

    generator = Generator()
    with Stopwatch() as generating:
        chats, subscriptions = generator.chats_and_subscriptions(args.subscriptions)
        opportunities = opportunity_rows(generator, args.opportunities)
    note(
        f"generated {len(subscriptions)} subscriptions in {len(chats)} chats and "
        f"{len(opportunities)} opportunities in {generating.seconds:.0f} s"
    )
    with tempfile.TemporaryDirectory() as workdir:
        store, schema = await open_store(args.postgres, Path(workdir))
        try:
            with Stopwatch() as inserting:
                await bulk_insert(
                    store,
                    {
                        "chats": chats,
                        "subscriptions": subscriptions,
                        "opportunities": opportunities,
                    },
                )
            note(f"inserted in {inserting.seconds:.0f} s")
            del chats, subscriptions, opportunities
            database = args.postgres or f"sqlite:///{Path(workdir) / 'bench.db'}"
            async with (
                FakeTelegramServer(limits=TelegramLimits(enabled=False)) as telegram,
                FakeSlackServer(limits=SlackLimits(enabled=False)) as slack,
            ):
                command = [
                    sys.executable,
                    str(SCRIPT),
                    "--child",
                    *("--database", database),
                    *(("--schema", schema.name) if schema else ()),
                    *("--telegram", telegram.base_url, "--token", telegram.token),
                    *("--slack", slack.base_url, "--slack-token", slack.token),
                    *("--dispatch-seconds", str(args.dispatch_seconds)),
                    *("--sources", args.sources, "--budget", str(args.budget)),
                ]
                env = dict(os.environ, PTB_TIMEDELTA="true")
                note("running the bot: poll, match, dispatch")
                child = await asyncio.to_thread(
                    subprocess.run, command, env=env, capture_output=True, text=True, cwd=ROOT
                )
                check(child.returncode == 0, f"the bot failed:\n{child.stderr[-3000:]}")
                received = len(telegram.sent_messages()) + len(slack.posted_messages())
        finally:
            await store.close()
            if schema is not None:
                await schema.drop()
    result = json.loads(child.stdout.strip().splitlines()[-1])
    note(f"the bot reported: {json.dumps(result)}")
    check(result["subscriptions_indexed"] > 0.9 * args.subscriptions, "subscriptions not indexed")
    if result["finished"]:
        check(result["new_items"] > 0, "the poll stored nothing new: nothing was matched")
        check(result["sent"] > 0 and received >= result["sent"], "nothing was dispatched")
    return {
        "bench": "memory",
        "database": "postgresql" if args.postgres else "sqlite",
        "subscriptions": args.subscriptions,
        "opportunities": args.opportunities,
        **result,
        "received_by_fakes": received,
        "target_mb": TARGET_MB,
        "ratio_to_target": ratio(result["peak_rss_mb"], TARGET_MB),
    }


def main(argv: list[str] | None = None) -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--subscriptions", type=int, default=100_000)
    parser.add_argument("--opportunities", type=int, default=100_000)
    parser.add_argument("--dispatch-seconds", type=float, default=20.0)
    parser.add_argument(
        "--sources", default="mcpin-events,tnlcf", help="offline sources to poll, or all"
    )
    parser.add_argument("--budget", type=float, default=900.0, help="seconds the bot may run")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    for name in ("--database", "--schema", "--telegram", "--token", "--slack", "--slack-token"):
        parser.add_argument(name, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    if args.child:
        print(json.dumps(asyncio.run(run_bot(args))), flush=True)
        return
    emit(asyncio.run(measure(args)))


if __name__ == "__main__":
    main()
