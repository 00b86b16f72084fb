"""The Telegram fake, checked through the real python-telegram-bot client.

If PTB de-jsons every answer and raises the exception the dispatcher maps to a decision
(``RetryAfter``, ``Forbidden``, ``ChatMigrated``, ``BadRequest``), the fake is faithful enough
for the delivery and Telegram suites to trust.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import json
from collections.abc import Callable

import httpx
import pytest
from aiohttp import web
from telegram import (
    ChatMemberAdministrator,
    ChatMemberMember,
    ChatMemberOwner,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import Application, CommandHandler

from tests.helpers.fake_telegram import (
    FakeTelegramServer,
    ManualClock,
    TelegramLimits,
    parse_telegram_html,
    post_update_to,
    telegram_bot,
)

UNLIMITED = TelegramLimits(enabled=False)


@pytest.fixture(autouse=True)
def _timedelta_durations(monkeypatch: pytest.MonkeyPatch) -> None:
    """PTB 22 warns when ``retry_after`` is read as an int; opt in to timedelta instead."""
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


async def until(condition: Callable[[], bool]) -> None:
    """Waits (up to 3 s) for something the server will see soon, without a fixed sleep."""
    for _ in range(600):
        if condition():
            return
        await asyncio.sleep(0.005)
    pytest.fail("the fake never saw what the test waited for")


def keyboard(*labels: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(x, callback_data=x) for x in labels]])


# --------------------------------------------------------------------------- basics


async def test_bot_and_application_reach_the_fake(telegram: FakeTelegramServer) -> None:
    async with telegram_bot(telegram) as bot:
        assert bot.username == "signpost_test_bot"
    application = (
        Application.builder()
        .token(telegram.token)
        .base_url(telegram.base_url)
        .base_file_url(telegram.base_file_url)
        .build()
    )
    async with application:
        assert application.bot.id == telegram.bot_user["id"]
    assert [call.method for call in telegram.calls] == ["getMe", "getMe"]


async def test_wrong_token_is_refused_as_telegram_does(telegram: FakeTelegramServer) -> None:
    with pytest.raises(InvalidToken):
        async with telegram_bot(FakeTelegramServerView(telegram, "42:wrong")):
            pass


class FakeTelegramServerView:
    """The same server seen with another token, to exercise the 401 path."""

    def __init__(self, server: FakeTelegramServer, token: str) -> None:
        self.token = token
        self.base_url = server.base_url
        self.base_file_url = server.base_file_url


async def test_send_message_returns_a_message_ptb_understands(
    telegram: FakeTelegramServer,
) -> None:
    async with telegram_bot(telegram) as bot:
        first = await bot.send_message(
            42,
            '<b>New call</b> &amp; <a href="https://www.ukri.org/opportunity/x/">UKRI</a> 😀',
            parse_mode="HTML",
            reply_markup=keyboard("Save"),
        )
        second = await bot.send_message(42, "plain")
        other = await bot.send_message(-100123, "in a group")

    assert (first.message_id, second.message_id, other.message_id) == (1, 2, 1)
    assert first.text == "New call & UKRI 😀"
    assert first.text_html == (
        '<b>New call</b> &amp; <a href="https://www.ukri.org/opportunity/x/">UKRI</a> 😀'
    )
    assert first.reply_markup == keyboard("Save")
    assert first.from_user.is_bot and first.chat.type == "private"
    assert other.chat.type == "group"
    sent = telegram.sent_messages(42)
    assert [m.plain_text for m in sent] == ["New call & UKRI 😀", "plain"]
    assert sent[0].parse_mode == "HTML" and sent[0].text.startswith("<b>")
    assert telegram.calls[-1].chat_id == -100123 and telegram.calls[-1].ok


@pytest.mark.parametrize("encoding", ["json", "data", "params"])
async def test_json_form_and_query_bodies_are_all_accepted(
    telegram: FakeTelegramServer, encoding: str
) -> None:
    """The Bot API takes any of them; other clients (and curl) use JSON or the query."""
    payload = {"chat_id": 7, "text": "<i>hi</i>", "parse_mode": "HTML"}
    if encoding != "json":
        payload = {key: str(value) for key, value in payload.items()}
    url = f"{telegram.base_url}{telegram.token}/sendMessage"
    async with httpx.AsyncClient() as client:
        response = await client.post(url, **{encoding: payload})
    body = response.json()
    assert body["ok"] is True
    assert body["result"]["entities"] == [{"type": "italic", "offset": 0, "length": 2}]
    assert telegram.calls[0].params["chat_id"] == 7


async def test_method_names_are_case_insensitive_and_unknown_ones_are_404(
    telegram: FakeTelegramServer,
) -> None:
    async with httpx.AsyncClient() as client:
        known = await client.get(f"{telegram.base_url}{telegram.token}/getme")
        unknown = await client.get(f"{telegram.base_url}{telegram.token}/sendTelepathy")
    assert known.json()["result"]["username"] == "signpost_test_bot"
    assert unknown.status_code == 404
    assert unknown.json() == {"ok": False, "error_code": 404, "description": "Not Found"}


# --------------------------------------------------------------------------- editing


async def test_edit_message_text_and_not_modified(telegram: FakeTelegramServer) -> None:
    async with telegram_bot(telegram) as bot:
        sent = await bot.send_message(5, "<b>Draft</b>", parse_mode="HTML")
        edited = await bot.edit_message_text(
            "<b>Final</b>",
            chat_id=5,
            message_id=sent.message_id,
            parse_mode="HTML",
            reply_markup=keyboard("Undo"),
        )
        assert edited.text == "Final" and edited.edit_date is not None
        with pytest.raises(BadRequest, match="Message is not modified"):
            # Same visible text and entities (strong is bold), same keyboard.
            await bot.edit_message_text(
                "<strong>Final</strong>",
                chat_id=5,
                message_id=sent.message_id,
                parse_mode="HTML",
                reply_markup=keyboard("Undo"),
            )
        with pytest.raises(BadRequest, match="Message is not modified"):
            await bot.edit_message_reply_markup(5, sent.message_id, reply_markup=keyboard("Undo"))
        await bot.edit_message_reply_markup(5, sent.message_id, reply_markup=None)
        assert "reply_markup" not in telegram.messages[(5, sent.message_id)]
        with pytest.raises(BadRequest, match="Message to edit not found"):
            await bot.edit_message_text("x", chat_id=5, message_id=999)
        assert await bot.delete_message(5, sent.message_id) is True
        with pytest.raises(BadRequest, match="Message to delete not found"):
            await bot.delete_message(5, sent.message_id)


# --------------------------------------------------------------------------- rate limits


async def test_private_chat_allows_a_burst_then_one_per_second(
    telegram: FakeTelegramServer, clock: ManualClock
) -> None:
    async with telegram_bot(telegram) as bot:
        for _ in range(3):
            await bot.send_message(11, "burst")
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(11, "too fast")
        assert caught.value.retry_after == dtm.timedelta(seconds=1)
        clock.advance(1)
        await bot.send_message(11, "after waiting exactly retry_after")
    assert telegram.rate_limited == 1
    refused = [call for call in telegram.calls if call.status == 429]
    assert refused[0].response == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    }
    assert len(telegram.sent_messages(11)) == 4


async def test_groups_get_twenty_messages_a_minute(
    telegram: FakeTelegramServer, clock: ManualClock
) -> None:
    async with telegram_bot(telegram) as bot:
        for _ in range(20):
            await bot.send_message(-500, "x")
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(-500, "x")
        assert caught.value.retry_after == dtm.timedelta(seconds=3)  # one token per 3 s
        await bot.send_message(-501, "another group is not affected")
        clock.advance(3)
        await bot.send_message(-500, "x")


async def test_thirty_messages_a_second_overall(clock: ManualClock) -> None:
    async with FakeTelegramServer(clock=clock) as telegram, telegram_bot(telegram) as bot:
        for chat_id in range(1, 31):
            await bot.send_message(chat_id, "x")
        with pytest.raises(RetryAfter):
            await bot.send_message(31, "x")
        clock.advance(0.1)  # three tokens back at 30/s
        for chat_id in range(31, 34):
            await bot.send_message(chat_id, "x")
        with pytest.raises(RetryAfter):
            await bot.send_message(34, "x")
    assert telegram.rate_limited == 2


async def test_limits_are_configurable_for_tests_and_benchmarks(clock: ManualClock) -> None:
    limits = TelegramLimits(private_per_second=100, private_burst=1)
    async with (
        FakeTelegramServer(clock=clock, limits=limits) as telegram,
        telegram_bot(telegram) as bot,
    ):
        await bot.send_message(3, "x")
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(3, "x")
        assert caught.value.retry_after == dtm.timedelta(seconds=1)  # never below 1 s
        clock.advance(0.01)
        await bot.send_message(3, "x")


# --------------------------------------------------------------------------- chat faults


@pytest.mark.parametrize(
    ("fault", "chat_id", "description"),
    [
        ("block", 21, "Forbidden: bot was blocked by the user"),
        ("kick", -22, "Forbidden: bot was kicked from the group chat"),
        ("kick", -1001234567890, "Forbidden: bot was kicked from the supergroup chat"),
        ("deactivate", 23, "Forbidden: user is deactivated"),
    ],
)
async def test_forbidden_faults(
    telegram: FakeTelegramServer, fault: str, chat_id: int, description: str
) -> None:
    getattr(telegram, fault)(chat_id)
    async with telegram_bot(telegram) as bot:
        with pytest.raises(Forbidden) as caught:
            await bot.send_message(chat_id, "hello")
        assert telegram.calls[-1].response["description"] == description
        assert caught.value.message == description
        telegram.restore(chat_id)
        await bot.send_message(chat_id, "hello again")


async def test_migrated_group_names_its_new_id(telegram: FakeTelegramServer) -> None:
    telegram.migrate(-77, -1009999)
    async with telegram_bot(telegram) as bot:
        with pytest.raises(ChatMigrated) as caught:
            await bot.send_message(-77, "hello")
        assert caught.value.new_chat_id == -1009999
        moved = await bot.send_message(caught.value.new_chat_id, "hello")
    assert moved.chat.type == "supergroup"
    refused = telegram.calls_to("sendMessage")[0]
    assert refused.response["parameters"] == {"migrate_to_chat_id": -1009999}


async def test_lost_chat_and_username_lookup(telegram: FakeTelegramServer) -> None:
    telegram.add_chat(-1005, "channel", username="signpost_alerts")
    telegram.lose(404)
    async with telegram_bot(telegram) as bot:
        posted = await bot.send_message("@signpost_alerts", "to a channel")
        with pytest.raises(BadRequest, match="Chat not found"):
            await bot.send_message(404, "x")
        with pytest.raises(BadRequest, match="Chat not found"):
            await bot.send_message("@nobody_here", "x")
    assert posted.chat.type == "channel" and posted.sender_chat.id == -1005
    assert posted.from_user is None


# --------------------------------------------------------------------------- HTML and length


@pytest.mark.parametrize(
    ("html", "description"),
    [
        ("<p>para</p>", 'Unsupported start tag "p" at byte offset 0'),
        ("a<br>b", 'Unsupported start tag "br" at byte offset 1'),
        ("x < y", 'Unsupported start tag "" at byte offset 2'),
        ("<b>open", "Can't find end tag corresponding to start tag b"),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("é <b", "Unclosed start tag at byte offset 3"),
        ('<span class="x">s</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("<a href>x</a>", 'Expected equal sign in declaration of an attribute of the tag "a"'),
        ('<tg-emoji emoji-id="abc">👍</tg-emoji>', "Invalid custom emoji identifier specified"),
        ("caf&eacute;", 'Unsupported HTML entity "&eacute;" at byte offset 3'),
        ("R&D", 'Character "&" must be escaped as "&amp;" at byte offset 1'),
        ('<a href="https://x.org/?a=1&b=2">x</a>', 'Character "&" must be escaped as "&amp;"'),
    ],
)
async def test_bad_html_is_refused_with_telegrams_words(
    telegram: FakeTelegramServer, html: str, description: str
) -> None:
    async with telegram_bot(telegram) as bot:
        with pytest.raises(BadRequest, match=r"^Can't parse entities: "):
            await bot.send_message(9, html, parse_mode="HTML")
    answered = telegram.calls[-1].response["description"]
    assert answered.startswith(f"Bad Request: can't parse entities: {description}")


def test_lenient_mode_shows_unknown_entities_literally_like_telegram() -> None:
    from tests.helpers.fake_telegram import _HtmlParser

    text, _ = _HtmlParser("caf&eacute; R&D &#233;", strict_entities=False).run()
    assert text == "caf&eacute; R&D é"


@pytest.mark.parametrize(
    ("html", "text", "entities"),
    [
        ("<b>b</b><strong>s</strong>", "bs", [("bold", 0, 1), ("bold", 1, 1)]),
        ("<i>i</i><em>e</em><u>u</u><ins>n</ins>", "ieun",
         [("italic", 0, 1), ("italic", 1, 1), ("underline", 2, 1), ("underline", 3, 1)]),
        ("<s>a</s><strike>b</strike><del>c</del>", "abc",
         [("strikethrough", 0, 1), ("strikethrough", 1, 1), ("strikethrough", 2, 1)]),
        ('<tg-spoiler>x</tg-spoiler><span class="tg-spoiler">y</span>', "xy",
         [("spoiler", 0, 1), ("spoiler", 1, 1)]),
        ("<b>bold <i>both</i></b>", "bold both", [("bold", 0, 9), ("italic", 5, 4)]),
        ("<code>c</code> <pre>p</pre>", "c p", [("code", 0, 1), ("pre", 2, 1)]),
        ("<blockquote>q</blockquote><blockquote expandable>e</blockquote>", "qe",
         [("blockquote", 0, 1), ("expandable_blockquote", 1, 1)]),
        ("&lt;&gt;&amp;&quot;&#39;&#x27;", "<>&\"''", []),
        ("😀<b>x</b>", "😀x", [("bold", 2, 1)]),  # offsets count UTF-16 code units
        ("<B>upper</B>", "upper", [("bold", 0, 5)]),
    ],
)  # fmt: skip
def test_allowed_html_parses_to_telegrams_entities(
    html: str, text: str, entities: list[tuple[str, int, int]]
) -> None:
    parsed_text, parsed = parse_telegram_html(html)
    assert parsed_text == text
    assert [(e["type"], e["offset"], e["length"]) for e in parsed] == entities


def test_links_code_languages_and_custom_emoji_keep_their_arguments() -> None:
    html = (
        '<a href="https://nihr.ac.uk/?a=1&amp;b=2">NIHR</a> '
        '<pre><code class="language-python">x = 1</code></pre> '
        '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>'
    )
    _, entities = parse_telegram_html(html)
    assert entities[0] == {
        "type": "text_link",
        "offset": 0,
        "length": 4,
        "url": "https://nihr.ac.uk/?a=1&b=2",
    }
    assert entities[1] == {"type": "pre", "offset": 5, "length": 5, "language": "python"}
    assert entities[2]["custom_emoji_id"] == "5368324170671202286"


async def test_length_counts_visible_utf16_text_after_parsing(
    telegram: FakeTelegramServer,
) -> None:
    limits_free = "&amp;" * 4096  # 20480 characters of HTML, 4096 visible
    async with telegram_bot(telegram) as bot:
        await bot.send_message(1, f"<b>{limits_free}</b>", parse_mode="HTML")
        with pytest.raises(BadRequest, match="Message is too long"):
            await bot.send_message(2, "x" * 4097)
        await bot.send_message(3, "😀" * 2048)  # 4096 UTF-16 code units
        with pytest.raises(BadRequest, match="Message is too long"):
            await bot.send_message(4, "😀" * 2049)
        await bot.send_message(5, "  " + "y" * 4096 + "\n\n")  # trimmed before counting


@pytest.mark.parametrize("text", ["", "   \n ", "<b></b>", "<i> </i>"])
async def test_empty_text_is_refused(telegram: FakeTelegramServer, text: str) -> None:
    async with telegram_bot(telegram) as bot:
        with pytest.raises(BadRequest, match="Message text is empty"):
            await bot.send_message(1, text, parse_mode="HTML")


# --------------------------------------------------------------------------- transport faults


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_fail_next_answers_server_errors(telegram: FakeTelegramServer, status: int) -> None:
    telegram.fail_next(1, status=status, method="sendMessage")
    async with telegram_bot(telegram) as bot:
        with pytest.raises(NetworkError) as caught:
            await bot.send_message(1, "x")
        assert not isinstance(caught.value, TimedOut)
        await bot.send_message(1, "the next one goes through")
    assert [call.status for call in telegram.calls_to("sendMessage")] == [status, 200]


async def test_hang_next_leaves_the_client_to_time_out(telegram: FakeTelegramServer) -> None:
    telegram.hang_next(1, method="sendMessage")
    async with telegram_bot(telegram, read_timeout=0.2) as bot:
        with pytest.raises(TimedOut):
            await bot.send_message(1, "x")
        await bot.send_message(1, "y")
    assert telegram.calls_to("sendMessage")[0].status is None


# --------------------------------------------------------------------------- updates


async def test_get_updates_long_polls_and_confirms_with_offset(
    telegram: FakeTelegramServer,
) -> None:
    async with telegram_bot(telegram) as bot:
        assert await bot.get_updates(timeout=0) == ()
        waiting = asyncio.create_task(bot.get_updates(timeout=5))
        await until(lambda: len(telegram.calls_to("getUpdates")) == 2)
        telegram.push_update(telegram.build.private_message(8, "/start"))
        (update,) = await asyncio.wait_for(waiting, 2)
        assert update.message.text == "/start"
        assert update.message.entities[0].type == "bot_command"
        again = await bot.get_updates(timeout=0)
        assert [u.update_id for u in again] == [update.update_id]  # not confirmed yet
        assert await bot.get_updates(offset=update.update_id + 1, timeout=0) == ()
        assert telegram.pending_updates == []


async def test_webhook_and_a_second_poller_conflict(telegram: FakeTelegramServer) -> None:
    async with telegram_bot(telegram) as bot, telegram_bot(telegram) as second_instance:
        first = asyncio.create_task(bot.get_updates(timeout=5))
        await until(lambda: len(telegram.calls_to("getUpdates")) == 1)
        await second_instance.get_updates(timeout=0)
        with pytest.raises(Conflict, match="terminated by other getUpdates request"):
            await asyncio.wait_for(first, 2)
        assert await bot.set_webhook("https://bot.example.org/telegram", secret_token="s3")
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates(timeout=0)
        assert (await bot.get_webhook_info()).url == "https://bot.example.org/telegram"
        assert await bot.delete_webhook(drop_pending_updates=True)
        assert await bot.get_updates(timeout=0) == ()


async def test_application_polling_runs_a_command_handler(telegram: FakeTelegramServer) -> None:
    async def start(update: Update, context: object) -> None:
        await update.effective_message.reply_html("<b>Welcome</b> to Signpost")

    application = Application.builder().token(telegram.token).base_url(telegram.base_url).build()
    application.add_handler(CommandHandler("start", start))
    telegram.push_update(telegram.build.private_message(31, "/start"))
    async with application:
        await application.start()
        await application.updater.start_polling(poll_interval=0, timeout=1)
        await until(lambda: bool(telegram.sent_messages(31)))
        await application.updater.stop()
        await application.stop()
    (reply,) = telegram.sent_messages(31)
    assert reply.plain_text == "Welcome to Signpost"
    assert telegram.calls_to("deleteWebhook"), "run_polling's bootstrap reached the fake"


def test_every_builder_produces_an_update_ptb_can_read(telegram: FakeTelegramServer) -> None:
    build = telegram.build
    private = Update.de_json(build.private_message(5, "hi"), None)
    group = Update.de_json(build.group_message(-6, "/calls@signpost_test_bot", from_id=5), None)
    supergroup = Update.de_json(build.supergroup_message(-1007, "x", from_id=5), None)
    channel = Update.de_json(build.channel_post(-1008, "x"), None)
    topic = Update.de_json(build.topic_message(-1009, 12, "/digest", from_id=5), None)
    added = Update.de_json(build.bot_added(-6, by=5, as_admin=True), None)
    removed = Update.de_json(build.bot_removed(-6, by=5), None)
    blocked = Update.de_json(build.bot_blocked(5), None)
    old, new = (Update.de_json(u, None) for u in build.migration(-6, -1006))

    assert private.effective_chat.type == "private" and private.effective_user.id == 5
    assert group.effective_chat.type == "group"
    assert group.message.entities[0].length == len("/calls@signpost_test_bot")
    assert supergroup.effective_chat.type == "supergroup"
    assert channel.channel_post.sender_chat.id == -1008
    assert topic.message.message_thread_id == 12 and topic.message.is_topic_message
    assert topic.effective_chat.is_forum
    assert added.my_chat_member.new_chat_member.status == "administrator"
    assert removed.my_chat_member.new_chat_member.status == "left"
    assert blocked.my_chat_member.new_chat_member.status == "kicked"
    assert old.message.migrate_to_chat_id == -1006
    assert new.message.migrate_from_chat_id == -6
    ids = [u.update_id for u in (private, group, supergroup, channel, topic, added)]
    assert ids == sorted(ids)


async def test_callback_queries_can_be_answered_once_and_only_while_fresh(
    telegram: FakeTelegramServer, clock: ManualClock
) -> None:
    async with telegram_bot(telegram) as bot:
        sent = await bot.send_message(4, "pick", reply_markup=keyboard("Save"))
        fresh = telegram.push_update(
            telegram.build.callback_query(4, "Save", message_id=sent.message_id)
        )
        stale = telegram.push_update(telegram.build.callback_query(4, "Save"))
        first, _ = await bot.get_updates(timeout=0)
        assert first.callback_query.message.message_id == sent.message_id
        assert first.callback_query.data == "Save"
        assert await first.callback_query.answer("Saved")
        with pytest.raises(BadRequest, match="Query is too old"):
            await first.callback_query.answer("Saved twice")
        clock.advance(16)
        with pytest.raises(BadRequest, match="Query is too old"):
            await bot.answer_callback_query(stale["callback_query"]["id"])
        with pytest.raises(BadRequest, match="Query is too old"):
            await bot.answer_callback_query("never-issued")
    assert fresh["update_id"] < stale["update_id"]


async def test_post_update_to_delivers_a_webhook_call(telegram: FakeTelegramServer) -> None:
    received: list[tuple[str | None, dict]] = []

    async def webhook(request: web.Request) -> web.Response:
        secret = request.headers.get("X-Telegram-Bot-Api-Secret-Token")
        received.append((secret, await request.json()))
        return web.Response()

    app = web.Application()
    app.router.add_post("/telegram", webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/telegram"
    try:
        update = telegram.build.private_message(3, "/help")
        assert await telegram.post_update_to(url, update, secret_token="s3cr3t") == 200
        assert await post_update_to(url, {"update_id": 99, "message": update["message"]}) == 200
    finally:
        await runner.cleanup()
    assert received[0] == ("s3cr3t", update)
    assert received[1][0] is None
    assert Update.de_json(received[0][1], None).message.text == "/help"


# --------------------------------------------------------------------------- other methods


async def test_send_document_uploads_multipart(telegram: FakeTelegramServer) -> None:
    export = json.dumps({"chat": 12, "subscriptions": []}).encode()
    async with telegram_bot(telegram) as bot:
        message = await bot.send_document(
            12,
            export,
            filename="signpost-export.json",
            caption="<b>Your data</b>",
            parse_mode="HTML",
        )
    assert message.document.file_name == "signpost-export.json"
    assert message.document.file_size == len(export)
    assert message.caption == "Your data"
    (document,) = telegram.sent_documents(12)
    assert document.content == export and document.caption == "<b>Your data</b>"
    assert telegram.calls[-1].params["document"]["filename"] == "signpost-export.json"


async def test_commands_round_trip_per_scope(telegram: FakeTelegramServer) -> None:
    from telegram import BotCommand, BotCommandScopeAllGroupChats

    async with telegram_bot(telegram) as bot:
        await bot.set_my_commands([BotCommand("calls", "Search open calls")])
        await bot.set_my_commands(
            [BotCommand("subscribe", "Alerts for this group")],
            scope=BotCommandScopeAllGroupChats(),
        )
        assert [c.command for c in await bot.get_my_commands()] == ["calls"]
        groups = await bot.get_my_commands(scope=BotCommandScopeAllGroupChats())
        assert [c.command for c in groups] == ["subscribe"]
        with pytest.raises(BadRequest, match="Bot_command_invalid"):
            await bot.set_my_commands([BotCommand("Not-Valid", "x")])


async def test_get_chat_member_reports_configured_admins(telegram: FakeTelegramServer) -> None:
    telegram.set_admins(-40, [7], owner=6)
    async with telegram_bot(telegram) as bot:
        owner = await bot.get_chat_member(-40, 6)
        admin = await bot.get_chat_member(-40, 7)
        member = await bot.get_chat_member(-40, 8)
    assert isinstance(owner, ChatMemberOwner)
    assert isinstance(admin, ChatMemberAdministrator) and admin.can_manage_chat
    assert isinstance(member, ChatMemberMember)


async def test_forum_topics_carry_the_thread_id(telegram: FakeTelegramServer) -> None:
    telegram.add_chat(-1003, "supergroup", is_forum=True)
    telegram.delete_topic(-1003, 99)
    async with telegram_bot(telegram) as bot:
        message = await bot.send_message(-1003, "in a topic", message_thread_id=12)
        with pytest.raises(BadRequest, match="Message thread not found"):
            await bot.send_message(-1003, "x", message_thread_id=99)
    assert message.message_thread_id == 12 and message.is_topic_message
    assert telegram.sent_messages(-1003)[0].message_thread_id == 12
