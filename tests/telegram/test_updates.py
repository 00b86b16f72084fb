"""The Telegram transport end to end: real PTB polling (or webhook) against the fake Bot API,
a real runtime (offline snapshots) on SQLite and PostgreSQL, and the core's real commands.

Updates are pushed to the fake as Telegram would queue them; a test then waits for what the bot
did about them (its sendMessage, editMessageText and sendDocument calls) and looks at the store.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from bot.core.commands import NOT_YOURS
from bot.runtime import Runtime
from bot.telegram.channel import TelegramChannel
from bot.telegram.lifecycle import TelegramTransport
from tests.helpers.fake_telegram import FakeTelegramServer
from tests.telegram.support import (
    ADMIN,
    add_calls,
    ask,
    buttons,
    deliver_all,
    eventually,
    nothing_more,
    poll_all,
    press,
    say,
    stored_chat,
    subscriptions,
    until,
)

# --------------------------------------------------------------------------- commands


async def test_start_help_and_the_command_menu(
    fake: FakeTelegramServer, runtime: Runtime, transport: TelegramTransport
) -> None:
    assert isinstance(runtime.channels["telegram"], TelegramChannel)
    assert runtime.connected["telegram"] is True
    menus = {scope: [c["command"] for c in cmds] for (scope, _), cmds in fake.commands.items()}
    assert "calls" in menus['{"type": "default"}'] and "channel" not in menus['{"type": "default"}']
    assert "channel" in menus['{"type": "all_private_chats"}']
    hello = await say(fake, 5, "/start")
    assert hello["text"].startswith("Hello! I'm Signpost")
    assert buttons(hello) == {"Subscribe": "sub:t:0:-:-:0"}
    helped = await say(fake, 5, "/help")
    assert "/calls — search open funding calls" in helped["text"]
    assert "(admin)" not in helped["text"]
    assert "/status — health of sources" in (await say(fake, ADMIN, "/help"))["text"]


async def test_calls_for_mental_health_page_with_more(
    fake: FakeTelegramServer, runtime: Runtime, transport: TelegramTransport
) -> None:
    await add_calls(runtime, [f"Mental health peer support pilot {n}" for n in range(7)])
    first = await say(fake, 5, "/calls mental health")
    assert first["text"].startswith("Open calls for “mental health” (1–5 of ")
    assert any(e["type"] == "text_link" for e in first["entities"])
    call = await press(fake, first, buttons(first)["More"])
    assert call.method == "sendMessage"  # a new page is a new message
    assert call.response["result"]["text"].startswith("Open calls for “mental health” (6–")


async def test_glossary_explains_co_pi_however_it_is_typed(
    fake: FakeTelegramServer, runtime: Runtime, transport: TelegramTransport
) -> None:
    for typed in ("co-PI", "copi"):
        answer = await say(fake, 5, f"/glossary {typed}")
        assert answer["text"].startswith("co-PI\n")
        assert "shares responsibility" in answer["text"]
        assert answer["entities"][0]["type"] in ("bold", "text_link")


async def test_glossary_shows_a_new_entry_with_its_as_of_date(
    fake: FakeTelegramServer, runtime: Runtime, transport: TelegramTransport
) -> None:
    answer = await say(fake, 5, "/glossary Healthwatch")
    assert answer["text"].startswith("Healthwatch\n")
    assert "plans to abolish them" in answer["text"]
    assert "As of December 2026: this policy is changing, so check the link." in answer["text"]
    crsf = await say(fake, 5, "/glossary CRSF")  # one of the 20 terms the review added
    assert crsf["text"].startswith("Charity Research Support Fund\n")
    link = next(e for e in crsf["entities"] if e["type"] == "text_link")
    assert link["url"].startswith("https://www.ukri.org/councils/research-england/")


async def test_subscribe_guided_flow_edits_one_message_until_saved(
    fake: FakeTelegramServer, runtime: Runtime, transport: TelegramTransport
) -> None:
    step = await say(fake, 5, "/subscribe")
    assert step["text"].startswith("Step 1 of 3")
    first_topic, toggle = next(iter(buttons(step).items()))
    edited = (await press(fake, step, toggle)).response["result"]
    assert edited["message_id"] == step["message_id"] and "1 chosen." in edited["text"]
    assert buttons(edited)[f"✓ {first_topic}"]
    role = (await press(fake, edited, buttons(edited)["Next ›"])).response["result"]
    assert role["text"].startswith("Step 2 of 3")
    mode = (await press(fake, role, buttons(role)["Charity / VCSE staff"])).response["result"]
    assert mode["text"].startswith("Step 3 of 3")
    saved = await press(fake, mode, buttons(mode)["Daily digest"])
    assert saved.method == "editMessageText"
    assert saved.response["result"]["text"].startswith(f"Subscribed: {first_topic}")
    assert "reply_markup" not in saved.response["result"]  # the keyboard is gone
    assert len(fake.sent_messages(5)) == 1  # every step edited the first message
    (sub,) = await subscriptions(runtime, 5)
    assert (len(sub.topics), sub.roles, sub.mode) == (1, ["vcse"], "daily")


async def test_mysubs_delete(
    fake: FakeTelegramServer, runtime: Runtime, transport: TelegramTransport
) -> None:
    await say(fake, 5, "/subscribe mental health")
    listed = await say(fake, 5, "/mysubs")
    assert listed["text"].startswith("Subscriptions here (1):\n\n1. Mental health")
    removed = await press(fake, listed, buttons(listed)["Delete"])
    assert removed.method == "editMessageText"
    assert removed.response["result"]["text"].startswith("Removed. No subscriptions here yet.")
    assert await subscriptions(runtime, 5) == []


async def test_settings_toggle_in_place(
    fake: FakeTelegramServer, runtime: Runtime, transport: TelegramTransport
) -> None:
    shown = await say(fake, 5, "/settings")
    assert "Glossary notes in alerts: on" in shown["text"]
    toggled = await press(fake, shown, buttons(shown)["Glossary notes on/off"])
    assert toggled.method == "editMessageText"
    assert "Glossary notes in alerts: off" in toggled.response["result"]["text"]
    assert (await stored_chat(runtime, 5)).glossary_in_alerts is False


async def test_pause_and_resume(
    fake: FakeTelegramServer, runtime: Runtime, transport: TelegramTransport
) -> None:
    assert (await say(fake, 5, "/pause"))["text"].startswith("Alerts paused.")
    chat = await stored_chat(runtime, 5)
    assert (chat.active, chat.paused_reason) == (False, "paused with /pause")
    assert (await say(fake, 5, "/resume"))["text"] == "Alerts resumed."
    assert (await stored_chat(runtime, 5)).active is True


async def test_forget_asks_first(
    fake: FakeTelegramServer, runtime: Runtime, transport: TelegramTransport
) -> None:
    await say(fake, 5, "/subscribe mental health")
    asked = await say(fake, 5, "/forget")
    kept = await press(fake, asked, buttons(asked)["No, keep it"])
    assert kept.response["result"]["text"] == "Nothing was deleted."
    assert len(await subscriptions(runtime, 5)) == 1
    asked = await say(fake, 5, "/forget")
    done = await press(fake, asked, buttons(asked)["Yes, delete everything"])
    assert done.method == "editMessageText"
    assert done.response["result"]["text"].startswith("Done: everything stored")
    assert await stored_chat(runtime, 5) is None


async def test_export_arrives_as_a_json_document(
    fake: FakeTelegramServer, runtime: Runtime, transport: TelegramTransport
) -> None:
    await say(fake, 5, "/subscribe mental health")
    sent = await say(fake, 5, "/export")
    assert sent["document"]["file_name"].startswith("signpost-export-")
    assert sent["caption"].startswith("Everything stored about this chat (1 subscription)")
    (document,) = fake.sent_documents(5)
    data = json.loads(document.content)
    assert data["chat"]["platform_chat_id"] == "5"
    assert data["subscriptions"][0]["topics"] == ["mental-health"]


async def test_junk_text_unknown_commands_and_other_bots(
    fake: FakeTelegramServer, runtime: Runtime, transport: TelegramTransport
) -> None:
    hint = await say(fake, 5, "hello, what do you do?")
    assert hint["text"].startswith("Type a command, e.g. /calls mental health")
    unknown = await say(fake, 5, "/frobnicate now")
    assert unknown["text"] == "I don't know /frobnicate. /help lists what I can do."
    await nothing_more(fake, fake.build.group_message(-40, "just chatting", from_id=8))
    await nothing_more(fake, fake.build.group_message(-40, "/calls@other_bot x", from_id=8))
    mine = await ask(fake, fake.build.group_message(-40, "/help@signpost_test_bot", from_id=8))
    assert mine["text"].startswith("What I can do:")


async def test_deep_link_subscribes_in_one_tap(
    fake: FakeTelegramServer, runtime: Runtime, transport: TelegramTransport
) -> None:
    answer = await say(fake, 5, "/start topic-crisis-support")
    assert answer["text"].startswith("Subscribed: Crisis support")
    (sub,) = await subscriptions(runtime, 5)
    assert sub.topics == ["crisis-support"]


# --------------------------------------------------------------------------- groups and channels


async def test_only_group_admins_manage_but_anyone_searches(
    fake: FakeTelegramServer, runtime: Runtime, transport: TelegramTransport
) -> None:
    fake.set_admins(-40, [7])
    refused = await ask(fake, fake.build.group_message(-40, "/subscribe", from_id=8))
    assert refused["text"].startswith("Only this group's admins can change")
    searched = await ask(fake, fake.build.group_message(-40, "/calls mental health", from_id=8))
    # nothing polled yet in this runtime: the honest answer says so
    assert searched["text"].startswith(("Open calls", "No open calls", "No calls"))
    steps = await ask(fake, fake.build.group_message(-40, "/subscribe", from_id=7))
    assert steps["text"].startswith("Step 1 of 3")
    toggle = next(iter(buttons(steps).values()))
    not_yours = await press(fake, steps, toggle, by=8)
    assert not_yours.method == "sendMessage"
    assert not_yours.response["result"]["text"] == NOT_YOURS
    asked = [c.params["user_id"] for c in fake.calls_to("getChatMember")]
    assert asked.count(8) == 1  # remembered, not asked again for every message
    assert await subscriptions(runtime, -40) == []


async def test_a_channel_is_managed_from_a_private_chat(
    fake: FakeTelegramServer, runtime: Runtime, transport: TelegramTransport
) -> None:
    fake.add_chat(-1005, "channel", username="signpost_alerts")
    fake.set_admins(-1005, [5])
    transport.admin_cache_seconds = 0  # asked every time, so that losing the role shows at once
    usage = await say(fake, 5, "/channel")
    assert "/channel @channelname" in usage["text"]
    refused = await say(fake, 6, "/channel @signpost_alerts")
    assert refused["text"].startswith("I can't see you as an admin of @signpost_alerts")
    in_group = await ask(fake, fake.build.group_message(-40, "/channel @x", from_id=5))
    assert in_group["text"].startswith("Use /channel in a private chat")
    chosen = await say(fake, 5, "/channel @signpost_alerts")
    assert chosen["text"].startswith("From now on /subscribe")
    saved = await say(fake, 5, "/subscribe mental health")
    assert saved["text"].startswith("[@signpost_alerts] Subscribed: Mental health")
    assert len(await subscriptions(runtime, "@signpost_alerts")) == 1
    assert await subscriptions(runtime, 5) == []
    assert (await stored_chat(runtime, "@signpost_alerts")).managed_by == "5"

    await poll_all(runtime)
    await deliver_all(runtime)
    alerts = fake.sent_messages(-1005)
    assert alerts and all(m.plain_text.startswith("New ") for m in alerts)

    fake.set_admins(-1005, [])
    lost = await say(fake, 5, "/mysubs")
    assert lost["text"].startswith("I no longer act for @signpost_alerts")
    assert (await say(fake, 5, "/mysubs"))["text"].startswith("No subscriptions here yet")
    fake.set_admins(-1005, [5])
    await say(fake, 5, "/channel @signpost_alerts")
    assert (await say(fake, 5, "/channel off"))["text"].startswith("Done: commands here act")
    assert (await say(fake, 5, "/mysubs"))["text"].startswith("No subscriptions here yet")


async def test_a_channel_that_removes_the_bot_is_paused_then_resumed_quietly(
    fake: FakeTelegramServer, runtime: Runtime, transport: TelegramTransport
) -> None:
    fake.add_chat(-1005, "channel", username="signpost_alerts")
    fake.set_admins(-1005, [5])
    await say(fake, 5, "/channel @signpost_alerts")
    fake.push_update(fake.build.bot_removed(-1005, by=5))

    async def reason() -> Any:
        chat = await stored_chat(runtime, "@signpost_alerts")
        return not chat.active and chat.paused_reason

    assert await eventually(reason) == "telegram: removed from the channel"
    await nothing_more(fake, fake.build.bot_added(-1005, by=5, as_admin=True))
    assert (await stored_chat(runtime, "@signpost_alerts")).active is True
    assert await stored_chat(runtime, -1005) is None  # no second row for the same channel
    assert fake.sent_messages(-1005) == []


async def test_a_subscription_made_in_a_forum_topic_alerts_that_topic(
    fake: FakeTelegramServer, runtime: Runtime, transport: TelegramTransport
) -> None:
    fake.set_admins(-1009, [7])
    update = fake.build.topic_message(-1009, 12, "/subscribe mental health", from_id=7)
    answer = await ask(fake, update)
    assert answer["text"].startswith("Subscribed:") and answer["message_thread_id"] == 12
    assert len(await subscriptions(runtime, -1009, "12")) == 1
    assert await stored_chat(runtime, -1009) is None  # the group itself has no subscription
    await poll_all(runtime)
    await deliver_all(runtime)
    alerts = fake.sent_messages(-1009)[1:]
    assert alerts and {m.message_thread_id for m in alerts} == {12}
    assert all(call.ok for call in fake.calls_to("sendMessage"))  # strict HTML accepted


async def test_removing_the_bot_pauses_every_topic_and_adding_it_back_resumes_them(
    fake: FakeTelegramServer, runtime: Runtime, transport: TelegramTransport
) -> None:
    fake.set_admins(-1010, [7])
    await ask(fake, fake.build.topic_message(-1010, 12, "/subscribe dementia", from_id=7))
    fake.push_update(fake.build.bot_removed(-1010, by=7))

    async def topic_paused() -> Any:
        topic = await stored_chat(runtime, -1010, "12")
        return not topic.active and topic.paused_reason

    assert (await eventually(topic_paused)).startswith("telegram: removed from the")
    await ask(fake, fake.build.bot_added(-1010, by=7))
    assert (await stored_chat(runtime, -1010, "12")).active is True


async def test_hostile_titles_reach_users_escaped(
    fake: FakeTelegramServer, runtime: Runtime, transport: TelegramTransport
) -> None:
    title = 'Zyzzyva fund <script>alert("x")</script> R&D & <b>unclosed ' + "&" * 5000
    await add_calls(runtime, [title])
    answer = await say(fake, 5, "/calls zyzzyva")
    assert 'Zyzzyva fund <script>alert("x")</script> R&D & <b>unclosed &&&' in answer["text"]
    assert len(answer["text"].encode("utf-16-le")) // 2 <= 4096
    assert all(call.ok for call in fake.calls_to("sendMessage"))


# --------------------------------------------------------------------------- chat state


async def test_the_bot_added_removed_and_added_again_to_a_group(
    fake: FakeTelegramServer, runtime: Runtime, transport: TelegramTransport
) -> None:
    welcome = await ask(fake, fake.build.bot_added(-50, by=7))
    assert welcome["text"].startswith("Hello! I'm Signpost")
    assert (await stored_chat(runtime, -50)).kind == "group"
    fake.push_update(fake.build.bot_removed(-50, by=7))

    async def paused() -> Any:
        chat = await stored_chat(runtime, -50)
        return not chat.active and chat.paused_reason

    assert (await eventually(paused)).startswith("telegram: removed from the group")
    back = await ask(fake, fake.build.bot_added(-50, by=7))
    assert back["text"].startswith("Welcome back — alerts resumed.")
    assert (await stored_chat(runtime, -50)).active is True


async def test_blocking_pauses_and_unblocking_resumes_but_never_undoes_a_pause(
    fake: FakeTelegramServer, runtime: Runtime, transport: TelegramTransport
) -> None:
    await say(fake, 5, "/start")
    fake.push_update(fake.build.bot_blocked(5))

    async def reason() -> Any:
        chat = await stored_chat(runtime, 5)
        return not chat.active and chat.paused_reason

    assert await eventually(reason) == "telegram: the user blocked the bot"
    back = await ask(fake, fake.build.bot_unblocked(5))
    assert back["text"].startswith("Welcome back")
    await say(fake, 5, "/pause")
    fake.push_update(fake.build.bot_blocked(5))
    await nothing_more(fake, fake.build.bot_unblocked(5))
    assert (await stored_chat(runtime, 5)).paused_reason == "paused with /pause"


async def test_a_group_that_becomes_a_supergroup_keeps_its_subscriptions(
    fake: FakeTelegramServer, runtime: Runtime, transport: TelegramTransport
) -> None:
    fake.set_admins(-60, [7])
    await ask(fake, fake.build.group_message(-60, "/subscribe mental health", from_id=7))
    fake.push_updates(fake.build.migration(-60, -1006))

    async def moved() -> Any:
        return await stored_chat(runtime, -1006)

    chat = await eventually(moved)
    assert chat.kind == "supergroup" and await stored_chat(runtime, -60) is None
    assert len(await subscriptions(runtime, -1006)) == 1


async def test_unchanged_edits_and_expired_buttons_are_quiet(
    fake: FakeTelegramServer,
    runtime: Runtime,
    transport: TelegramTransport,
    caplog: pytest.LogCaptureFixture,
) -> None:
    step = await say(fake, 5, "/subscribe")
    with caplog.at_level(logging.INFO):
        same = await press(fake, step, "sub:t:0:-:-:0")  # the very step already shown
        assert same.method == "editMessageText" and same.status == 400
        stale = fake.build.callback_query(5, "set:glossary", message_id=step["message_id"])
        fake.push_update(stale)
        fake.expire_callback_query(stale["callback_query"]["id"])
        shown = fake.messages[(5, step["message_id"])]
        await until(lambda: shown["text"].startswith("Settings for this chat"))  # still handled
    answers = [c.status for c in fake.calls_to("answerCallbackQuery")]
    assert answers == [200, 400]
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert len(fake.sent_messages(5)) == 1  # both presses acted on the message pressed
