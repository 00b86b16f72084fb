"""A fake Slack Web API that the real slack_sdk ``AsyncWebClient`` talks HTTP to, plus signed
requests for slack-bolt.

Why a server: the Slack transport and the dispatcher must meet slack_sdk's own encoding (JSON
for ``chat.*``/``views.*``, query strings for ``conversations.info``/``users.info``, the token
in ``Authorization``) and its error mapping (``SlackApiError`` carrying ``error``, the status
and ``Retry-After``), so the fake answers on loopback in Slack's shapes.

    async with FakeSlackServer() as slack:
        client = AsyncWebClient(slack.token, base_url=slack.base_url)

What it reproduces, and the model chosen where Slack publishes none:

* ``chat.postMessage`` is limited per channel by a token bucket: 1 message/s with a burst of 3
  (Slack "allows bursts" without saying how many). An optional workspace bucket
  (``SlackLimits.workspace_per_minute``) models the workspace limit; it is off by default. A
  breach answers HTTP 429, ``Retry-After`` in whole seconds and ``{"ok": false, "error":
  "ratelimited"}``, counted in ``rate_limited``. The clock is injectable (``ManualClock``).
* Block Kit limits answer ``invalid_blocks`` with Slack's ``errors`` and
  ``response_metadata.messages``: at most 50 blocks (100 in views), section text 1–3000
  characters, at most 10 fields of up to 2000, header text up to 150, block_id up to 255.
* Slack answers API errors with HTTP 200 and ``ok: false``: so does the fake.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from aiohttp import web

from tests.helpers.fake_telegram import ManualClock, TokenBucket, retry_after_seconds

__all__ = [
    "CHANNEL_ERRORS",
    "DEFAULT_SIGNING_SECRET",
    "DEFAULT_TOKEN",
    "FakeSlackServer",
    "ManualClock",
    "PostedMessage",
    "SlackCall",
    "SlackLimits",
    "block_actions_payload",
    "event_body",
    "interactivity_body",
    "sign_request",
    "signed_event",
    "signed_interaction",
    "signed_slash_command",
    "slack_client",
    "slash_command_body",
    "validate_blocks",
    "view_submission_payload",
]

DEFAULT_TOKEN = "xoxb-0000000000-fake-signpost"
DEFAULT_SIGNING_SECRET = "fake-signpost-signing-secret"
DEFAULT_TEAM_ID = "T0SIGNPOST"
REPLAY_AGE_SECONDS = 6 * 60  # Slack and bolt refuse timestamps older than five minutes
CHANNEL_ERRORS = frozenset(
    {"channel_not_found", "not_in_channel", "account_inactive", "is_archived"}
)
MAX_MESSAGE_TEXT = 40_000


@dataclass(frozen=True)
class SlackLimits:
    """Slack's limits as data; ``enabled=False`` turns rate limiting off."""

    channel_per_second: float = 1.0
    channel_burst: float = 3.0
    workspace_per_minute: float | None = None
    workspace_burst: float = 100.0
    enabled: bool = True
    max_blocks: int = 50
    max_view_blocks: int = 100
    max_section_text: int = 3000
    max_field_text: int = 2000
    max_fields: int = 10
    max_header_text: int = 150


@dataclass
class SlackCall:
    """One Web API request as the fake saw it (``status`` None: left hanging)."""

    method: str
    params: dict[str, Any]
    time: float
    channel: str | None
    status: int | None = None
    response: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool((self.response or {}).get("ok"))


@dataclass
class PostedMessage:
    """A message chat.postMessage (or chat.postEphemeral, with ``user``) accepted."""

    channel: str
    ts: str
    text: str | None
    blocks: list[dict[str, Any]] | None
    thread_ts: str | None
    time: float
    json: dict[str, Any]
    user: str | None = None


class _SlackError(Exception):
    """An error answer, raised anywhere in a handler and turned into Slack's JSON once."""

    def __init__(
        self,
        error: str,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.headers = headers or {}
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"ok": False, "error": self.error, **self.extra}


@dataclass
class _TransportFault:
    kind: str  # "fail" or "hang"
    remaining: int
    status: int = 500
    method: str | None = None


# --------------------------------------------------------------------------- Block Kit limits

# The block types Slack accepts in messages and views; any other type is refused.
_BLOCK_TYPES = frozenset(
    (
        *("section", "header", "divider", "context", "actions", "image", "rich_text", "input"),
        *("markdown", "file", "video", "call", "table"),
    )
)


def _text_errors(text: Any, where: str, limit: int) -> list[str]:
    if not isinstance(text, dict) or not isinstance(text.get("text"), str):
        return [f"must be a text object [json-pointer:{where}]"]
    length = len(text["text"])
    if length == 0:
        return [f"must be more than 0 characters [json-pointer:{where}/text]"]
    if length > limit:
        return [f"must be less than {limit + 1} characters [json-pointer:{where}/text]"]
    return []


def validate_blocks(
    blocks: Any,
    *,
    limits: SlackLimits | None = None,
    pointer: str = "/blocks",
    max_items: int | None = None,
) -> list[str]:
    """Slack's complaints about ``blocks`` (without the ``[ERROR]`` prefix); empty if valid."""
    limits = limits or SlackLimits()
    max_items = limits.max_blocks if max_items is None else max_items
    if not isinstance(blocks, list):
        return [f"must be an array [json-pointer:{pointer}]"]
    errors = []
    if len(blocks) > max_items:
        errors.append(f"must be less than {max_items + 1} items [json-pointer:{pointer}]")
    for index, block in enumerate(blocks):
        where = f"{pointer}/{index}"
        kind = block.get("type") if isinstance(block, dict) else None
        if kind not in _BLOCK_TYPES:
            errors.append(f"must be a known block type [json-pointer:{where}/type]")
            continue
        if len(str(block.get("block_id", ""))) > 255:
            errors.append(f"must be less than 256 characters [json-pointer:{where}/block_id]")
        if kind == "section":
            errors += _section_errors(block, where, limits)
        elif kind == "header":
            errors += _text_errors(block.get("text"), f"{where}/text", limits.max_header_text)
    return errors


def _section_errors(block: dict[str, Any], where: str, limits: SlackLimits) -> list[str]:
    text, fields = block.get("text"), block.get("fields")
    if text is None and not fields:
        return [f"must provide either text or fields [json-pointer:{where}]"]
    errors = [] if text is None else _text_errors(text, f"{where}/text", limits.max_section_text)
    if fields is not None:
        if len(fields) > limits.max_fields:
            errors.append(
                f"must be less than {limits.max_fields + 1} items [json-pointer:{where}/fields]"
            )
        for number, item in enumerate(fields):
            errors += _text_errors(item, f"{where}/fields/{number}", limits.max_field_text)
    return errors


def _invalid(error: str, problems: list[str]) -> _SlackError:
    """Slack lists each problem twice: bare in ``errors``, tagged in the metadata."""
    return _SlackError(
        error,
        errors=problems,
        response_metadata={"messages": [f"[ERROR] {problem}" for problem in problems]},
    )


def _maybe_json(value: Any) -> Any:
    """Form bodies carry ``blocks`` and ``view`` as JSON strings; JSON bodies as objects."""
    if isinstance(value, str) and value.startswith(("[", "{")):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


# --------------------------------------------------------------------------- the server


def _server_error(status: int) -> web.Response:
    if status == 500:
        return web.json_response({"ok": False, "error": "fatal_error"}, status=500)
    page = f"<html><head><title>{status}</title></head><body>Slack is unavailable</body></html>"
    return web.Response(status=status, text=page, content_type="text/html")


class FakeSlackServer:
    """The Web API on ``127.0.0.1:<ephemeral port>/api/``; an async context manager.

    Inspect ``calls``, ``posted_messages()``, ``ephemeral_messages()``, ``messages``, ``views``,
    ``home_tabs``, ``responses`` and ``rate_limited``; inject faults with ``fail_channel`` (per
    channel) and ``fail_next``/``hang_next`` (per request).
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        limits: SlackLimits | None = None,
        clock: Callable[[], float] = time.monotonic,
        team_id: str = DEFAULT_TEAM_ID,
        bot_user_id: str = "U0SIGNBOT",
        bot_id: str = "B0SIGNBOT",
        port: int = 0,
    ) -> None:
        self.token = token
        self.limits = limits or SlackLimits()
        self.clock = clock
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.calls: list[SlackCall] = []
        self.rate_limited = 0
        self.channels: dict[str, dict[str, Any]] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}
        self.views: dict[str, dict[str, Any]] = {}
        self.home_tabs: dict[str, dict[str, Any]] = {}
        self.responses: dict[str, list[dict[str, Any]]] = {}
        self.port = port  # 0: an ephemeral port, known once started
        self._posted: list[PostedMessage] = []
        self._ephemeral: list[PostedMessage] = []
        self._channel_faults: dict[str, str] = {}
        self._transport_faults: list[_TransportFault] = []
        self._buckets: dict[str, TokenBucket] = {}
        self._expired_triggers: set[str] = set()
        self._ts_base = int(time.time())
        self._sequence = itertools.count(1)
        self._released = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._handlers: dict[str, Callable[[dict[str, Any]], Any]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.postEphemeral": self._post_ephemeral,
            "chat.update": self._update_message,
            "conversations.info": self._conversations_info,
            "users.info": self._users_info,
            "views.open": self._views_open,
            "views.publish": self._views_publish,
            "views.update": self._views_update,
        }

    # ----------------------------------------------------------------- lifecycle

    @property
    def base_url(self) -> str:
        """slack_sdk's ``base_url`` form: the method name is appended to it."""
        return f"http://127.0.0.1:{self.port}/api/"

    def response_url(self, response_id: str | None = None) -> str:
        """A ``response_url`` for a slash command or action; posts to it land in
        ``responses[response_id]``."""
        response_id = response_id or f"R{next(self._sequence):08d}"
        self.responses.setdefault(response_id, [])
        return f"http://127.0.0.1:{self.port}/response/{response_id}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/response/{response_id}", self._handle_response_url)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def close(self) -> None:
        """Releases hanging requests, then stops listening."""
        self._released.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeSlackServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # ----------------------------------------------------------------- directory and faults

    def add_channel(
        self,
        channel_id: str,
        name: str | None = None,
        *,
        is_private: bool = False,
        is_im: bool = False,
        user: str | None = None,
    ) -> dict[str, Any]:
        """Registers a conversation; unknown ids are created as public channels on first use."""
        channel = self.channels.get(channel_id)
        if channel is None:
            channel = {
                "id": channel_id,
                "created": self._ts_base,
                "is_channel": not is_im and not is_private,
                "is_group": is_private,
                "is_im": is_im,
                "is_private": is_private or is_im,
                "is_archived": False,
                "is_member": True,
                "context_team_id": self.team_id,
            }
            if is_im:
                channel["user"] = user or "U0USER"
            else:
                channel["name"] = name or channel_id.lower()
            self.channels[channel_id] = channel
        return channel

    def add_user(
        self,
        user_id: str,
        name: str | None = None,
        *,
        is_admin: bool = False,
        is_owner: bool = False,
        tz: str = "Europe/London",
    ) -> dict[str, Any]:
        """Registers a workspace member as users.info describes one."""
        name = name or user_id.lower()
        self.users[user_id] = {
            "id": user_id,
            "team_id": self.team_id,
            "name": name,
            "deleted": False,
            "real_name": name.title(),
            "tz": tz,
            "is_admin": is_admin,
            "is_owner": is_owner,
            "is_bot": False,
            "profile": {"real_name": name.title(), "display_name": name},
        }
        return self.users[user_id]

    def fail_channel(self, channel: str, error: str) -> None:
        """Every call about ``channel`` fails with ``error`` (one of ``CHANNEL_ERRORS``)."""
        if error not in CHANNEL_ERRORS:
            raise ValueError(f"unknown channel fault {error!r}; known: {sorted(CHANNEL_ERRORS)}")
        self._channel_faults[channel] = error
        if error == "is_archived":
            self.add_channel(channel)["is_archived"] = True
        elif error == "not_in_channel":
            self.add_channel(channel)["is_member"] = False

    def restore(self, channel: str) -> None:
        self._channel_faults.pop(channel, None)
        if channel in self.channels:
            self.channels[channel].update(is_archived=False, is_member=True)

    def fail_next(self, n: int = 1, status: int = 500, *, method: str | None = None) -> None:
        """The next ``n`` requests (to ``method``, or any) answer HTTP ``status`` (5xx)."""
        if status < 500:
            raise ValueError("fail_next injects server errors; use fail_channel for API errors")
        self._transport_faults.append(_TransportFault("fail", n, status, method))

    def hang_next(self, n: int = 1, *, method: str | None = None) -> None:
        """The next ``n`` requests get no answer until the server closes: client timeouts."""
        self._transport_faults.append(_TransportFault("hang", n, method=method))

    def expire_trigger(self, trigger_id: str) -> None:
        """Slack's trigger ids live three seconds; this one has run out."""
        self._expired_triggers.add(trigger_id)

    # ----------------------------------------------------------------- what happened

    def posted_messages(self, channel: str | None = None) -> list[PostedMessage]:
        """Messages chat.postMessage accepted, oldest first (edits are in ``messages``)."""
        return [m for m in self._posted if channel is None or m.channel == channel]

    def ephemeral_messages(self, channel: str | None = None) -> list[PostedMessage]:
        return [m for m in self._ephemeral if channel is None or m.channel == channel]

    def calls_to(self, method: str) -> list[SlackCall]:
        return [call for call in self.calls if call.method == method]

    # ----------------------------------------------------------------- HTTP plumbing

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        params, token = await self._read(request)
        call = SlackCall(method, params, self.clock(), params.get("channel"))
        self.calls.append(call)
        fault = next(
            (f for f in self._transport_faults if f.remaining and f.method in (None, method)),
            None,
        )
        if fault is not None:
            fault.remaining -= 1
            if fault.kind == "hang":
                await self._released.wait()
                return web.Response(status=504, text="released at shutdown")
            call.status = fault.status
            return _server_error(fault.status)
        headers: dict[str, str] = {}
        try:
            if not token:
                raise _SlackError("not_authed")
            if token != self.token:
                raise _SlackError("invalid_auth")
            handler = self._handlers.get(method)
            if handler is None:
                raise _SlackError("unknown_method")
            body, status = {"ok": True, **await handler(params)}, 200
        except _SlackError as err:
            body, status, headers = err.body(), err.status, err.headers
        call.status, call.response = status, body
        return web.json_response(body, status=status, headers=headers)

    @staticmethod
    async def _read(request: web.Request) -> tuple[dict[str, Any], str | None]:
        """Parameters from the query and a JSON or form body; the token from the header."""
        params: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                params.update(await request.json())
            else:
                params.update(await request.post())
        token = params.pop("token", None)
        authorization = request.headers.get("Authorization", "")
        if authorization.startswith("Bearer "):
            token = authorization.removeprefix("Bearer ")
        return {name: _maybe_json(value) for name, value in params.items()}, token

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        payload = await request.json()
        self.responses.setdefault(request.match_info["response_id"], []).append(payload)
        return web.Response(text="ok")

    def _next_ts(self) -> str:
        sequence = next(self._sequence)
        return f"{self._ts_base + sequence // 1_000_000}.{sequence % 1_000_000:06d}"

    def _channel(self, params: dict[str, Any], *, posting: bool = True) -> dict[str, Any]:
        """The conversation a call is about, or the error a fault calls for."""
        channel_id = params.get("channel")
        if not channel_id:
            raise _SlackError("channel_not_found")
        fault = self._channel_faults.get(channel_id)
        if fault and (posting or fault in {"channel_not_found", "account_inactive"}):
            raise _SlackError(fault)
        return self.add_channel(channel_id)

    def _content(self, params: dict[str, Any]) -> tuple[str | None, list[dict[str, Any]] | None]:
        """Validated ``text`` and ``blocks``: Slack needs one of them (or attachments)."""
        text, blocks = params.get("text"), params.get("blocks")
        if not text and not blocks and not params.get("attachments"):
            raise _SlackError("no_text")
        if isinstance(blocks, str):
            raise _SlackError("invalid_blocks_format")
        if blocks is not None and (problems := validate_blocks(blocks, limits=self.limits)):
            raise _invalid("invalid_blocks", problems)
        if text and len(text) > MAX_MESSAGE_TEXT:
            raise _SlackError("msg_too_long")
        return text, blocks

    def _check_rate(self, channel_id: str) -> None:
        """Refuses with 429 unless the channel (and workspace) buckets hold a token."""
        limits, now = self.limits, self.clock()
        if not limits.enabled:
            return
        if channel_id not in self._buckets:
            self._buckets[channel_id] = TokenBucket(
                limits.channel_per_second, limits.channel_burst, now
            )
        buckets = [self._buckets[channel_id]]
        if limits.workspace_per_minute:
            if "workspace" not in self._buckets:
                self._buckets["workspace"] = TokenBucket(
                    limits.workspace_per_minute / 60, limits.workspace_burst, now
                )
            buckets.append(self._buckets["workspace"])
        wait = max(bucket.wait_time(now) for bucket in buckets)
        if wait > 0:
            self.rate_limited += 1
            headers = {"Retry-After": str(retry_after_seconds(wait))}
            raise _SlackError("ratelimited", status=429, headers=headers)
        for bucket in buckets:
            bucket.take(now)

    def _message(self, ts: str, text: str | None, blocks: Any, **extra: Any) -> dict[str, Any]:
        message = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "team": self.team_id,
            "text": text or "",
            "ts": ts,
            **{key: value for key, value in extra.items() if value},
        }
        if blocks:
            message["blocks"] = blocks
        return message

    # ----------------------------------------------------------------- Web API methods

    async def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": "https://signpost-test.slack.com/",
            "team": "Signpost Test",
            "user": "signpost",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    async def _post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        text, blocks = self._content(params)
        self._check_rate(channel["id"])
        ts, thread_ts = self._next_ts(), params.get("thread_ts")
        message = self._message(ts, text, blocks, thread_ts=thread_ts)
        self.messages[(channel["id"], ts)] = message
        self._posted.append(
            PostedMessage(channel["id"], ts, text, blocks, thread_ts, self.clock(), message)
        )
        return {"channel": channel["id"], "ts": ts, "message": message}

    async def _post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        if not params.get("user"):
            raise _SlackError("user_not_found")
        text, blocks = self._content(params)
        ts = self._next_ts()
        message = self._message(ts, text, blocks, thread_ts=params.get("thread_ts"))
        self._ephemeral.append(
            PostedMessage(
                channel["id"],
                ts,
                text,
                blocks,
                params.get("thread_ts"),
                self.clock(),
                message,
                user=params["user"],
            )
        )
        return {"message_ts": ts}

    async def _update_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        message = self.messages.get((channel["id"], str(params.get("ts"))))
        if message is None:
            raise _SlackError("message_not_found")
        text, blocks = self._content(params)
        message["text"] = text or ""
        if blocks is not None:
            message["blocks"] = blocks
        message["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
        return {
            "channel": channel["id"],
            "ts": message["ts"],
            "text": message["text"],
            "message": message,
        }

    async def _conversations_info(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"channel": self._channel(params, posting=False)}

    async def _users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user_id = str(params.get("user") or "")
        if user_id not in self.users:
            if not re.fullmatch(r"[UW][A-Z0-9]{2,}", user_id):
                raise _SlackError("user_not_found")
            self.add_user(user_id)
        return {"user": self.users[user_id]}

    def _checked_view(self, view: Any, *, kind: str | None = None) -> dict[str, Any]:
        """A view Slack would accept, or ``invalid_arguments`` naming what is wrong."""
        if not isinstance(view, dict):
            raise _invalid("invalid_arguments", ["must be an object [json-pointer:/view]"])
        problems = []
        if view.get("type") not in ({kind} if kind else {"modal", "home"}):
            problems.append("must be a valid view type [json-pointer:/view/type]")
        if view.get("type") == "modal":
            problems += _text_errors(view.get("title"), "/view/title", 24)
        problems += validate_blocks(
            view.get("blocks", []),
            limits=self.limits,
            pointer="/view/blocks",
            max_items=self.limits.max_view_blocks,
        )
        if problems:
            raise _invalid("invalid_arguments", problems)
        return view

    def _store_view(self, view: dict[str, Any], view_id: str | None = None) -> dict[str, Any]:
        view_id = view_id or f"V{next(self._sequence):08d}"
        stored = {
            "id": view_id,
            "team_id": self.team_id,
            "private_metadata": "",
            "callback_id": "",
            "external_id": "",
            "state": {"values": {}},
            "clear_on_close": False,
            "notify_on_close": False,
            "root_view_id": view_id,
            "previous_view_id": None,
            "app_id": "A0SIGNPOST",
            "bot_id": self.bot_id,
            **view,
            "hash": f"{int(time.time())}.{next(self._sequence):08x}",
        }
        self.views[view_id] = stored
        return stored

    async def _views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        trigger_id = params.get("trigger_id")
        if not trigger_id:
            raise _invalid("invalid_arguments", ["missing required field: trigger_id"])
        if trigger_id in self._expired_triggers:
            raise _SlackError("expired_trigger_id")
        return {"view": self._store_view(self._checked_view(params.get("view")))}

    async def _views_publish(self, params: dict[str, Any]) -> dict[str, Any]:
        user_id = params.get("user_id")
        if not user_id:
            raise _invalid("invalid_arguments", ["missing required field: user_id"])
        current = self.home_tabs.get(user_id)
        if params.get("hash") and current and params["hash"] != current["hash"]:
            raise _SlackError("hash_conflict")
        view = self._checked_view(params.get("view"), kind="home")
        self.home_tabs[user_id] = self._store_view(view, current["id"] if current else None)
        return {"view": self.home_tabs[user_id]}

    async def _views_update(self, params: dict[str, Any]) -> dict[str, Any]:
        view_id = params.get("view_id")
        if not view_id and params.get("external_id"):
            found = [v for v in self.views.values() if v["external_id"] == params["external_id"]]
            view_id = found[0]["id"] if found else None
        current = self.views.get(view_id or "")
        if current is None:
            raise _SlackError("not_found")
        if params.get("hash") and params["hash"] != current["hash"]:
            raise _SlackError("hash_conflict")
        return {"view": self._store_view(self._checked_view(params.get("view")), current["id"])}


# --------------------------------------------------------------------------- signed requests


def sign_request(
    body: str,
    signing_secret: str = DEFAULT_SIGNING_SECRET,
    *,
    timestamp: int | None = None,
    bad_signature: bool = False,
    replayed: bool = False,
    content_type: str = "application/x-www-form-urlencoded",
) -> tuple[str, dict[str, str]]:
    """``(body, headers)`` signed as Slack signs: v0 HMAC-SHA256 of ``v0:{ts}:{body}``.

    ``bad_signature`` signs with the wrong secret; ``replayed`` dates the request six minutes
    back, past the five minutes a verifier accepts.
    """
    ts = int(time.time()) if timestamp is None else timestamp
    if replayed:
        ts -= REPLAY_AGE_SECONDS
    secret = f"{signing_secret}-not" if bad_signature else signing_secret
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": f"v0={digest}",
    }
    return body, headers


def _trigger_id() -> str:
    sequence = next(_TRIGGERS)
    return (
        f"{int(time.time())}.{sequence}.{hashlib.sha256(str(sequence).encode()).hexdigest()[:24]}"
    )


_TRIGGERS = itertools.count(1)


def slash_command_body(
    command: str,
    text: str = "",
    *,
    user_id: str = "U0USER",
    channel_id: str = "C0GENERAL",
    team_id: str = DEFAULT_TEAM_ID,
    response_url: str = "http://127.0.0.1:9/response/unused",
    trigger_id: str | None = None,
    user_name: str = "tester",
    channel_name: str = "general",
) -> str:
    """The form body Slack POSTs for a slash command."""
    return urlencode(
        {
            "token": "fake-verification-token",
            "team_id": team_id,
            "team_domain": "signpost-test",
            "channel_id": channel_id,
            "channel_name": channel_name,
            "user_id": user_id,
            "user_name": user_name,
            "command": command,
            "text": text,
            "api_app_id": "A0SIGNPOST",
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger_id or _trigger_id(),
        }
    )


def block_actions_payload(
    action_id: str,
    value: str | None = None,
    *,
    user_id: str = "U0USER",
    channel_id: str = "C0GENERAL",
    team_id: str = DEFAULT_TEAM_ID,
    message_ts: str | None = None,
    block_id: str = "signpost",
    response_url: str = "http://127.0.0.1:9/response/unused",
    trigger_id: str | None = None,
) -> dict[str, Any]:
    """The interactivity payload for a button press in a message."""
    action = {
        "type": "button",
        "action_id": action_id,
        "block_id": block_id,
        "action_ts": f"{time.time():.6f}",
        "text": {"type": "plain_text", "text": "…"},
    }
    if value is not None:
        action["value"] = value
    payload: dict[str, Any] = {
        "type": "block_actions",
        "team": {"id": team_id, "domain": "signpost-test"},
        "user": {"id": user_id, "username": "tester", "team_id": team_id},
        "api_app_id": "A0SIGNPOST",
        "token": "fake-verification-token",
        "trigger_id": trigger_id or _trigger_id(),
        "channel": {"id": channel_id, "name": "general"},
        "response_url": response_url,
        "actions": [action],
    }
    if message_ts is not None:
        payload["container"] = {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        }
        payload["message"] = {"type": "message", "ts": message_ts, "text": ""}
    return payload


def view_submission_payload(
    callback_id: str,
    values: dict[str, dict[str, Any]],
    *,
    user_id: str = "U0USER",
    team_id: str = DEFAULT_TEAM_ID,
    private_metadata: str = "",
    view_id: str = "V0SUBMIT",
) -> dict[str, Any]:
    """The interactivity payload for a modal submission; ``values`` is ``state.values``."""
    return {
        "type": "view_submission",
        "team": {"id": team_id, "domain": "signpost-test"},
        "user": {"id": user_id, "username": "tester", "team_id": team_id},
        "api_app_id": "A0SIGNPOST",
        "token": "fake-verification-token",
        "trigger_id": _trigger_id(),
        "view": {
            "id": view_id,
            "team_id": team_id,
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": private_metadata,
            "state": {"values": values},
            "hash": "1.fake",
            "title": {"type": "plain_text", "text": "Signpost"},
            "blocks": [],
        },
        "response_urls": [],
    }


def interactivity_body(payload: dict[str, Any]) -> str:
    """Interactivity arrives form-encoded with the JSON in a single ``payload`` field."""
    return "payload=" + quote(json.dumps(payload), safe="")


def event_body(
    event: dict[str, Any], *, team_id: str = DEFAULT_TEAM_ID, event_id: str | None = None
) -> str:
    """The JSON Events API envelope around ``event``."""
    now = int(time.time())
    return json.dumps(
        {
            "token": "fake-verification-token",
            "team_id": team_id,
            "api_app_id": "A0SIGNPOST",
            "event": {"event_ts": f"{now}.000100", **event},
            "type": "event_callback",
            "event_id": event_id or f"Ev{next(_TRIGGERS):08d}",
            "event_time": now,
            "authorizations": [{"team_id": team_id, "user_id": "U0SIGNBOT", "is_bot": True}],
        }
    )


def signed_slash_command(
    command: str,
    text: str = "",
    *,
    signing_secret: str = DEFAULT_SIGNING_SECRET,
    bad_signature: bool = False,
    replayed: bool = False,
    **fields: Any,
) -> tuple[str, dict[str, str]]:
    return sign_request(
        slash_command_body(command, text, **fields),
        signing_secret,
        bad_signature=bad_signature,
        replayed=replayed,
    )


def signed_interaction(
    payload: dict[str, Any],
    *,
    signing_secret: str = DEFAULT_SIGNING_SECRET,
    bad_signature: bool = False,
    replayed: bool = False,
) -> tuple[str, dict[str, str]]:
    return sign_request(
        interactivity_body(payload),
        signing_secret,
        bad_signature=bad_signature,
        replayed=replayed,
    )


def signed_event(
    event: dict[str, Any],
    *,
    signing_secret: str = DEFAULT_SIGNING_SECRET,
    bad_signature: bool = False,
    replayed: bool = False,
    **envelope: Any,
) -> tuple[str, dict[str, str]]:
    return sign_request(
        event_body(event, **envelope),
        signing_secret,
        bad_signature=bad_signature,
        replayed=replayed,
        content_type="application/json",
    )


def slack_client(server: FakeSlackServer, **options: Any) -> Any:
    """A real ``AsyncWebClient`` pointed at ``server`` (``options``: e.g. ``timeout=1``)."""
    from slack_sdk.web.async_client import AsyncWebClient

    return AsyncWebClient(token=server.token, base_url=server.base_url, **options)
