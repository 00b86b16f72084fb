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
