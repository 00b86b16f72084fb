"""The console transport: numbered buttons pressed by number, attachments written where the
console says, alerts that redraw the prompt, named chats, and empty answers that say why."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import FrozenClock
from bot.console import (
    PROMPT,
    ConsoleChannel,
    ConsoleScreen,
    ConsoleTransport,
    reads_commands,
    render,
    render_numbered,
)
from bot.core.commands import Commands
from bot.core.context import Services
from bot.core.model import Chat, Opportunity
from bot.core.pipeline import Vocabulary, search_text
from bot.core.replies import Button, Reply, Section
from bot.delivery.channel import RetryAfter
from bot.first_poll import FirstPoll

NOW = datetime(2025, 3, 28, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def vocabulary() -> Vocabulary:
    return Vocabulary.load()


def console(store, vocabulary, tmp_path, *, chat_name="local", poll=None):
    services = Services(
        store,
        FrozenClock(NOW),
        vocabulary,
        poll_progress=poll.progress if poll is not None else None,
    )
    out = io.StringIO()
    screen = ConsoleScreen(out, files_dir=tmp_path)
    transport = ConsoleTransport(
        Commands(services), store, now=lambda: NOW, screen=screen, chat_name=chat_name
    )
    return transport, screen, out


async def add_call(store, vocabulary, title: str, closes_in_days: int) -> None:
    item = Opportunity(
        source="t",
        external_id=title,
        url=f"https://funder.example/{len(title)}",
        title=title,
        funders=["MRC"],
        topics=["mental-health"],
        closes_at=NOW + timedelta(days=closes_in_days),
    )
    async with store.unit() as unit:
        await unit.opportunities.upsert(item, now=NOW, search_text=search_text(item, vocabulary))


def test_buttons_are_numbered_in_the_order_shown_and_links_keep_their_url():
    reply = Reply(
        text="Pick one",
        sections=[Section(heading="A call", buttons=[Button("Remind me", action="remind:12")])],
        buttons=[Button("More", action="more:call:5:x"), Button("Open", url="https://u.example")],
    )
    text, actions = render_numbered(reply, first=3)
    assert "[3] Remind me" in text
    assert "[4] More" in text
    assert "[Open: https://u.example]" in text
    assert actions == ["remind:12", "more:call:5:x"]
    assert "remind:12" not in text and "more:call" not in text
    assert "remind:12" not in render(reply)  # the CLI's rendering shows labels only


async def test_typing_a_buttons_number_presses_it(store, vocabulary, tmp_path):
    transport, _, _ = console(store, vocabulary, tmp_path)
    asked = await transport.answer("/forget")
    assert "[1] Yes, delete everything" in asked
    assert "[2] No, keep it" in asked
    assert "forget:" not in asked
    assert "Type a button's number" in asked

    kept = await transport.answer("2")
    assert kept == await transport.answer("forget:no")  # the same as its action, typed

    missing = await transport.answer("7")
    assert missing.startswith("There is no button 7 on screen")
    assert await transport.answer("¹")  # answered as text, not pressed as a number


async def test_export_writes_the_file_it_announces(store, vocabulary, tmp_path):
    transport, _, _ = console(store, vocabulary, tmp_path)
    await transport.answer("/subscribe mental health, daily")
    text = await transport.answer("/export")
    [saved] = list(tmp_path.glob("signpost-export-*.json"))
    assert f"to {saved}" in text
    data = json.loads(saved.read_text(encoding="utf-8"))
    assert len(data["subscriptions"]) == 1


async def test_calendar_writes_the_ics_file_it_announces(store, vocabulary, tmp_path):
    await add_call(store, vocabulary, "Peer support research for mental health", 20)
    transport, _, _ = console(store, vocabulary, tmp_path)
    await transport.answer("/subscribe mental health")
    text = await transport.answer("/calendar")
    path = tmp_path / "signpost-deadlines.ics"
    assert f"to {path}" in text
    content = path.read_text(encoding="utf-8")
    assert content.startswith("BEGIN:VCALENDAR")
    assert "Peer support research for mental health" in content


async def test_an_alert_redraws_the_prompt_and_numbers_after_the_answer(
    store, vocabulary, tmp_path
):
    transport, screen, out = console(store, vocabulary, tmp_path)
    await transport.answer("/forget")  # buttons [1] and [2] are on screen
    screen.prompt()
    channel = ConsoleChannel(screen)
    chat = (await transport.context()).chat
    alert = Reply(
        text="New funding call",
        sections=[Section(heading="A call", buttons=[Button("Remind me", action="remind:9")])],
    )
    await channel.send(chat, alert)
    printed = out.getvalue()
    assert printed.endswith(PROMPT)  # the prompt is back under the alert
    assert "[3] Remind me" in printed  # [1] and [2] still mean the answer's buttons
    assert screen.action(1) == "forget:yes" and screen.action(3) == "remind:9"


async def test_named_chats_are_separate_and_an_alert_for_another_waits(store, vocabulary, tmp_path):
    alice, alice_screen, _ = console(store, vocabulary, tmp_path, chat_name="alice")
    bob, _, _ = console(store, vocabulary, tmp_path, chat_name="bob")
    await alice.answer("/subscribe peer support")
    assert "peer support" in (await alice.answer("/mysubs")).lower()
    assert "no subscriptions" in (await bob.answer("/mysubs")).lower()
    a, b = (await alice.context()).chat, (await bob.context()).chat
    assert (a.platform, a.platform_chat_id) == ("console", "alice")
    assert a.id != b.id

    channel = ConsoleChannel(alice_screen, "alice")
    with pytest.raises(RetryAfter):
        await channel.send(b, Reply(text="for bob"))  # left queued for bob's console
    assert channel.sent == 0


async def test_an_empty_search_says_the_first_poll_is_still_running(store, vocabulary, tmp_path):
    poll = FirstPoll(["ukri", "nihr", "mind"])
    transport, _, _ = console(store, vocabulary, tmp_path, poll=poll)
    poll.record("ukri", failed=True)
    text = await transport.answer("/calls mental health")
    assert "still gathering opportunities" in text
    assert "1 of 3 sources checked" in text
    assert "broader words" not in text


async def test_an_empty_search_says_every_source_failed(store, vocabulary, tmp_path):
    poll = FirstPoll(["ukri", "nihr"], local=True)
    transport, _, _ = console(store, vocabulary, tmp_path, poll=poll)
    poll.record("ukri", failed=True)
    poll.record("nihr", failed=True)
    assert poll.complete.is_set()
    text = await transport.answer("/calls mental health")
    assert "Every source failed" in text
    assert "make demo" in text

    poll.record("nihr", failed=False)  # one answered on its next poll: nothing to explain
    text = await transport.answer("/calls mental health")
    assert "broader words" in text


def test_the_console_reads_a_terminal_pipe_or_file_but_not_dev_null(tmp_path):
    code = "from bot.console import reads_commands; print(reads_commands())"

    def run(stdin) -> str:
        result = subprocess.run(
            [sys.executable, "-c", code], stdin=stdin, capture_output=True, text=True, check=True
        )
        return result.stdout.strip()

    assert run(subprocess.DEVNULL) == "False"
    assert run(subprocess.PIPE) == "True"
    script = tmp_path / "script.txt"
    script.write_text("/help\n")
    with script.open() as handle:
        assert run(handle) == "True"
    assert reads_commands(io.StringIO("")) is False  # no file descriptor at all
    read_end, write_end = os.pipe()
    with os.fdopen(read_end) as pipe, os.fdopen(write_end, "w"):
        assert reads_commands(pipe) is True


def test_a_console_chat_is_named_by_platform_and_name():
    from bot.console import console_chat

    assert console_chat() == Chat("console", "local", kind="private", title="Console")
    assert console_chat("alice").platform_chat_id == "alice"


async def test_in_a_chat_deployment_every_source_failing_names_no_make_command(
    store, vocabulary, tmp_path
):
    poll = FirstPoll(["ukri"], local=False)  # Telegram or Slack: make demo means nothing there
    transport, _, _ = console(store, vocabulary, tmp_path, poll=poll)
    poll.record("ukri", failed=True)
    text = await transport.answer("/calls mental health")
    assert "Every source failed" in text
    assert "make" not in text and "demo" not in text
