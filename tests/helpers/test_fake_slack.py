"""The Slack fake, checked through the real slack_sdk client and slack-bolt.

If ``AsyncWebClient`` gets Slack's answers (``SlackApiError`` with the error code, 429 with
``Retry-After``) and bolt accepts or refuses the signed requests as it would Slack's, the fake
is faithful enough for the delivery and Slack suites to trust.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from tests.helpers.fake_slack import (
    DEFAULT_SIGNING_SECRET,
    FakeSlackServer,
    ManualClock,
    SlackLimits,
    block_actions_payload,
    signed_event,
    signed_interaction,
    signed_slash_command,
    slack_client,
    validate_blocks,
    view_submission_payload,
)


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


async def refused(call: Any) -> SlackApiError:
    """The ``SlackApiError`` an awaited Web API call raised."""
    with pytest.raises(SlackApiError) as caught:
        await call
    return caught.value


# --------------------------------------------------------------------------- basics


async def test_auth_test_and_token_checks(slack: FakeSlackServer) -> None:
    identity = await slack_client(slack).auth_test()
    assert identity["user_id"] == slack.bot_user_id and identity["team_id"] == "T0SIGNPOST"
    wrong = await refused(AsyncWebClient("xoxb-wrong", base_url=slack.base_url).auth_test())
    missing = await refused(AsyncWebClient(base_url=slack.base_url).auth_test())
    assert (wrong.response["error"], wrong.response.status_code) == ("invalid_auth", 200)
    assert missing.response["error"] == "not_authed"


async def test_post_message_in_a_channel_and_a_thread(slack: FakeSlackServer) -> None:
    client = slack_client(slack)
    parent = await client.chat_postMessage(
        channel="C0FUNDING", text="New call", blocks=[section("*New call* from UKRI")]
    )
    reply = await client.chat_postMessage(
        channel="C0FUNDING", text="Deadline moved", thread_ts=parent["ts"]
    )
    assert parent["channel"] == "C0FUNDING" and float(reply["ts"]) > float(parent["ts"])
    assert parent["message"]["blocks"] == [section("*New call* from UKRI")]
    assert reply["message"]["thread_ts"] == parent["ts"]
    posted = slack.posted_messages("C0FUNDING")
    assert [(m.text, m.thread_ts) for m in posted] == [
        ("New call", None),
        ("Deadline moved", parent["ts"]),
    ]
    call = slack.calls_to("chat.postMessage")[0]
    assert call.channel == "C0FUNDING" and call.ok and "token" not in call.params


async def test_form_encoded_calls_are_accepted_too(slack: FakeSlackServer) -> None:
    """slack_sdk sends chat.* as JSON, but ``api_call(data=...)`` and other clients use forms."""
    client = slack_client(slack)
    response = await client.api_call(
        "chat.postMessage",
        data={"channel": "C0FORM", "blocks": json.dumps([section("form")]), "text": "form"},
    )
    assert response["message"]["blocks"] == [section("form")]
    bad = await refused(
        client.api_call("chat.postMessage", data={"channel": "C0FORM", "blocks": "[not json"})
    )
    assert bad.response["error"] == "invalid_blocks_format"


async def test_update_and_ephemeral(slack: FakeSlackServer) -> None:
    client = slack_client(slack)
    posted = await client.chat_postMessage(channel="C1", text="Draft")
    updated = await client.chat_update(channel="C1", ts=posted["ts"], text="Final")
    assert updated["text"] == "Final" and slack.messages[("C1", posted["ts"])]["text"] == "Final"
    missing = await refused(client.chat_update(channel="C1", ts="1.000001", text="x"))
    assert missing.response["error"] == "message_not_found"
    ephemeral = await client.chat_postEphemeral(channel="C1", user="U0ASKER", text="Only you")
    assert ephemeral["message_ts"]
    assert [m.user for m in slack.ephemeral_messages("C1")] == ["U0ASKER"]


async def test_conversations_and_users_info(slack: FakeSlackServer) -> None:
    slack.add_channel("G0PRIVATE", "research-office", is_private=True)
    slack.add_user("U0ADMIN", "ada", is_admin=True)
    client = slack_client(slack)
    channel = (await client.conversations_info(channel="G0PRIVATE"))["channel"]
    assert channel["name"] == "research-office" and channel["is_private"]
    assert (await client.users_info(user="U0ADMIN"))["user"]["is_admin"] is True
    assert (await client.users_info(user="U0SOMEONE"))["user"]["is_admin"] is False
    unknown = await refused(client.users_info(user="nobody"))
    assert unknown.response["error"] == "user_not_found"
    assert {call.method for call in slack.calls} == {"conversations.info", "users.info"}


# --------------------------------------------------------------------------- faults


@pytest.mark.parametrize(
    "error", ["channel_not_found", "not_in_channel", "account_inactive", "is_archived"]
)
async def test_channel_faults_answer_slacks_errors(slack: FakeSlackServer, error: str) -> None:
    slack.fail_channel("C0GONE", error)
    client = slack_client(slack)
    failure = await refused(client.chat_postMessage(channel="C0GONE", text="x"))
    assert failure.response["error"] == error and failure.response.status_code == 200
    slack.restore("C0GONE")
    await client.chat_postMessage(channel="C0GONE", text="x")


async def test_conversations_info_shows_archived_and_membership(slack: FakeSlackServer) -> None:
    slack.fail_channel("C0OLD", "is_archived")
    slack.fail_channel("C0OUT", "not_in_channel")
    slack.fail_channel("C0DEL", "channel_not_found")
    client = slack_client(slack)
    assert (await client.conversations_info(channel="C0OLD"))["channel"]["is_archived"]
    assert not (await client.conversations_info(channel="C0OUT"))["channel"]["is_member"]
    deleted = await refused(client.conversations_info(channel="C0DEL"))
    assert deleted.response["error"] == "channel_not_found"


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_fail_next_answers_server_errors(slack: FakeSlackServer, status: int) -> None:
    slack.fail_next(1, status=status, method="chat.postMessage")
    client = slack_client(slack)
    failure = await refused(client.chat_postMessage(channel="C1", text="x"))
    assert failure.response.status_code == status
    await client.chat_postMessage(channel="C1", text="x")


async def test_hang_next_leaves_the_client_to_time_out(slack: FakeSlackServer) -> None:
    slack.hang_next(1, method="chat.postMessage")
    client = slack_client(slack, timeout=0.2)
    with pytest.raises((asyncio.TimeoutError, aiohttp.ClientError)):
        await client.chat_postMessage(channel="C1", text="x")
    await client.chat_postMessage(channel="C1", text="y")
    assert [call.status for call in slack.calls_to("chat.postMessage")] == [None, 200]


# --------------------------------------------------------------------------- rate limits


async def test_channel_allows_a_burst_then_one_per_second(
    slack: FakeSlackServer, clock: ManualClock
) -> None:
    client = slack_client(slack)
    for _ in range(3):
        await client.chat_postMessage(channel="C0BUSY", text="burst")
    limited = await refused(client.chat_postMessage(channel="C0BUSY", text="too fast"))
    assert limited.response.status_code == 429
    assert limited.response.headers["Retry-After"] == "1"
    assert limited.response["error"] == "ratelimited"
    await client.chat_postMessage(channel="C0QUIET", text="other channels are not affected")
    clock.advance(1)
    await client.chat_postMessage(channel="C0BUSY", text="after Retry-After")
    assert slack.rate_limited == 1


async def test_workspace_limit_is_optional(clock: ManualClock) -> None:
    limits = SlackLimits(workspace_per_minute=60, workspace_burst=2, channel_burst=10)
    async with FakeSlackServer(clock=clock, limits=limits) as slack:
        client = slack_client(slack)
        await client.chat_postMessage(channel="C1", text="x")
        await client.chat_postMessage(channel="C2", text="x")
        limited = await refused(client.chat_postMessage(channel="C3", text="x"))
        assert limited.response.headers["Retry-After"] == "1"


# --------------------------------------------------------------------------- Block Kit limits


@pytest.mark.parametrize(
    ("payload", "error", "problem"),
    [
        ({"blocks": [section("x")] * 51}, "invalid_blocks",
         "must be less than 51 items [json-pointer:/blocks]"),
        ({"blocks": [section("x" * 3001)]}, "invalid_blocks",
         "must be less than 3001 characters [json-pointer:/blocks/0/text/text]"),
        ({"blocks": [section("")]}, "invalid_blocks",
         "must be more than 0 characters [json-pointer:/blocks/0/text/text]"),
        ({"blocks": [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}]},
         "invalid_blocks", "must be less than 11 items [json-pointer:/blocks/0/fields]"),
        ({"blocks": [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}]},
         "invalid_blocks", "must be less than 151 characters [json-pointer:/blocks/0/text/text]"),
        ({"blocks": [{"type": "carousel"}]}, "invalid_blocks",
         "must be a known block type [json-pointer:/blocks/0/type]"),
        pytest.param({}, "no_text", None, marks=pytest.mark.filterwarnings(
            "ignore:The top-level `text` argument is missing:UserWarning")),
        ({"text": "x" * 40_001}, "msg_too_long", None),
    ],
)  # fmt: skip
async def test_message_limits(
    slack: FakeSlackServer, payload: dict[str, Any], error: str, problem: str | None
) -> None:
    if "blocks" in payload:
        payload = {"text": "fallback for notifications", **payload}
    failure = await refused(slack_client(slack).chat_postMessage(channel="C1", **payload))
    assert failure.response["error"] == error
    if problem is not None:
        assert problem in failure.response["errors"]
        assert f"[ERROR] {problem}" in failure.response["response_metadata"]["messages"]


def test_fifty_blocks_of_three_thousand_characters_are_fine() -> None:
    assert validate_blocks([section("x" * 3000)] * 50) == []


# --------------------------------------------------------------------------- views


async def test_views_open_publish_update(slack: FakeSlackServer) -> None:
    client = slack_client(slack)
    modal = {
        "type": "modal",
        "callback_id": "subscribe",
        "title": {"type": "plain_text", "text": "Subscribe"},
        "blocks": [section("Pick topics")],
    }
    opened = (await client.views_open(trigger_id="123.456.abc", view=modal))["view"]
    assert opened["id"].startswith("V") and opened["callback_id"] == "subscribe"
    updated = await client.views_update(view_id=opened["id"], view=modal, hash=opened["hash"])
    assert updated["view"]["hash"] != opened["hash"]
    stale = await refused(client.views_update(view_id=opened["id"], view=modal, hash="old"))
    assert stale.response["error"] == "hash_conflict"
    home = {"type": "home", "blocks": [section("Your alerts")]}
    published = await client.views_publish(user_id="U0READER", view=home)
    assert slack.home_tabs["U0READER"]["id"] == published["view"]["id"]

    slack.expire_trigger("old.trigger")
    expired = await refused(client.views_open(trigger_id="old.trigger", view=modal))
    assert expired.response["error"] == "expired_trigger_id"
    too_big = await refused(
        client.views_publish(user_id="U0", view={**home, "blocks": [section("x")] * 101})
    )
    assert too_big.response["error"] == "invalid_arguments"
    assert "must be less than 101 items [json-pointer:/view/blocks]" in too_big.response["errors"]


# --------------------------------------------------------------------------- response_url


async def test_response_url_records_what_a_command_answered(slack: FakeSlackServer) -> None:
    url = slack.response_url("R1")
    response = await AsyncWebhookClient(url).send(text="3 open calls", response_type="ephemeral")
    assert response.status_code == 200 and response.body == "ok"
    assert slack.responses["R1"] == [{"text": "3 open calls", "response_type": "ephemeral"}]


# --------------------------------------------------------------------------- signed requests


@pytest.mark.parametrize(
    "build",
    [
        lambda **kw: signed_slash_command("/signpost", "calls mental health", **kw),
        lambda **kw: signed_interaction(block_actions_payload("save", "opp-1"), **kw),
        lambda **kw: signed_event({"type": "app_mention", "text": "<@U0SIGNBOT> hi"}, **kw),
    ],
    ids=["slash_command", "interaction", "event"],
)
def test_signed_requests_satisfy_slacks_verifier(build: Any) -> None:
    verifier = SignatureVerifier(DEFAULT_SIGNING_SECRET)
    assert verifier.is_valid_request(*build())
    assert not verifier.is_valid_request(*build(bad_signature=True))
    assert not verifier.is_valid_request(*build(replayed=True))


@pytest.fixture
def bolt_app(slack: FakeSlackServer) -> AsyncApp:
    """A bolt app whose Web API calls go to the fake; listeners finish before dispatch returns
    (``process_before_response``) so that assertions never race them."""
    app = AsyncApp(
        client=slack_client(slack),
        signing_secret=DEFAULT_SIGNING_SECRET,
        process_before_response=True,
    )

    @app.command("/signpost")
    async def signpost(ack: Any, respond: Any, say: Any, command: dict[str, Any]) -> None:
        await ack()
        await respond(f"Searching for {command['text']}")
        await say("Posted to the channel")

    @app.action("save")
    async def save(ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await client.chat_postEphemeral(
            channel=body["channel"]["id"], user=body["user"]["id"], text="Saved"
        )

    @app.view("subscribe")
    async def subscribe(ack: Any, view: dict[str, Any]) -> None:
        await ack()

    return app


async def test_bolt_dispatches_signed_requests_to_the_fake(
    slack: FakeSlackServer, bolt_app: AsyncApp
) -> None:
    body, headers = signed_slash_command(
        "/signpost", "mental health", channel_id="C0ASK", response_url=slack.response_url("R9")
    )
    response = await bolt_app.async_dispatch(AsyncBoltRequest(body=body, headers=headers))
    assert response.status == 200
    assert slack.responses["R9"][0]["text"] == "Searching for mental health"
    assert [m.text for m in slack.posted_messages("C0ASK")] == ["Posted to the channel"]

    body, headers = signed_interaction(block_actions_payload("save", "opp-1", channel_id="C0ASK"))
    assert (
        await bolt_app.async_dispatch(AsyncBoltRequest(body=body, headers=headers))
    ).status == 200
    assert [m.text for m in slack.ephemeral_messages("C0ASK")] == ["Saved"]

    body, headers = signed_interaction(view_submission_payload("subscribe", {}))
    assert (
        await bolt_app.async_dispatch(AsyncBoltRequest(body=body, headers=headers))
    ).status == 200


@pytest.mark.parametrize("tamper", [{"bad_signature": True}, {"replayed": True}])
async def test_bolt_refuses_bad_and_replayed_signatures(
    slack: FakeSlackServer, bolt_app: AsyncApp, tamper: dict[str, bool]
) -> None:
    body, headers = signed_slash_command("/signpost", "x", **tamper)
    response = await bolt_app.async_dispatch(AsyncBoltRequest(body=body, headers=headers))
    assert response.status == 401
    assert slack.posted_messages() == []
