"""The Slack transport end to end: signed requests through the real bolt app, answers and
Web API calls landing on the fake Slack server, the store checked afterwards.

Requests go through ``app.async_dispatch(AsyncBoltRequest(...))`` with
``process_before_response=True`` (listeners finish before the response, so nothing races
an assertion), then over real HTTP to the aiohttp endpoint, then through ``bot.app.serve``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time

import aiohttp
import pytest

from bot.settings import SettingsError
from bot.slack.lifecycle import SocketLeader, http_app, slack_component, start_http
from tests.helpers.fake_slack import (
    DEFAULT_SIGNING_SECRET,
    DEFAULT_TOKEN,
    FakeSlackServer,
    block_actions_payload,
    signed_event,
    signed_interaction,
    signed_slash_command,
    validate_blocks,
)
from tests.slack.support import (
    _IDS,
    MENTAL_HEALTH_TITLE,
    Slack,
    _answers,
    _true,
    free_port,
    post,
    settings_for,
    stored_chat,
    wait_for,
    words,
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


@pytest.mark.parametrize("timestamp", ["abc", "²", "１２", "1e9", "", "99999999999999999999999x"])
async def test_a_malformed_request_timestamp_is_refused_without_a_traceback(
    runtime, user: Slack, server, caplog, timestamp
) -> None:
    """bolt's verifier calls ``int()`` on the header: a non-number raised, and the endpoint
    answered 500 with a traceback in the log. It is a bad request like any other: 401."""
    caplog.set_level(logging.INFO)
    port = free_port()
    stop = await start_http(runtime, user.app, port)
    try:
        body, headers = signed_slash_command("/glossary", "co-PI", response_url="http://x/")
        headers = {k: v for k, v in headers.items() if k.lower() != "x-slack-request-timestamp"}
        headers["X-Slack-Request-Timestamp"] = timestamp
        status, _ = await post(port, body, headers)
    finally:
        await stop()
    assert status == 401
    assert server.calls == []
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert "refused a Slack request" in caplog.text
