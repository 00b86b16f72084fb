"""TelegramChannel through the real python-telegram-bot HTTP stack against the fake Bot API.

Nothing inside PTB is replaced: the fake answers on loopback with Telegram's status codes and
descriptions, and PTB raises its own exceptions, which the channel maps to the dispatcher's.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from telegram import Bot
from telegram.error import BadRequest, ChatMigrated, Conflict, Forbidden, NetworkError, TimedOut
from telegram.error import RetryAfter as TelegramRetryAfter
from telegram.warnings import PTBDeprecationWarning

from bot.core.model import Chat
from bot.core.replies import Button, Reply, Section
from bot.delivery.channel import ChatGone, ChatMoved, Rejected, RetryAfter, Transient
from bot.telegram.channel import (
    GONE_MARK,
    NotModified,
    SendLimits,
    TelegramChannel,
    Throttle,
    TooLong,
    delivery_error,
)
from tests.helpers.fake_telegram import (
    FakeTelegramServer,
    ManualClock,
    TelegramLimits,
    telegram_bot,
    utf16_length,
)

UNLIMITED = TelegramLimits(enabled=False)
FAST = SendLimits(overall_per_second=1000, private_per_second=1000, group_per_minute=60000)
HOSTILE = '<script>alert("x")</script> R&D & <b>unclosed &nbsp; </i>'


@pytest.fixture(autouse=True)
def _timedelta_durations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer(limits=UNLIMITED) as server:
        yield server


@pytest.fixture
async def bot(fake: FakeTelegramServer) -> AsyncIterator[Bot]:
    async with telegram_bot(fake) as instance:
        yield instance


def chat(chat_id: int | str, thread: str = "", kind: str = "private") -> Chat:
    return Chat("telegram", str(chat_id), thread_id=thread, kind=kind, id=1)


def alert(title: str = "New call") -> Reply:
    return Reply(
        text="New funding call",
        sections=[
            Section(
                heading=title,
                url="https://www.ukri.org/opportunity/x/?a=1&b=2",
                lines=["Funding call · MRC", "Closes 30 Apr 2025"],
                buttons=[Button("Remind me", "remind:7"), Button("Open call", url="https://x.org")],
                note="co-PI: a senior member of the team",
            )
        ],
    )


# --------------------------------------------------------------------------- sending


async def test_sends_html_with_keyboard_and_previews_off(
    fake: FakeTelegramServer, bot: Bot
) -> None:
    channel = TelegramChannel(bot, send_limits=FAST)
    ids = await channel.send(chat(42), alert())
    (sent,) = fake.sent_messages(42)
    assert ids == [str(sent.message_id)]
    assert sent.parse_mode == "HTML" and sent.plain_text.startswith("New funding call\n\nNew call")
    link = next(e for e in sent.entities if e["type"] == "text_link")
    assert link["url"] == "https://www.ukri.org/opportunity/x/?a=1&b=2"
    assert sent.reply_markup == {
        "inline_keyboard": [
            [
                {"text": "Remind me", "callback_data": "remind:7"},
                {"text": "Open call", "url": "https://x.org"},
            ]
        ]
    }
    previews = fake.calls_to("sendMessage")[0].params["link_preview_options"]
    assert json.loads(previews) == {"is_disabled": True}
    await channel.send(chat(42), Reply(text="https://x.org", link_previews=True))
    previews = fake.calls_to("sendMessage")[1].params["link_preview_options"]
    assert json.loads(previews) == {"is_disabled": False}


async def test_forum_topic_chats_send_into_their_topic(fake: FakeTelegramServer, bot: Bot) -> None:
    fake.add_chat(-1009, "supergroup", is_forum=True)
    channel = TelegramChannel(bot, send_limits=FAST)
    await channel.send(chat(-1009, thread="12", kind="supergroup"), alert())
    await channel.send(chat(-1009, kind="supergroup"), alert())
    topic, general = fake.sent_messages(-1009)
    assert topic.message_thread_id == 12 and topic.json["is_topic_message"]
    assert general.message_thread_id is None


async def test_a_channel_username_is_a_valid_target(fake: FakeTelegramServer, bot: Bot) -> None:
    fake.add_chat(-1005, "channel", username="signpost_alerts")
    await TelegramChannel(bot, send_limits=FAST).send(chat("@signpost_alerts"), alert())
    assert len(fake.sent_messages(-1005)) == 1


async def test_updates_answer_the_earlier_alert(fake: FakeTelegramServer, bot: Bot) -> None:
    channel = TelegramChannel(bot, send_limits=FAST)
    [first] = await channel.send(chat(42), alert())
    await channel.send(chat(42), Reply(text="Update: deadline moved", in_thread_of=first))
    answered = json.loads(fake.calls_to("sendMessage")[1].params["reply_parameters"])
    assert answered["message_id"] == int(first)


async def test_hostile_and_huge_titles_are_accepted_and_split(
    fake: FakeTelegramServer, bot: Bot
) -> None:
    """Telegram's HTML check (strict: a bare & is refused) accepts every message."""
    sections = [
        Section(heading=HOSTILE + "x" * 5000, url='https://x.org/"q"&a', lines=[HOSTILE] * 3)
        for _ in range(3)
    ]
    ids = await TelegramChannel(bot, send_limits=FAST).send(chat(42), Reply(sections=sections))
    sent = fake.sent_messages(42)
    assert len(ids) == len(sent) == 3
    assert all(utf16_length(m.plain_text) <= 4096 for m in sent)
    assert all(m.plain_text.startswith(HOSTILE) for m in sent)
    assert all(call.ok for call in fake.calls_to("sendMessage"))


async def test_telegram_counting_longer_than_us_gets_a_smaller_split(
    fake: FakeTelegramServer, bot: Bot
) -> None:
    """Were our measure ever wrong, "message is too long" splits again instead of failing."""
    channel = TelegramChannel(bot, send_limits=FAST, max_chars=8000)
    sections = [Section(heading=f"Item {n}", lines=["y" * 2500]) for n in range(2)]
    ids = await channel.send(chat(42), Reply(text="Digest", sections=sections))
    statuses = [call.status for call in fake.calls_to("sendMessage")]
    assert statuses == [400, 200, 200] and len(ids) == 2
    assert "".join(m.plain_text for m in fake.sent_messages(42)).count("Item") == 2


async def test_export_goes_as_a_document_with_its_caption(
    fake: FakeTelegramServer, bot: Bot
) -> None:
    content = json.dumps({"subscriptions": []}).encode()
    reply = Reply(text="Everything stored <here>", attachment=("signpost-export.json", content))
    ids = await TelegramChannel(bot, send_limits=FAST).send(chat(42), reply)
    (document,) = fake.sent_documents(42)
    assert ids == [str(document.message_id)]
    assert document.filename == "signpost-export.json" and document.content == content
    assert document.caption == "Everything stored &lt;here&gt;"
    assert fake.sent_messages(42) == []


async def test_a_document_whose_text_needs_buttons_gets_a_message_first(
    fake: FakeTelegramServer, bot: Bot
) -> None:
    reply = Reply(text="x", buttons=[Button("Help", "help")], attachment=("a.json", b"{}"))
    ids = await TelegramChannel(bot, send_limits=FAST).send(chat(42), reply)
    assert len(ids) == 2
    assert fake.sent_messages(42)[0].plain_text == "x"
    assert fake.sent_documents(42)[0].caption is None


async def test_edit_in_place_quiet_when_unchanged_and_anew_when_gone(
    fake: FakeTelegramServer, bot: Bot
) -> None:
    channel = TelegramChannel(bot, send_limits=FAST)
    [first] = await channel.send(chat(42), Reply(text="Step 1", buttons=[Button("Next", "n")]))
    assert await channel.edit(chat(42), int(first), Reply(text="Step 2")) == [first]
    assert fake.messages[(42, int(first))]["text"] == "Step 2"
    assert "reply_markup" not in fake.messages[(42, int(first))]
    assert await channel.edit(chat(42), int(first), Reply(text="Step 2")) == [first]
    assert fake.calls_to("editMessageText")[-1].status == 400  # "not modified", quietly
    anew = await channel.edit(chat(42), 999, Reply(text="Step 3"))
    assert anew != ["999"] and fake.sent_messages(42)[-1].plain_text == "Step 3"


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("fault", "chat_id", "expected", "words"),
    [
        ("block", 21, ChatGone, "blocked by the user"),
        ("kick", -22, ChatGone, "kicked from the group chat"),
        ("deactivate", 23, ChatGone, "user is deactivated"),
        ("lose", 24, ChatGone, "chat not found"),
    ],
)
async def test_chats_that_cannot_receive_are_gone(
    fake: FakeTelegramServer, bot: Bot, fault: str, chat_id: int, expected: type, words: str
) -> None:
    getattr(fake, fault)(chat_id)
    with pytest.raises(expected) as caught:
        await TelegramChannel(bot, send_limits=FAST).send(chat(chat_id), alert())
    assert str(caught.value).startswith(GONE_MARK) and words in str(caught.value).lower()


async def test_a_deleted_topic_is_gone_too(fake: FakeTelegramServer, bot: Bot) -> None:
    fake.add_chat(-1009, "supergroup", is_forum=True)
    fake.delete_topic(-1009, 99)
    with pytest.raises(ChatGone, match="thread not found"):
        await TelegramChannel(bot, send_limits=FAST).send(chat(-1009, "99"), alert())


async def test_a_migrated_group_names_its_new_id(fake: FakeTelegramServer, bot: Bot) -> None:
    fake.migrate(-77, -1009999)
    with pytest.raises(ChatMoved) as caught:
        await TelegramChannel(bot, send_limits=FAST).send(chat(-77, kind="group"), alert())
    assert caught.value.new_chat_id == "-1009999"


@pytest.mark.parametrize(("chat_id", "seconds"), [(31, 1.0), (-32, 3.0)])
async def test_a_429_says_exactly_how_long_to_wait(chat_id: int, seconds: float) -> None:
    """Another process used the budget (the fake counts it); we pass Telegram's wait on."""
    async with FakeTelegramServer(clock=ManualClock()) as fake, telegram_bot(fake) as bot:
        for _ in range(3 if chat_id > 0 else 20):
            await bot.send_message(chat_id, "someone else's message")
        with pytest.raises(RetryAfter) as caught:
            await TelegramChannel(bot, send_limits=FAST).send(chat(chat_id), alert())
    assert caught.value.seconds == seconds


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_errors_are_transient(fake: FakeTelegramServer, bot: Bot, status: int) -> None:
    fake.fail_next(1, status=status, method="sendMessage")
    channel = TelegramChannel(bot, send_limits=FAST)
    with pytest.raises(Transient):
        await channel.send(chat(42), alert())
    assert await channel.send(chat(42), alert())  # the next try goes through


async def test_a_timeout_is_transient(fake: FakeTelegramServer) -> None:
    fake.hang_next(1, method="sendMessage")
    async with telegram_bot(fake, read_timeout=0.2) as bot:
        with pytest.raises(Transient, match="TimedOut"):
            await TelegramChannel(bot, send_limits=FAST).send(chat(42), alert())


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda: TelegramRetryAfter(timedelta(seconds=7)), RetryAfter),
        (lambda: ChatMigrated(-100123), ChatMoved),
        (lambda: Forbidden("Forbidden: bot was blocked by the user"), ChatGone),
        (lambda: BadRequest("Bad Request: not enough rights to send text messages"), ChatGone),
        (lambda: BadRequest("Bad Request: message is too long"), TooLong),
        (lambda: BadRequest("Bad Request: message is not modified: same"), NotModified),
        (lambda: BadRequest("Bad Request: can't parse entities: x"), Rejected),
        (lambda: BadRequest("Bad Request: wrong file identifier"), Rejected),
        (lambda: TimedOut(), Transient),
        (lambda: NetworkError("Bad Gateway (502)"), Transient),
        (lambda: Conflict("Conflict: terminated by other getUpdates request"), Transient),
    ],
)
def test_every_ptb_error_maps_to_a_decision(make, expected: type) -> None:
    mapped = delivery_error(make())
    assert type(mapped) is expected
    if isinstance(mapped, RetryAfter):
        assert mapped.seconds == 7.0
    if isinstance(mapped, ChatMoved):
        assert mapped.new_chat_id == "-100123"


def test_retry_after_is_read_without_the_timedelta_opt_in(monkeypatch) -> None:
    monkeypatch.delenv("PTB_TIMEDELTA")
    with pytest.warns(PTBDeprecationWarning):  # PTB warns building it; reading it must not fail
        error = TelegramRetryAfter(2)
    assert delivery_error(error).seconds == 2.0


def test_the_token_never_reaches_an_error_message() -> None:
    token = "123456789:AAF-fake-signpost-token"
    mapped = delivery_error(NetworkError(f"failed: http://h/bot{token}/x"), secret=token)
    assert token not in str(mapped) and "[redacted]" in str(mapped)


# --------------------------------------------------------------------------- throttling


async def test_a_private_chat_gets_its_messages_spaced_so_telegram_never_refuses() -> None:
    limits = TelegramLimits(private_per_second=5, private_burst=1)
    async with FakeTelegramServer(limits=limits) as fake, telegram_bot(fake) as bot:
        channel = TelegramChannel(bot, send_limits=SendLimits(private_per_second=5))
        await channel.send(chat(4), Reply(text="a first message opens the connection"))
        started = time.monotonic()
        for _ in range(4):
            await channel.send(chat(5), Reply(text="x"))
        elapsed = time.monotonic() - started
    assert fake.rate_limited == 0 and len(fake.sent_messages(5)) == 4
    assert elapsed >= 0.6  # one at once, then one every 0.2 s (stretched by the margin)


async def test_groups_get_a_burst_then_their_per_minute_rate() -> None:
    limits = TelegramLimits(group_per_minute=600, group_burst=3)
    async with FakeTelegramServer(limits=limits) as fake, telegram_bot(fake) as bot:
        ours = SendLimits(group_per_minute=600, group_burst=2)
        channel = TelegramChannel(bot, send_limits=ours)
        started = time.monotonic()
        await asyncio.gather(*(channel.send(chat(-50, kind="group"), alert()) for _ in range(7)))
        elapsed = time.monotonic() - started
        await channel.send(chat(-51, kind="group"), alert())  # another group: no wait
    assert fake.rate_limited == 0 and len(fake.sent_messages(-50)) == 7
    assert elapsed >= 0.5  # 2 at once, then one every 0.1 s (stretched by the margin)


async def test_thirty_a_second_overall() -> None:
    async with FakeTelegramServer() as fake, telegram_bot(fake) as bot:
        channel = TelegramChannel(bot)
        started = time.monotonic()
        await asyncio.gather(*(channel.send(chat(n), Reply(text="x")) for n in range(1, 41)))
        elapsed = time.monotonic() - started
    assert fake.rate_limited == 0 and len(fake.sent_messages()) == 40
    assert elapsed >= 1.0  # 10 at once, then 27 a second


def test_the_default_limits_are_telegrams_with_a_margin() -> None:
    throttle = Throttle()
    private, group = throttle._limiter(5), throttle._limiter(-100123)
    rate = {"private": 1 / private.time_period, "group": group.max_rate / group.time_period * 60}
    assert (private.max_rate, rate["private"]) == (1, pytest.approx(1 / 1.1))
    assert (group.max_rate, rate["group"]) == (1, pytest.approx(20 / 1.1))  # no burst
    overall = throttle.overall.max_rate / throttle.overall.time_period
    assert (throttle.overall.max_rate, overall) == (10, pytest.approx(30 / 1.1))
    assert throttle._limiter("@channel").max_rate == 1  # a channel's username: group limits
