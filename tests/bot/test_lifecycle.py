"""The process: `signpost run` starts, says what is configured, and stops on SIGTERM/SIGINT
within five seconds; nothing happens at import time."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def start_bot(tmp_path: Path, *args: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "SLACK_"))}
    env |= {"SIGNPOST_DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "run", *args],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for(process: subprocess.Popen, marker: str, seconds: float = 30) -> list[str]:
    lines = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if marker in line:
            return lines
    process.kill()
    pytest.fail(f"never saw {marker!r}; output was:\n{''.join(lines)}")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_run_starts_reports_transports_and_stops_cleanly(tmp_path, signum):
    process = start_bot(tmp_path, "--offline")
    lines = wait_for(process, "Signpost is running")
    output = "".join(lines)
    assert "Telegram: not configured" in output
    assert "Slack: not configured" in output
    assert "Console: on" in output
    started = time.monotonic()
    process.send_signal(signum)
    rest, _ = process.communicate(timeout=10)
    assert time.monotonic() - started < 5
    assert process.returncode == 0
    assert "stopped" in rest
    assert "Traceback" not in output + rest


def test_importing_the_package_does_nothing(tmp_path):
    code = (
        "import bot.app, bot.cli, bot.runtime, bot.settings, storage.store, sources.registry;"
        "import os; print(sorted(os.listdir('.')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


async def test_shutdown_during_a_scheduled_poll_logs_no_traceback(tmp_path, monkeypatch, caplog):
    """The scheduler cancels a running poll job when it shuts down; APScheduler used to log
    that as 'Job ... raised an exception' with a CancelledError traceback."""
    import asyncio
    import logging

    import bot.runtime
    from bot.runtime import build_runtime, schedule_jobs
    from bot.settings import Settings
    from storage.store import Store

    started = asyncio.Event()

    async def hanging_poll(*args, **kwargs):
        started.set()
        await asyncio.Event().wait()  # a fetch that never answers

    monkeypatch.setattr(bot.runtime, "poll_many", hanging_poll)
    caplog.set_level(logging.INFO)
    store = Store.from_url(f"sqlite:///{tmp_path / 'bot.db'}")
    await store.upgrade()
    runtime = await build_runtime(Settings(), store, offline=True, stop=asyncio.Event())
    try:
        schedule_jobs(runtime)
        runtime.scheduler.start()
        async with asyncio.timeout(15):
            await started.wait()
        runtime.scheduler.shutdown(wait=False)
        await asyncio.sleep(0.2)  # let the cancelled jobs finish and report
    finally:
        await runtime.http.aclose()
        await store.close()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]
    assert "stopped: shutting down" in caplog.text


async def test_a_poll_skipped_as_not_due_counts_in_the_first_round(tmp_path):
    """A source polled by an earlier run (not due yet, or backing off) is not polled now, yet
    the first round must still end, knowing whether that source was failing."""
    import asyncio
    from datetime import timedelta

    from bot.runtime import build_runtime
    from bot.settings import Settings
    from storage.store import Store

    store = Store.from_url(f"sqlite:///{tmp_path / 'bot.db'}")
    await store.upgrade()
    runtime = await build_runtime(Settings(), store, offline=True, stop=asyncio.Event())
    try:
        later = runtime.clock.now() + timedelta(hours=1)
        names = sorted(runtime.sources)
        async with store.unit() as unit:
            for name in names:
                await unit.polling.record_failure(
                    name, now=runtime.clock.now(), error="x", next_poll_at=later, duration_ms=1
                )
        for name in names:
            await runtime.scheduled_poll(name)
        assert runtime.first_poll.complete.is_set()
        assert runtime.first_poll.failures() == names
    finally:
        await runtime.http.aclose()
        await store.close()


def test_ctrl_d_at_the_console_terminal_stops_run(tmp_path):
    """`make run` at a terminal: Ctrl-D ends the console, and the bot with it, as in the demo."""
    import pty

    primary, secondary = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "SLACK_"))}
    env |= {"SIGNPOST_DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--offline"],
        cwd=tmp_path,
        env=env,
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
    )
    os.close(secondary)
    seen = b""

    def read_until(marker: bytes, seconds: float = 30) -> None:
        nonlocal seen
        deadline = time.monotonic() + seconds
        while marker not in seen and time.monotonic() < deadline:
            try:
                chunk = os.read(primary, 4096)
            except OSError:  # the terminal closed: the process has gone
                break
            seen += chunk
        if marker not in seen:
            process.kill()
            pytest.fail(
                f"never saw {marker!r}; the terminal showed:\n{seen.decode(errors='replace')}"
            )

    try:
        read_until(b"First poll done")
        os.write(primary, b"/glossary co-PI\n")
        read_until(b"A senior member of a research team")
        os.write(primary, b"\x04")  # Ctrl-D on an empty line: end of input
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
        os.close(primary)
    assert b"Traceback" not in seen
    log = (tmp_path / "signpost.log").read_text(encoding="utf-8")
    assert "stopped" in log
