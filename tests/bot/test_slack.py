"""The Slack transport end to end: signed requests through the real bolt app, answers and
Web API calls landing on the fake Slack server, the store checked afterwards.

Requests go through ``app.async_dispatch(AsyncBoltRequest(...))`` with
``process_before_response=True`` (listeners finish before the response, so nothing races
an assertion), then over real HTTP to the aiohttp endpoint, then through ``bot.app.serve``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import re
import socket
import time
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.core.model import Chat
from bot.runtime import build_runtime
from bot.settings import SettingsError, load_settings
from bot.slack import SocketLeader, build_app, http_app, slack_component, start_http
from bot.slack_handlers import parse_slash, read_subscription
from tests.helpers.fake_slack import (
    DEFAULT_SIGNING_SECRET,
    DEFAULT_TOKEN,
    FakeSlackServer,
    block_actions_payload,
    signed_event,
    signed_interaction,
    signed_slash_command,
    slack_client,
    validate_blocks,
    view_submission_payload,
)

MENTAL_HEALTH_TITLE = "Neurosciences and mental health"
_IDS = itertools.count(1)


def settings_for(**overrides: Any):
    values = {
        "SLACK_BOT_TOKEN": DEFAULT_TOKEN,
        "SLACK_SIGNING_SECRET": DEFAULT_SIGNING_SECRET,
        "SIGNPOST_ADMINS": "slack:U0ADMIN",
    }
    return load_settings(**(values | overrides))


def words(message: dict[str, Any]) -> str:
    """Everything a person reads in a message: header, sections, notes and button labels."""
    parts = []
    for block in message.get("blocks", []):
        if block["type"] in ("header", "section"):
            parts.append(block["text"]["text"])
        elif block["type"] == "context":
            parts += [e["text"] for e in block["elements"]]
        elif block["type"] == "actions":
            parts += [e["text"]["text"] for e in block["elements"]]
    return "\n".join(parts)


def values_of(message: dict[str, Any]) -> list[str]:
    return [
        e["value"]
        for b in message.get("blocks", [])
        if b["type"] == "actions"
        for e in b["elements"]
        if "value" in e
    ]


class Slack:
    """A workspace member driving the app: slash commands, buttons, forms, events."""

    def __init__(self, app, server: FakeSlackServer) -> None:
        self.app = app
        self.server = server

    async def dispatch(self, body: str, headers: dict[str, str]):
        return await self.app.async_dispatch(AsyncBoltRequest(body=body, headers=headers))

    async def command(self, command: str, text: str = "", **fields: Any) -> list[dict[str, Any]]:
        response_id = f"R{next(_IDS)}"
        url = self.server.response_url(response_id)
        response = await self.dispatch(
            *signed_slash_command(command, text, response_url=url, **fields)
        )
        assert response.status == 200
        return self.server.responses[response_id]

    async def press(self, value: str | None, **fields: Any) -> list[dict[str, Any]]:
        response_id = f"R{next(_IDS)}"
        payload = block_actions_payload(
            "signpost-1", value, response_url=self.server.response_url(response_id), **fields
        )
        response = await self.dispatch(*signed_interaction(payload))
        assert response.status == 200
        return self.server.responses[response_id]

    async def submit(self, values: dict[str, Any], view: dict[str, Any], user: str = "U0USER"):
        payload = view_submission_payload(
            view["callback_id"], values, user_id=user, private_metadata=view["private_metadata"]
        )
        return await self.dispatch(*signed_interaction(payload))


@pytest.fixture
async def server():
    async with FakeSlackServer() as fake:
        yield fake


@pytest.fixture
async def runtime(store):
    built = await build_runtime(settings_for(), store, offline=True, stop=asyncio.Event())
    yield built
    await built.http.aclose()


@pytest.fixture
async def polled(runtime):
    """The runtime after one offline poll of every source. On PostgreSQL the per-source
    poll lock is server-wide, so a poll in another test process can make ours skip a
    source: poll what is missing until each has been polled once."""
    pending = set(runtime.sources)
    for _ in range(100):
        pending -= {report.source for report in await runtime.poll(sorted(pending))}
        if not pending:
            return runtime
        await asyncio.sleep(0.1)
    raise AssertionError(f"could not poll {sorted(pending)}")


@pytest.fixture
def user(runtime, server: FakeSlackServer) -> Slack:
    app = build_app(
        runtime,
        slack_client(server),
        signing_secret=DEFAULT_SIGNING_SECRET,
        process_before_response=True,
    )
    return Slack(app, server)


async def stored_chat(runtime, channel: str = "C0GENERAL") -> Chat | None:
    async with runtime.store.unit() as unit:
        return await unit.chats.find("slack", channel)


async def subscriptions(runtime, channel: str = "C0GENERAL"):
    chat = await stored_chat(runtime, channel)
    async with runtime.store.unit() as unit:
        return await unit.chats.subscriptions(chat.id) if chat else []


def form(topics=(), *, mode="instant", funders="", keywords="", roles=(), kinds=()) -> dict:
    """``state.values`` as Slack sends them for the subscription modal."""

    def options(chosen):
        return {"selected_options": [{"value": v} for v in chosen]}

    return {
        "topics": {"value": {"type": "multi_static_select", **options(topics)}},
        "keywords": {"value": {"type": "plain_text_input", "value": keywords or None}},
        "roles": {"value": {"type": "checkboxes", **options(roles)}},
        "kinds": {"value": {"type": "checkboxes", **options(kinds)}},
        "funders": {"value": {"type": "plain_text_input", "value": funders or None}},
        "mode": {"value": {"type": "radio_buttons", "selected_option": {"value": mode}}},
    }


# --------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("command", "text", "expected"),
    [
        ("/calls", "mental health", ("core", "/calls mental health", False)),
        ("/calls", "mental health --share", ("core", "/calls mental health", True)),
        ("/glossary", "co-PI", ("core", "/glossary co-PI", False)),
        ("/deadlines", "", ("core", "/deadlines", False)),
        ("/signpost", "", ("help", "", False)),
        ("/signpost", "HELP --share", ("help", "", True)),
        ("/signpost", "subscribe", ("modal", "", False)),
        ("/signpost", "subscribe mental health", ("core", "/subscribe mental health", False)),
        ("/signpost", "events peer support", ("core", "/events peer support", False)),
        ("/signpost", "forget yes", ("core", "/forget yes", False)),
    ],
)
def test_parse_slash(command: str, text: str, expected: tuple) -> None:
    request = parse_slash(command, text)
    assert (request.kind, request.text, request.share) == expected


def test_read_subscription_validates() -> None:
    slugs = {"mental-health", "peer-support"}
    fields, errors = read_subscription(form(["peer-support", "bogus"], funders="mrc, NIHR"), slugs)
    assert errors == {}
    assert fields["topics"] == ["peer-support"] and fields["funders"] == ["MRC", "NIHR"]
    _, errors = read_subscription(form(), slugs)
    assert set(errors) == {"topics"}
    _, errors = read_subscription(form(["peer-support"], mode="hourly"), slugs)
    assert set(errors) == {"mode"}
    _, errors = read_subscription(form(keywords=",".join("w" * 3 for _ in range(11))), slugs)
    assert set(errors) == {"keywords"}
    _, errors = read_subscription(form(funders="x" * 61), slugs)
    assert set(errors) == {"funders"}


# --------------------------------------------------------------------------- queries


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
        ("events", "No open events right now"),
        ("internships", "No open internships right now"),
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


# --------------------------------------------------------------------------- signatures


@pytest.mark.parametrize("tamper", [{"bad_signature": True}, {"replayed": True}])
@pytest.mark.parametrize(
    "build",
    [
        lambda server, **kw: signed_slash_command(
            "/signpost", "subscribe mental health", response_url=server.response_url("RX"), **kw
        ),
        lambda server, **kw: signed_interaction(
            block_actions_payload("signpost-1", "remind:1", response_url=server.response_url("RX")),
            **kw,
        ),
        lambda server, **kw: signed_event(
            {"type": "app_home_opened", "user": "U0USER", "channel": "D0DM", "tab": "home"}, **kw
        ),
    ],
    ids=["command", "button", "event"],
)
async def test_bad_and_replayed_requests_are_refused_unhandled(
    runtime, user: Slack, server, build, tamper
) -> None:
    response = await user.dispatch(*build(server, **tamper))
    assert response.status == 401
    assert server.responses.get("RX", []) == [] and server.calls == []
    assert await stored_chat(runtime) is None and await stored_chat(runtime, "D0DM") is None


# --------------------------------------------------------------------------- over HTTP


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def post(port: int, body: str, headers: dict[str, str]) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"http://127.0.0.1:{port}/slack/events", data=body.encode(), headers=headers
        ) as response,
    ):
        return response.status, await response.text()


async def test_the_http_endpoint_checks_signatures(runtime, user: Slack, server) -> None:
    port = free_port()
    stop = await start_http(runtime, user.app, port)
    try:
        assert runtime.connected["slack"] is True
        url = server.response_url("RH")
        status, _ = await post(port, *signed_slash_command("/glossary", "co-PI", response_url=url))
        assert status == 200 and "co-PI" in words(server.responses["RH"][0])
        for tamper in ({"bad_signature": True}, {"replayed": True}):
            body = signed_slash_command("/glossary", "x", response_url=url, **tamper)
            assert (await post(port, *body))[0] == 401
        assert len(server.responses["RH"]) == 1
    finally:
        await stop()
    assert runtime.connected["slack"] is False
    assert http_app(user.app).router is not None


async def wait_for(check, within: float = 15.0, every: float = 0.2):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        result = await check()
        if result:
            return result
        await asyncio.sleep(every)
    raise AssertionError("timed out waiting")


async def test_serve_in_http_mode_end_to_end(tmp_path, caplog) -> None:
    from bot.app import serve

    caplog.set_level(logging.INFO)
    port = free_port()
    async with FakeSlackServer() as server:
        settings = settings_for(
            SIGNPOST_DATABASE_URL=f"sqlite:///{tmp_path / 'signpost.db'}",
            SLACK_PORT=port,
            SLACK_API_BASE_URL=server.base_url,
        )
        stop = asyncio.Event()
        task = asyncio.create_task(
            serve(settings, offline=True, stop=stop, components=[slack_component])
        )
        try:

            async def calls_answered():
                response_id = f"R{next(_IDS)}"
                url = server.response_url(response_id)
                with contextlib.suppress(aiohttp.ClientError):
                    body = signed_slash_command("/calls", "mental health", response_url=url)
                    status, _ = await post(port, *body)
                    assert status == 200
                    answers = await wait_for(lambda: _answers(server, response_id), 5)
                    return answers if MENTAL_HEALTH_TITLE in words(answers[0]) else None
                return None

            [answer] = await wait_for(calls_answered, 20, 0.5)
            assert answer["blocks"][0]["type"] == "header"
            assert validate_blocks(answer["blocks"]) == []
            url = server.response_url("RG")
            body = signed_slash_command("/glossary", "co-PI", response_url=url)
            assert (await post(port, *body))[0] == 200
            [glossary] = await wait_for(lambda: _answers(server, "RG"), 5)
            assert "co-PI" in words(glossary)
            for tamper in ({"bad_signature": True}, {"replayed": True}):
                refused = signed_slash_command("/calls", "x", response_url=url, **tamper)
                assert (await post(port, *refused))[0] == 401
        finally:
            started = time.monotonic()
            stop.set()
            await asyncio.wait_for(task, 10)
            assert time.monotonic() - started < 5
    assert len(server.responses["RG"]) == 1
    for secret in (DEFAULT_TOKEN, DEFAULT_SIGNING_SECRET):
        assert secret not in caplog.text
    assert "Traceback" not in caplog.text
    assert "response_url" not in caplog.text  # a refused request's body is not logged
    assert not [r for r in caplog.records if r.exc_info]
    assert "refused a Slack request" in caplog.text


async def _answers(server: FakeSlackServer, response_id: str):
    return server.responses.get(response_id) or None


# --------------------------------------------------------------------------- component


async def test_http_mode_needs_a_signing_secret(runtime) -> None:
    runtime.settings = settings_for(SLACK_SIGNING_SECRET=None)
    with pytest.raises(SettingsError, match="SLACK_SIGNING_SECRET"):
        await slack_component(runtime)


async def test_socket_mode_leader_connects_only_with_the_lock() -> None:
    events: list[str] = []
    answers = iter([False, True])

    @contextlib.asynccontextmanager
    async def lock(database, name):
        assert name == "leader:slack"
        mine = next(answers)
        events.append(f"lock:{mine}")
        yield mine
        events.append("unlock")

    async def connect():
        events.append("connect")

        async def close():
            events.append("close")

        return close

    states: list[bool] = []
    leader = SocketLeader(None, connect, on_change=states.append, lock=lock, retry=0.01)
    task = asyncio.create_task(leader.run())
    await wait_for(lambda: _true(leader.leading), 2, 0.01)
    leader.stopping.set()
    await asyncio.wait_for(task, 2)
    assert events == ["lock:False", "unlock", "lock:True", "connect", "close", "unlock"]
    assert states == [True, False]


async def test_socket_mode_leader_retries_a_failed_connect(store) -> None:
    attempts = []

    async def connect():
        attempts.append(1)
        if len(attempts) == 1:
            raise ConnectionError("Slack unreachable")

        async def close():
            return None

        return close

    leader = SocketLeader(store.database, connect, retry=0.01)
    task = asyncio.create_task(leader.run())
    await wait_for(lambda: _true(leader.leading), 5, 0.01)
    leader.stopping.set()
    await asyncio.wait_for(task, 5)
    assert len(attempts) == 2


async def _true(value: bool) -> bool:
    return value


def test_the_manifest_declares_what_the_app_uses() -> None:
    """Every registered slash command, the one event, and only the scopes that are used."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "deploy" / "slack-manifest.yml").read_text()
    commands = re.findall(r"^\s+- command: (\S+)$", text, flags=re.M)
    assert commands == ["/calls", "/glossary", "/deadlines", "/signpost"]
    scopes = text.split("bot:\n", 1)[1].split("\nsettings:", 1)[0]
    assert re.findall(r"^\s+- ([\w:.]+)", scopes, flags=re.M) == [
        "commands",
        "chat:write",
        "chat:write.public",
    ]
    assert re.search(r"bot_events:\n\s+- app_home_opened", text)
    assert "socket_mode_enabled: true" in text and "home_tab_enabled: true" in text


async def test_socket_mode_component_keeps_trying_and_stops_promptly(runtime, caplog) -> None:
    """The fake has no Socket Mode endpoint, so connecting fails: the component must log it
    without the app token, keep the channel for sending, and still stop at once."""
    caplog.set_level(logging.INFO)
    app_token = "xapp-1-A0SIGNPOST-0000-fakeapptokenfakeapptoken"
    async with FakeSlackServer() as fake:
        runtime.settings = settings_for(
            SLACK_APP_TOKEN=app_token, SLACK_SIGNING_SECRET=None, SLACK_API_BASE_URL=fake.base_url
        )
        stop = await slack_component(runtime)
        assert "slack" in runtime.channels
        # (on PostgreSQL another test process may hold leader:slack for a moment)
        await wait_for(lambda: _true(bool(fake.calls_to("apps.connections.open"))), 25, 0.05)
        await wait_for(lambda: _true("Slack Socket Mode" in caplog.text), 5, 0.05)
        started = time.monotonic()
        await stop()
        assert time.monotonic() - started < 2
    assert runtime.connected["slack"] is False
    assert app_token not in caplog.text and DEFAULT_TOKEN not in caplog.text


async def test_socket_mode_answers_a_command_over_the_socket(runtime) -> None:
    """A minimal Socket Mode server: apps.connections.open hands out a WebSocket URL, the
    socket says hello and delivers one slash command envelope; Signpost acks the envelope
    and answers on the response_url."""
    from urllib.parse import parse_qsl

    from aiohttp import WSMsgType, web

    from tests.helpers.fake_slack import slash_command_body

    app_token = "xapp-1-A0SIGNPOST-0000-fakeapptokenfakeapptoken"
    acks: list[dict] = []
    answers: list[dict] = []
    base = {}

    async def api(request: web.Request) -> web.Response:
        method, auth = request.match_info["method"], request.headers.get("Authorization")
        if method == "apps.connections.open":
            assert auth == f"Bearer {app_token}"
            return web.json_response({"ok": True, "url": f"ws://{base['host']}/link"})
        assert auth == f"Bearer {DEFAULT_TOKEN}"
        return web.json_response(
            {"ok": True, "user_id": "U0SIGNBOT", "bot_id": "B0SIGNBOT", "team_id": "T0SIGNPOST"}
        )

    async def link(request: web.Request) -> web.WebSocketResponse:
        socket_ = web.WebSocketResponse()
        await socket_.prepare(request)
        await socket_.send_json({"type": "hello", "num_connections": 1})
        body = slash_command_body(
            "/glossary", "co-PI", response_url=f"http://{base['host']}/response"
        )
        envelope = {
            "envelope_id": "E1",
            "type": "slash_commands",
            "accepts_response_payload": True,
            "payload": dict(parse_qsl(body)),
        }
        await socket_.send_json(envelope)
        async for message in socket_:
            if message.type == WSMsgType.TEXT:
                acks.append(json.loads(message.data))
        return socket_

    async def response(request: web.Request) -> web.Response:
        answers.append(await request.json())
        return web.Response(text="ok")

    server_app = web.Application()
    server_app.router.add_post("/api/{method}", api)
    server_app.router.add_get("/link", link)
    server_app.router.add_post("/response", response)
    runner = web.AppRunner(server_app, shutdown_timeout=1.0)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    base["host"] = f"127.0.0.1:{runner.addresses[0][1]}"
    try:
        runtime.settings = settings_for(
            SLACK_APP_TOKEN=app_token,
            SLACK_SIGNING_SECRET=None,
            SLACK_API_BASE_URL=f"http://{base['host']}/api/",
        )
        stop = await slack_component(runtime)
        await wait_for(lambda: _true(bool(answers)), 25, 0.05)
        assert runtime.connected["slack"] is True
        assert "co-PI" in words(answers[0]) and answers[0]["response_type"] == "ephemeral"
        assert [ack["envelope_id"] for ack in acks] == ["E1"]
        await stop()
        assert runtime.connected["slack"] is False
    finally:
        await runner.cleanup()
