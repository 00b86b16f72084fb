"""Start-up benchmark: forty sources falling due at once on PostgreSQL, and how long a
command sent meanwhile waits for its answer (issue 13, point 1; target 1 s).

Setup (``tests/reliability/support.py``): the real runtime built from a 40-source file, every
source an RSS feed on one of 8 loopback websites answering after 1 s, production politeness
(1 s between requests to one host), the real Telegram transport on the fake Bot API, and every
source's scheduled poll fired the moment the transport starts, as at a real start. Commands
(/help, then /deadlines and /calls, which read the database) are sent from different users 6 s
after the start (when the issue's /help waited 30 s), and one a second after, while polls run.

Measured: each command's latency from the update being queued to the answer being sent, the
worst of them against the 1 s target (``command_ratio_to_target``), pool errors (must be 0),
failed polls (must be 0) and the most pooled connections ever checked out.

    .venv/bin/python bench/startup.py [--postgres postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench._common import check, emit, note, ratio  # noqa: E402
from tests.helpers.databases import DEFAULT_POSTGRES_URL  # noqa: E402
from tests.reliability.support import StartupRig  # noqa: E402

TARGET_SECONDS = 1.0
COMMANDS = ["/help", "/deadlines", "/calls mental health", "/help", "/deadlines"]


async def run(args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        rig = StartupRig(
            args.postgres,
            Path(tmp),
            sources=args.sources,
            hosts=args.hosts,
            delay=args.latency,
            min_gap=args.min_gap,
            retry_seconds=10.0,  # production's
            wait_for_leading=False,
        )
        async with rig:
            started = time.monotonic()
            rig.start_polls()
            latencies, running = [], []
            for n, command in enumerate(COMMANDS):
                await asyncio.sleep(max(0.0, started + args.first + n - time.monotonic()))
                running.append(rig.polls_running)
                latencies.append(await rig.ask(100 + n, command))
                note(f"{command!r}: {latencies[-1]:.3f} s, {running[-1]} polls running")
            reports = await rig.finish_polls(300)
            polls_s = time.monotonic() - started
            failed = [r.source for r in reports if r is None or r.outcome != "ok"]
            answers = [rig.answer(100 + n) for n in range(len(COMMANDS))]
            record = {
                "bench": "startup",
                "database": "postgresql",
                "sources": args.sources,
                "hosts": args.hosts,
                "latency_s": args.latency,
                "min_gap_s": args.min_gap,
                "max_concurrent_polls": rig.runtime.settings.max_concurrent_polls,
                "pool_capacity": rig.store.database.capacity,
                "pool_peak": rig.peak,
                "pool_errors": rig.pool_errors,
                "polls_failed": len(failed),
                "polls_s": round(polls_s, 3),
                "polls_running_when_asked": running,
                "command_latencies_s": [round(x, 3) for x in latencies],
                "command_max_s": round(max(latencies), 3),
                "command_ratio_to_target": ratio(max(latencies), TARGET_SECONDS),
            }
    check(record["pool_errors"] == 0, f"{record['pool_errors']} pool errors")
    check(not failed, f"polls failed: {failed}")
    check(all(running), f"a command was sent after the polls had finished: {running}")
    check(all("Sorry, something went wrong" not in a for a in answers), "a command failed")
    return record


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--postgres",
        metavar="URL",
        default=os.environ.get("SIGNPOST_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL),
    )
    parser.add_argument("--sources", type=int, default=40)
    parser.add_argument("--hosts", type=int, default=8)
    parser.add_argument("--latency", type=float, default=1.0, help="seconds per answer")
    parser.add_argument("--min-gap", type=float, default=1.0, help="seconds between starts")
    parser.add_argument("--first", type=float, default=6.0, help="first command, s after start")
    args = parser.parse_args(argv)
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    logging.basicConfig(level=logging.WARNING)
    emit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
