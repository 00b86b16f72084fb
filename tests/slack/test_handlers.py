"""The Slack transport end to end: signed requests through the real bolt app, answers and
Web API calls landing on the fake Slack server, the store checked afterwards.

Requests go through ``app.async_dispatch(AsyncBoltRequest(...))`` with
``process_before_response=True`` (listeners finish before the response, so nothing races
an assertion), then over real HTTP to the aiohttp endpoint, then through ``bot.app.serve``.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.helpers.fake_slack import (
    block_actions_payload,
    signed_event,
    signed_interaction,
    validate_blocks,
)
from tests.slack.support import (
    MENTAL_HEALTH_TITLE,
    Slack,
    form,
    stored_chat,
    subscriptions,
    values_of,
    words,
)

# --------------------------------------------------------------------------- parsing


async def test_calls_mental_health_answers_privately_in_block_kit(polled, user: Slack) -> None:
    [answer] = await user.command("/calls", "mental health")
    assert answer["response_type"] == "ephemeral"
    assert validate_blocks(answer["blocks"]) == []
    assert answer["blocks"][0]["type"] == "header"
    assert "Open calls for “mental health”" in answer["text"]
    assert MENTAL_HEALTH_TITLE in words(answer)
    links = [b["text"]["text"] for b in answer["blocks"] if b["type"] == "section"]
    assert all(link.startswith("*<https://www.ukri.org/opportunity/") for link in links)


async def test_share_shows_the_answer_to_the_channel(polled, user: Slack) -> None:
    [answer] = await user.command("/calls", "mental health --share")
    assert answer["response_type"] == "in_channel"
    assert "--share" not in answer["text"]


@pytest.mark.parametrize("term", ["co-PI", "copi"])
async def test_glossary(runtime, user: Slack, term: str) -> None:
    [answer] = await user.command("/glossary", term)
    assert answer["blocks"][0]["text"]["text"].startswith("*<https://www.ukri.org/")
    assert "co-PI" in words(answer) and "research team" in words(answer)


async def test_glossary_shows_a_new_entry_with_its_as_of_date(runtime, user: Slack) -> None:
    [answer] = await user.command("/glossary", "Provider Selection Regime")
    assert validate_blocks(answer["blocks"]) == []
    assert answer["blocks"][0]["text"]["text"].startswith("*<https://www.england.nhs.uk/")
    text = words(answer)
    assert "Provider Selection Regime" in text and "1 January 2024" in text
    assert "As of December 2026: this policy is changing, so check the link." in text


async def test_deadlines_follow_reminders(polled, user: Slack) -> None:
    [answer] = await user.command("/deadlines")
    assert "no subscriptions yet" in answer["text"]
    now = polled.clock.now()
    async with polled.store.unit() as unit:
        [soon] = await unit.opportunities.listing(
            kinds=["call"], closing_after=now, closing_before=now + timedelta(days=30), limit=1
        )
    [reminded] = await user.press(f"remind:{soon.id}")
    assert reminded["text"].startswith("I'll remind you")
    assert reminded["replace_original"] is False and reminded["response_type"] == "ephemeral"
    [answer] = await user.command("/deadlines")
    assert "Closing in the next 30 days" in answer["text"]
    assert soon.title[:40] in words(answer)


# --------------------------------------------------------------------------- /signpost


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "/signpost subscribe"),
        ("help", "--share"),
        ("mysubs", "No subscriptions here yet. /signpost subscribe"),
        ("pause", "Alerts paused. /signpost resume"),
        ("resume", "Alerts resumed."),
        ("forget", "Are you sure? (Or type /signpost forget yes)"),
        ("export", "Everything stored about this chat"),
        ("events", "No events yet. I'm still gathering opportunities"),  # nothing polled yet
        ("internships", "No internships yet. I'm still gathering opportunities"),
        ("settings", "Time zone: Europe/London"),
        ("unsubscribe 3", "There is no subscription"),
        ("subscribe mental health", "Subscribed: Mental health"),
        ("status", "for Signpost's administrators"),
        ("frobnicate", "I don't know /frobnicate"),
    ],
)
async def test_each_subcommand_answers(runtime, user: Slack, text: str, expected: str) -> None:
    answers = await user.command("/signpost", text)
    assert expected in "\n".join(a["text"] + words(a) for a in answers)
    assert all(validate_blocks(a["blocks"]) == [] for a in answers)


async def test_subcommands_change_the_store(runtime, user: Slack) -> None:
    await user.command("/signpost", "subscribe mental health, funder:MRC")
    [sub] = await subscriptions(runtime)
    assert sub.topics == ["mental-health"] and sub.funders == ["MRC"]
    chat = await stored_chat(runtime)
    assert (chat.kind, chat.title, chat.managed_by) == ("channel", "general", "U0USER")
    await user.command("/signpost", "pause")
    assert not (await stored_chat(runtime)).active
    await user.command("/signpost", "resume")
    assert (await stored_chat(runtime)).active
    [export] = await user.command("/signpost", "export")
    assert "```" in words(export) and "mental-health" in words(export)
    [confirm] = await user.command("/signpost", "forget")
    assert values_of(confirm) == ["forget:yes", "forget:no"]
    [done] = await user.press("forget:yes")
    assert done["replace_original"] is True and "deleted" in done["text"]
    assert await stored_chat(runtime) is None


async def test_admin_commands_need_signpost_admins(runtime, user: Slack) -> None:
    [refused] = await user.command("/signpost", "status", user_id="U0USER")
    [allowed] = await user.command("/signpost", "status", user_id="U0ADMIN")
    assert "administrators" in refused["text"] and "administrators" not in allowed["text"]
    [helped] = await user.command("/signpost", "help", user_id="U0ADMIN")
    assert "/signpost broadcast (admin)" in words(helped)


async def test_a_dm_is_a_dm_chat(runtime, user: Slack) -> None:
    await user.command(
        "/signpost", "subscribe peer support", channel_id="D0DM", channel_name="directmessage"
    )
    chat = await stored_chat(runtime, "D0DM")
    assert chat.kind == "dm" and len(await subscriptions(runtime, "D0DM")) == 1


# --------------------------------------------------------------------------- the modal


async def test_subscribe_opens_a_form_that_saves(runtime, user: Slack, server) -> None:
    answers = await user.command("/signpost", "subscribe", trigger_id="1.2.trigger")
    assert answers == []  # the form is the answer
    [opened] = server.calls_to("views.open")
    assert opened.params["trigger_id"] == "1.2.trigger"
    [view] = server.views.values()
    chat = await stored_chat(runtime)
    assert json.loads(view["private_metadata"]) == {"chat": chat.id, "edit": 0}
    response = await user.submit(
        form(["peer-support"], funders="mrc", mode="weekly", kinds=["call"]), view
    )
    assert response.status == 200 and response.body == ""
    [sub] = await subscriptions(runtime)
    assert (sub.topics, sub.funders, sub.kinds, sub.mode) == (
        ["peer-support"],
        ["MRC"],
        ["call"],
        "weekly",
    )
    assert (await stored_chat(runtime)).managed_by == "U0USER"
    [confirmation] = server.ephemeral_messages("C0GENERAL")
    assert confirmation.user == "U0USER" and "Subscribed: Peer support" in confirmation.text
    assert "/signpost mysubs" in confirmation.text


async def test_form_errors_show_in_the_form(runtime, user: Slack, server) -> None:
    await user.command("/signpost", "subscribe")
    [view] = server.views.values()
    response = await user.submit(form(), view)
    assert response.status == 200
    body = json.loads(response.body)
    assert body["response_action"] == "errors" and "topics" in body["errors"]
    response = await user.submit(form(["peer-support"], funders=",".join("F" * 11)), view)
    assert "funders" in json.loads(response.body)["errors"]
    assert await subscriptions(runtime) == [] and server.ephemeral_messages() == []


async def test_edit_reopens_the_form_and_replaces(runtime, user: Slack, server) -> None:
    await user.command("/signpost", "subscribe peer support")
    [listing] = await user.command("/signpost", "mysubs")
    [old] = await subscriptions(runtime)
    assert values_of(listing) == [f"unsub:{old.id}", f"edit:{old.id}"]
    assert await user.press(f"edit:{old.id}") == []
    [view] = server.views.values()
    topics = next(b for b in view["blocks"] if b.get("block_id") == "topics")
    assert [o["value"] for o in topics["element"]["initial_options"]] == ["peer-support"]
    await user.submit(form(["mental-health"], mode="daily"), view)
    [new] = await subscriptions(runtime)
    assert new.id == old.id and (new.topics, new.mode) == (["mental-health"], "daily")
    [confirmation] = server.ephemeral_messages("C0GENERAL")
    assert confirmation.text.startswith("Updated:")


async def test_an_expired_trigger_gets_a_clear_answer(runtime, user: Slack, server) -> None:
    server.expire_trigger("old.trigger")
    [answer] = await user.command("/signpost", "subscribe", trigger_id="old.trigger")
    assert "did not open the form" in answer["text"] and "/signpost subscribe" in answer["text"]


# --------------------------------------------------------------------------- buttons


async def test_buttons_go_to_the_core(polled, user: Slack) -> None:
    [first] = await user.command("/calls")
    more = [v for v in values_of(first) if v.startswith("more:")]
    assert more == ["more:call:5:"]
    [page] = await user.press(more[0])
    assert page["text"].startswith("Open calls (6–10)") and page["replace_original"] is False
    [dismissed] = await user.press("dismiss:1")
    assert "no more reminders" in dismissed["text"]
    assert await user.press(None) == []  # a link button: Slack opens the URL, we only ack
    [expired] = await user.press("nonsense:1")
    assert "expired" in expired["text"]


async def test_deleting_from_the_list_replaces_it(runtime, user: Slack) -> None:
    await user.command("/signpost", "subscribe peer support")
    [sub] = await subscriptions(runtime)
    [answer] = await user.press(f"unsub:{sub.id}")
    assert answer["replace_original"] is True and answer["text"].startswith("Removed.")
    assert await subscriptions(runtime) == []


# --------------------------------------------------------------------------- App Home


async def test_app_home_shows_subscriptions_deadlines_and_settings(
    polled, user: Slack, server
) -> None:
    await user.command("/signpost", "subscribe mental health", channel_name="research-office")
    await user.command("/signpost", "subscribe peer support", channel_id="D0DM")
    await user.command("/signpost", "subscribe dementia", user_id="U0OTHER", channel_id="C0ELSE")
    event = {"type": "app_home_opened", "user": "U0USER", "channel": "D0DM", "tab": "home"}
    response = await user.dispatch(*signed_event(event))
    assert response.status == 200
    home = server.home_tabs["U0USER"]
    text = words(home)
    assert "Direct messages" in text and "Peer support" in text
    assert "#research-office" in text and "Mental health" in text
    assert "Dementia" not in text  # somebody else's channel
    assert "Closing in the next 30 days" in text and "Time zone: Europe/London" in text
    assert json.loads(home["private_metadata"]) == {"dm": "D0DM"}
    # Its button opens the form for the DMs.
    payload = block_actions_payload("signpost-home-subscribe", "home:subscribe")
    del payload["channel"]
    payload["view"] = {
        "id": home["id"],
        "type": "home",
        "private_metadata": home["private_metadata"],
    }
    assert (await user.dispatch(*signed_interaction(payload))).status == 200
    [form_view] = [v for v in server.views.values() if v["type"] == "modal"]
    assert (
        json.loads(form_view["private_metadata"])["chat"] == (await stored_chat(polled, "D0DM")).id
    )
