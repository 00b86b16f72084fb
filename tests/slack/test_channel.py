"""SlackChannel against the fake Web API: posting, threads, limits, throttling, errors.

The fake answers as Slack does (HTTP 200 with ``ok: false``, 429 with ``Retry-After``,
``invalid_blocks`` over 50 blocks), so each mapping here is what the dispatcher will see.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from bot.clock import FrozenClock
from bot.core.model import Chat
from bot.core.pipeline import Vocabulary
from bot.core.replies import Button, Reply, Section
from bot.delivery.channel import ChatGone, Rejected, RetryAfter, Transient
from bot.delivery.dispatcher import Dispatcher
from bot.slack.channel import SlackChannel
from tests.helpers.builders import NOW, add_opportunity, opportunity, outbox_rows
from tests.helpers.fake_slack import (
    CHANNEL_ERRORS,
    FakeSlackServer,
    ManualClock,
    SlackLimits,
    slack_client,
    validate_blocks,
)

CHAT = Chat("slack", "C0ALERTS", kind="channel", title="alerts", id=1)
FAST = {"per_channel_per_second": 1000.0, "workspace_per_minute": 1e6}


def alert(n: int = 1, **overrides) -> Reply:
    section = Section(
        heading=f"Call {n}",
        url=f"https://funder.example/{n}",
        lines=["Funding call · MRC", "Closes 1 April 2025"],
        buttons=[Button("Remind me", action=f"remind:{n}")],
    )
    return Reply(text="New funding call", sections=[section], ephemeral=False, **overrides)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def slack(clock: ManualClock):
    async with FakeSlackServer(clock=clock) as server:
        yield server


def channel_for(slack: FakeSlackServer, **options) -> SlackChannel:
    return SlackChannel(slack_client(slack, timeout=0.5), **(FAST | options))


# --------------------------------------------------------------------------- posting


async def test_send_posts_blocks_and_returns_the_ts(slack: FakeSlackServer) -> None:
    ids = await channel_for(slack).send(CHAT, alert())
    [posted] = slack.posted_messages("C0ALERTS")
    assert ids == [posted.ts] and posted.thread_ts is None
    assert posted.blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "New funding call", "emoji": True},
    }
    assert posted.json["text"] == "New funding call\nCall 1"  # what notifications show
    call = slack.calls_to("chat.postMessage")[0]
    assert call.params["unfurl_links"] is False and call.params["unfurl_media"] is False


async def test_an_update_posts_in_the_thread_of_the_alert(slack: FakeSlackServer) -> None:
    channel = channel_for(slack)
    [parent] = await channel.send(CHAT, alert())
    await channel.send(CHAT, Reply(text="Update: deadline moved", in_thread_of=parent))
    first, update = slack.posted_messages("C0ALERTS")
    assert (first.thread_ts, update.thread_ts) == (None, parent)


async def test_sixty_sections_become_several_valid_messages(slack: FakeSlackServer) -> None:
    reply = Reply(
        text="Your digest: 60 new matches",
        sections=[alert(n).sections[0] for n in range(60)],
        ephemeral=False,
    )
    for section in reply.sections:
        section.lines.append("long " * 700)  # over 3000 characters: truncated, not refused
    ids = await channel_for(slack).send(CHAT, reply)
    posted = slack.posted_messages("C0ALERTS")
    assert len(ids) == len(posted) >= 2
    for message in posted:
        assert len(message.blocks) <= 50 and validate_blocks(message.blocks) == []
        sections = [b["text"]["text"] for b in message.blocks if b["type"] == "section"]
        assert all(len(text) <= 3000 for text in sections)
    headings = [b for m in posted for b in m.blocks if b["type"] == "section"]
    assert len(headings) == 60


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("error", sorted(CHANNEL_ERRORS))
async def test_channel_errors_mean_the_chat_is_gone(slack: FakeSlackServer, error: str) -> None:
    slack.fail_channel("C0ALERTS", error)
    with pytest.raises(ChatGone, match=error):
        await channel_for(slack).send(CHAT, alert())


async def test_rate_limit_gives_retry_after_with_slacks_seconds(clock: ManualClock) -> None:
    limits = SlackLimits(channel_per_second=0.2, channel_burst=1)
    async with FakeSlackServer(clock=clock, limits=limits) as slack:
        channel = channel_for(slack)
        await channel.send(CHAT, alert())
        with pytest.raises(RetryAfter) as caught:
            await channel.send(CHAT, alert(2))
        assert caught.value.seconds == 5.0
        assert slack.rate_limited == 1


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_errors_are_transient(slack: FakeSlackServer, status: int) -> None:
    slack.fail_next(1, status=status, method="chat.postMessage")
    with pytest.raises(Transient):
        await channel_for(slack).send(CHAT, alert())


async def test_a_timeout_is_transient(slack: FakeSlackServer) -> None:
    slack.hang_next(2, method="chat.postMessage")  # slack_sdk retries a connection error once
    started = time.monotonic()
    with pytest.raises(Transient):
        await SlackChannel(slack_client(slack, timeout=0.2), **FAST).send(CHAT, alert())
    assert time.monotonic() - started < 3


async def test_invalid_blocks_get_one_smaller_try(clock: ManualClock) -> None:
    reply = Reply(
        text="Digest",
        sections=[alert(n).sections[0] for n in range(3)],
        buttons=[Button("More", action="more:call:3:x")],
    )
    limits = SlackLimits(max_blocks=4, enabled=False)
    async with FakeSlackServer(clock=clock, limits=limits) as slack:
        ids = await channel_for(slack).send(CHAT, reply)
        refused, *accepted = slack.calls_to("chat.postMessage")
        assert refused.response["error"] == "invalid_blocks"
        assert len(ids) == len(accepted) == 4 and all(call.ok for call in accepted)


async def test_still_invalid_after_the_smaller_try_is_rejected(clock: ManualClock) -> None:
    limits = SlackLimits(max_blocks=1, enabled=False)
    async with FakeSlackServer(clock=clock, limits=limits) as slack:
        with pytest.raises(Rejected, match="invalid_blocks"):
            await channel_for(slack).send(CHAT, alert())
        # the smaller try got its one-block heading through, then gave up on the item
        assert [m.text for m in slack.posted_messages()] == ["New funding call"]


async def test_a_revoked_token_is_not_the_chats_fault(slack: FakeSlackServer) -> None:
    channel = SlackChannel(type(slack_client(slack))("xoxb-wrong", base_url=slack.base_url), **FAST)
    with pytest.raises(Transient, match="invalid_auth"):
        await channel.send(CHAT, alert())


# --------------------------------------------------------------------------- throttling


async def test_throttles_per_channel_before_slack_refuses() -> None:
    limits = SlackLimits(channel_per_second=5, channel_burst=2)
    async with FakeSlackServer(limits=limits) as slack:  # the real clock
        channel = channel_for(slack, per_channel_per_second=5)
        started = time.monotonic()
        for n in range(6):
            await channel.send(CHAT, alert(n))
        assert slack.rate_limited == 0 and len(slack.posted_messages()) == 6
        assert time.monotonic() - started >= 0.8


async def test_throttles_workspace_wide() -> None:
    # Slack allows short bursts; a burst of two absorbs network jitter between requests.
    limits = SlackLimits(workspace_per_minute=300, workspace_burst=2, channel_burst=10)
    async with FakeSlackServer(limits=limits) as slack:
        channel = channel_for(slack, workspace_per_minute=300)
        for n in range(6):
            chat = Chat("slack", f"C0TEAM{n}", kind="channel", id=n + 1)
            await channel.send(chat, alert(n))
        assert slack.rate_limited == 0 and len(slack.posted_messages()) == 6


# --------------------------------------------------------------------------- with the dispatcher


@pytest.fixture(scope="module")
def vocabulary() -> Vocabulary:
    return Vocabulary.load()


async def test_dispatcher_threads_updates_and_pauses_gone_channels(
    store, slack: FakeSlackServer, vocabulary: Vocabulary
) -> None:
    clock = FrozenClock(NOW)
    channel = channel_for(slack)
    dispatcher = Dispatcher(store, clock, {"slack": channel}, vocabulary)
    item_id = await add_opportunity(
        store, opportunity("1", title="Peer <b>support</b> & co", closes_at=NOW + timedelta(10))
    )
    async with store.unit() as unit:
        chat = await unit.chats.ensure(Chat("slack", "C0ALERTS", kind="channel"), now=NOW)
        gone = await unit.chats.ensure(Chat("slack", "C0GONE", kind="channel"), now=NOW)
        for target in (chat, gone):
            await unit.outbox.enqueue(
                chat_id=target.id,
                reason="new",
                dedupe_key=f"new:{item_id}",
                now=NOW,
                opportunity_id=item_id,
                payload={"why": "peer support"},
            )
    slack.fail_channel("C0GONE", "channel_not_found")
    assert await dispatcher.run_once() == 2
    [first] = slack.posted_messages("C0ALERTS")
    assert "Peer &lt;b&gt;support&lt;/b&gt; &amp; co" in first.blocks[1]["text"]["text"]
    async with store.unit() as unit:
        paused = await unit.chats.get(gone.id)
        assert not paused.active and "channel_not_found" in paused.paused_reason
        await unit.outbox.enqueue(
            chat_id=chat.id,
            reason="update",
            dedupe_key=f"update:{item_id}:1",
            now=NOW,
            opportunity_id=item_id,
            payload={"changes": ["closes_at"]},
        )
    assert await dispatcher.run_once() == 1
    _, update = slack.posted_messages("C0ALERTS")
    assert update.thread_ts == first.ts
    assert update.text.startswith("Update: deadline moved")
    rows = await outbox_rows(store, chat.id)
    assert [r.status for r in rows] == ["sent", "sent"]
