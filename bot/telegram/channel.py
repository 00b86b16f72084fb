"""Telegram's side of the delivery contract: send one reply, throttled, with errors mapped.

``TelegramChannel.send`` renders a reply (``bot.telegram.render``), waits for its turn, sends
each message (``message_thread_id`` for a forum topic, link previews off unless the reply
asks), an attachment with sendDocument, and turns python-telegram-bot's errors into the
dispatcher's decisions::

    telegram.error.RetryAfter          -> RetryAfter(seconds)   wait exactly that
    telegram.error.ChatMigrated        -> ChatMoved(new id)     move the chat, send again
    telegram.error.Forbidden           -> ChatGone              blocked, kicked, deactivated
    BadRequest "chat not found", "not enough rights", "message thread not found", ...
                                       -> ChatGone              nothing arrives until someone acts
    BadRequest "message is too long"   -> split smaller, resend; Rejected if that fails too
    other BadRequest                   -> Rejected              the same message fails the same way
    TimedOut, NetworkError (5xx), else -> Transient             try again later

Throttling happens before Telegram has to say no: at most 30 messages a second overall, one a
second to a private chat, twenty a minute to a group or channel (see ``SendLimits``). It uses
aiolimiter directly rather than PTB's ``AIORateLimiter``, which has no per-private-chat limit,
counts every call that names a chat (getChatMember, edits) against a group's twenty a minute,
freezes every chat for all of a 429's wait, and logs a traceback for each 429 it does not
retry; and here a 429 must reach the dispatcher, which reschedules the row instead of holding
a worker. One channel is shared by the dispatcher and the command handlers, so replies and
alerts share the budget.
Limits are per process: replicas that send to the same chat can, together, exceed them, and
then Telegram's 429 (mapped above) is the backstop.
"""

from __future__ import annotations

import dataclasses
import logging
import warnings
from collections import deque
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from aiolimiter import AsyncLimiter
from telegram import Bot, LinkPreviewOptions, Message, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, TelegramError
from telegram.error import RetryAfter as TelegramRetryAfter
from telegram.warnings import PTBDeprecationWarning

from bot.core.model import Chat
from bot.core.replies import Reply, Section
from bot.delivery.channel import (
    ChatGone,
    ChatMoved,
    DeliveryError,
    Limits,
    Parts,
    Rejected,
    RetryAfter,
    Transient,
)
from bot.telegram.render import CAPTION_CHARS, MAX_CHARS, Rendered, measure, render

__all__ = [
    "GONE_MARK",
    "NotModified",
    "SendLimits",
    "TelegramChannel",
    "Throttle",
    "TooLong",
    "chat_target",
    "delivery_error",
]

log = logging.getLogger("signpost.telegram")
T = TypeVar("T")

GONE_MARK = "telegram: "  # pause reasons that start so were set by Telegram, not by /pause
_GONE_HINTS = (
    "chat not found",
    "not enough rights",
    "have no rights",
    "need administrator rights",
    "message thread not found",
    "topic_closed",
    "topic_deleted",
    "chat_write_forbidden",
    "channel_private",
    "bot is not a member",
)
MIN_SPLIT = 500  # below this, "too long" is not our measuring: give up


class TooLong(Rejected):
    """Telegram found a message longer than we measured; the channel splits it again."""


class NotModified(Rejected):
    """An edit that changes nothing; harmless."""


@dataclass(frozen=True, slots=True)
class SendLimits:
    """Telegram's published rates (tests pass faster ones), kept with room to spare.

    Telegram counts messages as they arrive, and the network moves them about: so our bursts
    are smaller than Telegram's (10 of its ~30 overall) and every period is stretched by
    ``margin``. A group gets no burst at all: with one, a leaky bucket lets burst + a
    minute's drain through in the first minute (10 + 18 = 28), over the twenty a minute
    Telegram allows in any minute; without, it is at most 1 + 18.
    """

    overall_per_second: float = 30.0
    overall_burst: float = 10.0
    private_per_second: float = 1.0
    group_per_minute: float = 20.0
    group_burst: float = 1.0
    margin: float = 1.1


class Throttle:
    """Waits until a message to ``target`` fits every limit; never refuses."""

    MAX_TRACKED = 2048

    def __init__(self, limits: SendLimits | None = None) -> None:
        self.limits = limits = limits or SendLimits()
        period = limits.overall_burst / limits.overall_per_second * limits.margin
        self.overall = AsyncLimiter(limits.overall_burst, period)
        self._chats: dict[str, AsyncLimiter] = {}

    def _limiter(self, target: int | str) -> AsyncLimiter:
        key = str(target)
        limiter = self._chats.get(key)
        if limiter is None:
            if len(self._chats) >= self.MAX_TRACKED:
                # Forget chats whose budget is full again: they behave as new ones.
                idle = [k for k, v in self._chats.items() if v.has_capacity(v.max_rate)]
                for stale in idle:
                    del self._chats[stale]
            limits = self.limits
            if isinstance(target, int) and target > 0:  # users (private chats) have positive ids
                limiter = AsyncLimiter(1, limits.margin / limits.private_per_second)
            else:
                period = limits.group_burst * 60 / limits.group_per_minute
                limiter = AsyncLimiter(limits.group_burst, period * limits.margin)
            self._chats[key] = limiter
        return limiter

    async def wait(self, target: int | str) -> None:
        """The chat's own limit first (it can be long), then the shared one (short)."""
        await self._limiter(target).acquire()
        await self.overall.acquire()


def chat_target(chat: Chat) -> int | str:
    """The ``chat_id`` for the Bot API: a number, or a channel's ``@username``."""
    raw = chat.platform_chat_id
    return int(raw) if raw.lstrip("-").isdigit() else raw


def _thread(chat: Chat) -> int | None:
    return int(chat.thread_id) if chat.thread_id.isdigit() else None


def _seconds(error: TelegramRetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns unless PTB_TIMEDELTA opts in
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def delivery_error(error: TelegramError, *, secret: str = "") -> DeliveryError:
    """The dispatcher's decision for a PTB error (the table in the module docstring)."""
    text = error.message.replace(secret, "[redacted]") if secret else error.message
    lowered = text.lower()
    if isinstance(error, TelegramRetryAfter):
        seconds = _seconds(error)
        return RetryAfter(seconds, f"{GONE_MARK}flood control: retry after {seconds:g} s")
    if isinstance(error, ChatMigrated):
        return ChatMoved(str(error.new_chat_id))
    if isinstance(error, Forbidden):
        return ChatGone(GONE_MARK + text)
    if isinstance(error, BadRequest):
        if "message is too long" in lowered:
            return TooLong(GONE_MARK + text)
        if "message is not modified" in lowered:
            return NotModified(GONE_MARK + text)
        if any(hint in lowered for hint in _GONE_HINTS):
            return ChatGone(GONE_MARK + text)
        return Rejected(GONE_MARK + text)
    return Transient(f"{GONE_MARK}{type(error).__name__}: {text}")


class TelegramChannel:
    """Sends replies to Telegram chats through one PTB ``Bot``."""

    platform = "telegram"
    resumes_parts = True

    def __init__(
        self, bot: Bot, *, send_limits: SendLimits | None = None, max_chars: int = MAX_CHARS
    ) -> None:
        self.bot = bot
        self.throttle = Throttle(send_limits)
        self.max_chars = max_chars
        self.limits = Limits(max_chars=max_chars)

    def measure(self, section: Section) -> int:
        return measure(section)

    async def _call(self, call: Awaitable[T]) -> T:
        try:
            return await call
        except TelegramError as error:
            raise delivery_error(error, secret=self.bot.token) from error

    async def send(self, chat: Chat, reply: Reply, parts: Parts | None = None) -> list[str]:
        """Post a reply; returns the ids of the messages posted, in order. With ``parts``,
        messages an earlier try sent are skipped and each one sent is reported."""
        ids: list[str] = []
        if reply.attachment is not None:
            return await self._send_with_document(chat, reply, parts)
        reply_to = reply.in_thread_of
        pending = deque(render(reply, limit=self.max_chars))
        while pending:
            message = pending.popleft()
            if parts is not None and not await parts.next():
                reply_to = None
                continue
            try:
                ids.append(await self._send_message(chat, message, reply_to))
            except TooLong:
                smaller = message.visible * 3 // 4
                if smaller < MIN_SPLIT or message.source is None:
                    raise
                log.info("Telegram found a message too long; splitting it smaller")
                pending.extendleft(reversed(render(message.source, limit=smaller)))
                if parts is not None:
                    parts.again()
                continue
            if parts is not None:
                parts.sent(ids[-1])
            reply_to = None  # only the first message answers the earlier one
        return ids

    async def _send_message(self, chat: Chat, message: Rendered, reply_to: str | None) -> str:
        target = chat_target(chat)
        answer_to = None
        if reply_to and reply_to.isdigit():
            answer_to = ReplyParameters(int(reply_to), allow_sending_without_reply=True)
        await self.throttle.wait(target)
        sent: Message = await self._call(
            self.bot.send_message(
                chat_id=target,
                text=message.html,
                parse_mode=ParseMode.HTML,
                reply_markup=message.markup,
                message_thread_id=_thread(chat),
                link_preview_options=LinkPreviewOptions(is_disabled=not message.link_previews),
                reply_parameters=answer_to,
            )
        )
        return str(sent.message_id)

    async def _send_with_document(
        self, chat: Chat, reply: Reply, parts: Parts | None = None
    ) -> list[str]:
        """The reply's text as the caption when it fits one, else as messages first."""
        assert reply.attachment is not None
        name, content = reply.attachment
        body = dataclasses.replace(reply, attachment=None)
        messages = render(body, limit=self.max_chars)
        caption = None
        ids: list[str] = []
        alone = len(messages) == 1 and messages[0].markup is None
        if alone and messages[0].visible <= CAPTION_CHARS:
            caption = messages[0].html
        if caption is None and messages:
            ids += await self.send(chat, body, parts)
        if parts is not None and not await parts.next():
            return ids
        target = chat_target(chat)
        await self.throttle.wait(target)
        sent: Message = await self._call(
            self.bot.send_document(
                chat_id=target,
                document=content,
                filename=name,
                caption=caption,
                parse_mode=ParseMode.HTML if caption else None,
                message_thread_id=_thread(chat),
            )
        )
        if parts is not None:
            parts.sent(str(sent.message_id))
        return [*ids, str(sent.message_id)]

    async def edit(self, chat: Chat, message_id: int, reply: Reply) -> list[str]:
        """Replace a message's text and keyboard (a guided flow's next step).

        "Not modified" is quiet; a message that can no longer be edited (too old, deleted)
        gets the reply as a new message instead. Parts beyond the first are sent after it.
        """
        messages = render(reply, limit=self.max_chars)
        if not messages or reply.attachment is not None:
            return await self.send(chat, reply)
        first = messages[0]
        try:
            await self._call(
                self.bot.edit_message_text(
                    first.html,
                    chat_id=chat_target(chat),
                    message_id=message_id,
                    parse_mode=ParseMode.HTML,
                    reply_markup=first.markup,
                    link_preview_options=LinkPreviewOptions(is_disabled=not first.link_previews),
                )
            )
        except NotModified:
            log.debug("edit of message %s changed nothing", message_id)
        except Rejected as error:
            log.info("could not edit message %s (%s); sending anew", message_id, error)
            return await self.send(chat, reply)
        ids = [str(message_id)]
        for message in messages[1:]:
            ids.append(await self._send_message(chat, message, None))
        return ids
