"""The Slack side of the dispatcher: post a rendered reply with chat.postMessage.

Why it throttles itself: Slack allows about one message a second per channel (short
bursts tolerated) plus a workspace-wide limit, and answers a breach with HTTP 429. Waiting
here, before Slack says no, keeps a digest of ten messages from turning into ten retries.
Whatever Slack still refuses is mapped to the dispatcher's decisions::

    ratelimited / HTTP 429                        -> RetryAfter(Retry-After seconds)
    channel_not_found, not_in_channel,
    account_inactive, is_archived, ...            -> ChatGone (pause the chat, say why)
    HTTP 5xx, fatal_error, timeouts, network      -> Transient (back off, retry)
    invalid_blocks, msg_too_long                  -> one smaller try, then Rejected
    anything else                                 -> Rejected
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any

import aiohttp
from aiolimiter import AsyncLimiter
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.model import Chat
from bot.core.replies import Reply
from bot.delivery.channel import (
    ChatGone,
    DeliveryError,
    Limits,
    Parts,
    Rejected,
    RetryAfter,
    Transient,
)
from bot.slack.render import (
    MAX_BLOCKS,
    MAX_SECTION_CHARS,
    SlackMessage,
    measure,
    render,
    render_small,
)

__all__ = ["GONE_ERRORS", "SlackChannel", "map_slack_error"]

log = logging.getLogger("signpost.slack")

GONE_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "account_inactive",
        "is_archived",
        "channel_is_archived",
        "restricted_action",
        "team_access_not_granted",
    }
)
TOO_BIG_ERRORS = frozenset({"invalid_blocks", "msg_too_long", "invalid_blocks_format"})
TRANSIENT_ERRORS = frozenset(
    {"fatal_error", "internal_error", "service_unavailable", "request_timeout"}
)
# A wrong or revoked token is the operator's problem, not the chat's: retrying (and
# dead-lettering in the end) is better than pausing every chat in the workspace.
AUTH_ERRORS = frozenset({"invalid_auth", "not_authed", "token_revoked", "token_expired"})
MAX_TRACKED_CHANNELS = 10_000
# A little slower than the limit: Slack's clock and ours never agree to the millisecond.
MARGIN = 1.05


class _TooBig(Exception):
    """Slack refused the blocks themselves; a smaller rendering may pass."""

    def __init__(self, error: SlackApiError) -> None:
        super().__init__(str(error))
        self.error = error


def _retry_after(headers: Any) -> float:
    """Seconds from a ``Retry-After`` header (any capitalisation), at least one."""
    for name, value in (headers or {}).items():
        if name.lower() == "retry-after":
            try:
                return max(1.0, float(value if not isinstance(value, list) else value[0]))
            except (TypeError, ValueError):
                break
    return 1.0


def map_slack_error(error: SlackApiError) -> DeliveryError:
    """The dispatcher's decision for an error Slack answered with."""
    response = error.response
    status = getattr(response, "status_code", 200)
    try:
        code = str(response.get("error") or "")
    except (AttributeError, TypeError):
        code = ""
    detail = f"Slack {code or status}"
    if status == 429 or code == "ratelimited":
        return RetryAfter(_retry_after(getattr(response, "headers", {})), detail)
    if code in GONE_ERRORS:
        return ChatGone(detail)
    if status >= 500 or code in TRANSIENT_ERRORS:
        return Transient(detail)
    if code in AUTH_ERRORS:
        log.error("Slack refused the bot token (%s): check SLACK_BOT_TOKEN", code)
        return Transient(detail)
    return Rejected(detail)


class SlackChannel:
    """Sends replies to Slack channels and DMs; ``send`` returns the ``ts`` of each
    message, the first of which the outbox keeps so updates can reply in its thread."""

    platform = "slack"
    resumes_parts = True
    limits = Limits(max_chars=40_000, max_blocks=MAX_BLOCKS, max_section_chars=MAX_SECTION_CHARS)

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        per_channel_per_second: float = 1.0,
        workspace_per_minute: float = 300.0,
    ) -> None:
        self.client = client
        self.per_channel = per_channel_per_second
        # Smooth, not bursty: Slack publishes no burst size, so none is assumed.
        self.workspace = AsyncLimiter(1, MARGIN * 60 / workspace_per_minute)
        self._channels: OrderedDict[str, AsyncLimiter] = OrderedDict()

    @staticmethod
    def measure(section) -> int:
        return measure(section)

    def _limiter(self, channel: str) -> AsyncLimiter:
        """One leaky bucket per channel; the least recently used are forgotten."""
        limiter = self._channels.pop(channel, None) or AsyncLimiter(1, MARGIN / self.per_channel)
        self._channels[channel] = limiter
        while len(self._channels) > MAX_TRACKED_CHANNELS:
            self._channels.popitem(last=False)
        return limiter

    async def send(self, chat: Chat, reply: Reply, parts: Parts | None = None) -> list[str]:
        """Post ``reply`` (in the thread of ``reply.in_thread_of`` when set). With ``parts``,
        messages an earlier try sent are skipped and each one sent is reported."""
        try:
            return await self._post_all(chat, reply, render(reply), parts)
        except _TooBig as first:
            log.warning("Slack refused a message to %s (%s); retrying it smaller", chat.id, first)
        try:
            return await self._post_all(chat, reply, render_small(reply), parts)
        except _TooBig as second:
            raise Rejected(f"Slack {second.error.response.get('error')}") from None

    async def _post_all(
        self, chat: Chat, reply: Reply, messages: list[SlackMessage], parts: Parts | None
    ) -> list[str]:
        thread = reply.in_thread_of or chat.thread_id or None
        ids = []
        for message in messages:
            if parts is not None and not await parts.next():
                continue
            ids.append(await self._post(chat.platform_chat_id, message, thread, reply))
            if parts is not None:
                parts.sent(ids[-1])
        return ids

    async def _post(
        self, channel: str, message: SlackMessage, thread: str | None, reply: Reply
    ) -> str:
        async with self._limiter(channel), self.workspace:
            try:
                response = await self.client.chat_postMessage(
                    channel=channel,
                    text=message.text,
                    blocks=message.blocks,
                    thread_ts=thread,
                    unfurl_links=reply.link_previews,
                    unfurl_media=reply.link_previews,
                )
            except SlackApiError as error:
                if error.response.get("error") in TOO_BIG_ERRORS:
                    raise _TooBig(error) from None
                raise map_slack_error(error) from None
            except (TimeoutError, aiohttp.ClientError, OSError) as error:
                raise Transient(f"Slack unreachable: {type(error).__name__}") from None
        return str(response.get("ts") or "")
