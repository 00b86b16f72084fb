"""Scripted console sessions through the real ``signpost`` command: commands piped on stdin,
the output read back. Nothing reaches the network: the demo and ``run --offline`` replay the
snapshots, and the "no network" run polls a sources file pointing at a closed loopback port.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TELEGRAM_", "SLACK_", "SIGNPOST_"))
    }
    return env | {"SIGNPOST_DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}"} | extra


def signpost(tmp_path: Path, *args: str, script: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,
        env=environment(tmp_path, **env),
        input=script,
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_clean(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert "CancelledError" not in result.stdout + result.stderr


def test_a_scripted_demo_session_answers_each_command(tmp_path):
    script = "/calls mental health\n/glossary co-PI\n/forget\n2\n/export\n"
    result = signpost(tmp_path, "demo", script=script)
    assert_clean(result)
    out = result.stdout
    assert "Signpost demo: offline" in out
    assert "New funding call" in out  # the demo's alerts
    assert "[1] Remind me" in out  # numbered, never a raw code
    assert "remind:" not in out and "forget:" not in out
    assert "Open calls for “mental health”" in out
    assert "A senior member of a research team" in out  # co-PI
    assert "[2] No, keep it" in out
    assert out.count("signpost> ") == 6  # a prompt before each command, one at the end
    [export] = list(tmp_path.glob("signpost-export-*.json"))
    assert f"to {export}" in out


def test_named_demo_chats_share_one_database_and_pass_messages(tmp_path):
    db = tmp_path / "shared.db"
    first = signpost(tmp_path, "demo", "--chat", "bob", "--db", str(db), script="/mysubs\n")
    assert_clean(first)
    assert f"Demo database: sqlite:///{db}" in first.stdout

    alice = signpost(
        tmp_path,
        "demo",
        "--chat",
        "alice",
        "--db",
        str(db),
        script="/subscribe peer support\n/broadcast Partner wanted for a peer research bid\n",
    )
    assert_clean(alice)
    assert "No new alerts: this database has seen these snapshots before" in alice.stdout
    assert "Broadcast queued for 2 chats." in alice.stdout
    assert alice.stdout.count("Partner wanted for a peer research bid") == 1  # her own copy

    bob = signpost(tmp_path, "demo", "--chat", "bob", "--db", str(db), script="/mysubs\n")
    assert_clean(bob)
    assert "Partner wanted for a peer research bid" in bob.stdout  # left for bob, printed now
    assert "peer support" not in bob.stdout.split("Subscriptions here", 1)[1].lower()

    again = signpost(tmp_path, "demo", "--chat", "alice", "--db", str(db), script="/mysubs\n")
    assert "peer support" in again.stdout.lower()  # alice's chat kept across runs
    assert "Partner wanted" not in again.stdout  # sent once, not again


def test_a_bad_chat_name_is_one_line_and_exit_code_2(tmp_path):
    result = signpost(tmp_path, "demo", "--chat", "a b", script="")
    assert result.returncode == 2
    assert "is not a chat name" in result.stderr
    assert "Traceback" not in result.stderr


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def sources_nowhere(tmp_path: Path) -> Path:
    """Two sources on a loopback port nobody listens on: every poll fails, at once."""
    port = closed_port()
    path = tmp_path / "sources.toml"
    path.write_text(
        "".join(
            f'[sources.{name}]\ntype = "rss"\nurl = "http://127.0.0.1:{port}/{name}.xml"\n'
            f'title = "{name}"\nkind = "call"\nenabled = true\n\n'
            for name in ("alpha", "beta")
        )
    )
    return path


class Session:
    """``signpost run`` with a pipe for stdin: write commands, read until a marker."""

    def __init__(self, tmp_path: Path, *args: str, **env: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", *args],
            cwd=tmp_path,
            env=environment(tmp_path, PYTHONUNBUFFERED="1", **env),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.seen: list[str] = []

    def type(self, line: str) -> None:
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def until(self, marker: str, seconds: float = 60) -> str:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            self.seen.append(line)
            if marker in line:
                return line
        self.process.kill()
        pytest.fail(f"never saw {marker!r}; output was:\n{''.join(self.seen)}")

    def end(self) -> tuple[str, str]:
        """Close stdin (Ctrl-D) and wait for the bot to stop by itself. Read through the
        same buffered streams as ``until`` (``communicate`` would skip what they hold)."""
        self.process.stdin.close()
        rest = self.process.stdout.read()
        errors = self.process.stderr.read()
        self.process.wait(timeout=20)
        return "".join(self.seen) + rest, errors


def test_first_run_with_no_network_says_what_is_happening(tmp_path):
    session = Session(tmp_path, SIGNPOST_SOURCES_FILE=str(sources_nowhere(tmp_path)))
    intro = session.until("Signpost console")
    assert f"Logs go to {tmp_path / 'signpost.log'}" in intro
    assert "gathering opportunities from 2 sources" in intro
    summary = session.until("Every source failed")
    assert "make demo" in summary
    session.type("/calls mental health")
    answer = session.until("No calls")
    assert "Every source failed when I last polled it" in answer
    assert "broader words" not in answer
    out, errors = session.end()
    assert session.process.returncode == 0
    assert errors == ""  # the logs went to the file, not over the prompt
    log = (tmp_path / "signpost.log").read_text(encoding="utf-8")
    assert "polled alpha: failed" in log
    assert "stopped" in log
    assert "Traceback" not in out + log


def test_run_offline_reports_the_first_poll_and_ends_at_end_of_input(tmp_path):
    session = Session(tmp_path, "--offline", "--chat", "carol")
    session.until("as chat “carol”")
    summary = session.until("First poll done")
    assert "5 of 5 sources answered" in summary
    session.type("/calls mental health")
    session.until("Open calls for “mental health”")
    out, errors = session.end()
    assert session.process.returncode == 0
    assert errors == ""
    assert out.rstrip().endswith("signpost>")
    log = (tmp_path / "signpost.log").read_text(encoding="utf-8")
    assert "stopped" in log
    assert "Traceback" not in log
