"""Helpers shared by the tests in this folder (moved from test_slack.py)."""

from __future__ import annotations

import asyncio
import itertools
import socket
import time
from typing import Any

import aiohttp
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.core.model import Chat
from bot.settings import load_settings
from tests.helpers.fake_slack import (
    DEFAULT_SIGNING_SECRET,
    DEFAULT_TOKEN,
    FakeSlackServer,
    block_actions_payload,
    signed_interaction,
    signed_slash_command,
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


async def wait_for(check, within: float = 15.0, every: float = 0.2):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        result = await check()
        if result:
            return result
        await asyncio.sleep(every)
    raise AssertionError("timed out waiting")


async def _answers(server: FakeSlackServer, response_id: str):
    return server.responses.get(response_id) or None


async def _true(value: bool) -> bool:
    return value
