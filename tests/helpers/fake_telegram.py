"""A fake Telegram Bot API server that the real python-telegram-bot client talks HTTP to.

Why a server and not a mocked ``Bot``: the delivery, Telegram and benchmark suites must exercise
PTB's own request encoding, error mapping (``RetryAfter``, ``Forbidden``, ``ChatMigrated``,
``BadRequest``) and de-jsoning, so the fake answers on loopback in the Bot API's own shapes.

    async with FakeTelegramServer() as tg:
        bot = Bot(tg.token, base_url=tg.base_url, base_file_url=tg.base_file_url)

What it reproduces, and the model chosen where Telegram publishes none:

* Rate limits are token buckets, refilled continuously, checked before a send and consumed only
  by a send that succeeds: one shared bucket for every chat (30/s, burst 30), one per private
  chat (1/s, burst 3: Telegram tolerates a short burst), one per group, supergroup or channel
  (20/min, burst 20). A breach answers 429 with ``retry_after`` = whole seconds until every
  bucket involved holds a token again (at least 1), and is counted in ``rate_limited``. Only
  ``sendMessage`` and ``sendDocument`` are limited. Limits and the clock are injectable
  (``TelegramLimits``, ``ManualClock``) so tests never sleep.
* ``parse_mode=HTML`` follows Telegram's parser (tdlib ``parse_html``): the same tags, the same
  error texts and byte offsets, entities in UTF-16 offsets. One deliberate difference, on by
  default (``strict_entities``): a bare ``&`` or an unknown named entity such as ``&nbsp;`` is
  refused, where Telegram would silently show it literally; that is always a rendering bug.
* Length is counted after entity parsing and trimming, in UTF-16 code units: never more lenient
  than Telegram, so a splitter that passes here passes there.
* Faults per chat (``block``, ``kick``, ``deactivate``, ``migrate``, ``lose``) and per request
  (``fail_next``, ``hang_next``) answer with Telegram's status codes and descriptions.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

__all__ = [
    "DEFAULT_TOKEN",
    "FakeTelegramServer",
    "ManualClock",
    "SentDocument",
    "SentMessage",
    "TelegramCall",
    "TelegramHtmlError",
    "TelegramLimits",
    "TokenBucket",
    "UpdateBuilder",
    "parse_telegram_html",
    "post_update_to",
    "telegram_bot",
]

DEFAULT_TOKEN = "123456789:AAF-fake-signpost-token"
MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete "
    "the webhook first"
)
POLLING_CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is "
    "running"
)


# --------------------------------------------------------------------------- clocks and buckets


class ManualClock:
    """A monotonic clock that moves only when told, so rate-limit tests never sleep."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class TokenBucket:
    """``capacity`` tokens, refilled at ``rate`` per second: the burst-then-steady model."""

    def __init__(self, rate: float, capacity: float, now: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity
        self.updated = now

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(self.capacity, self.tokens + elapsed * self.rate)
        self.updated = now

    def wait_time(self, now: float) -> float:
        """Seconds until one token is available; 0 when one is available now."""
        self._refill(now)
        missing = 1 - self.tokens
        return 0.0 if missing <= 1e-9 else missing / self.rate  # float clocks drift by ulps

    def take(self, now: float) -> None:
        self._refill(now)
        self.tokens -= 1


def retry_after_seconds(wait: float) -> int:
    """Telegram and Slack both announce whole seconds, and never zero."""
    return max(1, math.ceil(wait - 1e-9))


@dataclass(frozen=True)
class TelegramLimits:
    """Telegram's published limits as rates and bursts; ``enabled=False`` turns them off."""

    overall_per_second: float = 30.0
    overall_burst: float = 30.0
    private_per_second: float = 1.0
    private_burst: float = 3.0
    group_per_minute: float = 20.0
    group_burst: float = 20.0
    enabled: bool = True
    # How long a button press can wait for answerCallbackQuery; Telegram publishes no figure.
    callback_query_ttl: float = 15.0


# --------------------------------------------------------------------------- HTML parse mode


class TelegramHtmlError(ValueError):
    """The text Telegram puts after "can't parse entities: "."""


_SIMPLE_ENTITY = {
    **dict.fromkeys(("b", "strong"), "bold"),
    **dict.fromkeys(("i", "em"), "italic"),
    **dict.fromkeys(("u", "ins"), "underline"),
    **dict.fromkeys(("s", "strike", "del"), "strikethrough"),
    **dict.fromkeys(("tg-spoiler", "span"), "spoiler"),
}
_ALLOWED_TAGS = frozenset({*_SIMPLE_ENTITY, "a", "tg-emoji", "pre", "code", "blockquote"})
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_SPECIAL = re.compile(r"[&<]")
_SPACES = " \t\r\n\v\f"


def utf16_length(text: str) -> int:
    """Telegram measures offsets and lengths in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


@dataclass
class _OpenTag:
    name: str
    argument: str
    offset: int  # UTF-16 offset in the visible text
    first_part: int  # index into the output parts, to recover the inner text
    start: int  # index of its '<' in the source, for error messages
    expandable: bool = False


class _HtmlParser:
    """A port of the rules (not the code) of tdlib's ``parse_html``, errors included."""

    def __init__(self, source: str, strict_entities: bool) -> None:
        self.src = source
        self.strict = strict_entities
        self.pos = 0
        self.parts: list[str] = []
        self.utf16 = 0
        self.stack: list[_OpenTag] = []
        self.entities: list[dict[str, Any]] = []

    def error(self, what: str, index: int, tail: str = "") -> TelegramHtmlError:
        """Telegram reports positions in UTF-8 bytes; computed only when refusing."""
        offset = len(self.src[:index].encode())
        return TelegramHtmlError(f"{what} at byte offset {offset}{tail}")

    def emit(self, text: str) -> None:
        self.parts.append(text)
        self.utf16 += utf16_length(text)

    def run(self) -> tuple[str, list[dict[str, Any]]]:
        src = self.src
        while self.pos < len(src):
            match = _SPECIAL.search(src, self.pos)
            if match is None:
                self.emit(src[self.pos :])
                break
            if match.start() > self.pos:
                self.emit(src[self.pos : match.start()])
            self.pos = match.start()
            if src[self.pos] == "&":
                self.text_entity()
            elif src.startswith("</", self.pos):
                self.end_tag()
            else:
                self.start_tag()
        if self.stack:
            name = self.stack[-1].name
            raise TelegramHtmlError(f"Can't find end tag corresponding to start tag {name}")
        for entity in self.entities:
            if entity["type"] == "code":
                entity.pop("language", None)
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.parts), self.entities

    def decode_entity(self, start: int) -> tuple[str | None, int]:
        """The character ``&...`` at ``start`` stands for, and where the reference ends."""
        src, end = self.src, start + 1
        if src.startswith("#", end):
            end += 1
            hexadecimal = src.startswith("x", end)
            end += hexadecimal
            digits_start = end
            allowed = "0123456789abcdefABCDEF" if hexadecimal else "0123456789"
            while end < len(src) and src[end] in allowed:
                end += 1
            digits = src[digits_start:end]
            code = int(digits, 16 if hexadecimal else 10) if digits else 0
            if code == 0 or code >= 0x10FFFF or end - start >= 10:
                return None, start
            if 0xD800 <= code <= 0xDFFF:
                raise TelegramHtmlError(
                    "Text contains invalid Unicode characters after decoding HTML entities, "
                    "check for unmatched surrogate code units"
                )
            char = chr(code)
        else:
            while end < len(src) and src[end].isascii() and src[end].isalpha():
                end += 1
            char = _NAMED_ENTITIES.get(src[start + 1 : end])
            if char is None:
                return None, start
        if src.startswith(";", end):
            end += 1
        return char, end

    def refuse_ampersand(self, start: int) -> None:
        """Strict mode only: Telegram would show these literally, which is a rendering bug."""
        name = re.match(r"[A-Za-z]*;?", self.src[start + 1 :]).group()  # type: ignore[union-attr]
        if name.endswith(";"):
            raise self.error(f'Unsupported HTML entity "&{name}"', start)
        raise self.error('Character "&" must be escaped as "&amp;"', start)

    def text_entity(self) -> None:
        char, end = self.decode_entity(self.pos)
        if char is None:
            if self.strict:
                self.refuse_ampersand(self.pos)
            self.emit("&")
            self.pos += 1
            return
        self.emit(char)
        self.pos = end

    def skip_spaces(self, index: int) -> int:
        while index < len(self.src) and self.src[index] in _SPACES:
            index += 1
        return index

    def start_tag(self) -> None:
        src, begin = self.src, self.pos
        index = begin + 1
        while index < len(src) and src[index] not in _SPACES and src[index] != ">":
            index += 1
        if index >= len(src):
            raise self.error("Unclosed start tag", begin)
        name = src[begin + 1 : index].lower()
        if name not in _ALLOWED_TAGS:
            raise self.error(f'Unsupported start tag "{name}"', begin)
        tag = _OpenTag(name, "", self.utf16, len(self.parts), begin)
        index = self.attributes(tag, index)
        if name == "span" and tag.argument != "spoiler":
            raise self.error('Tag "span" must have class "tg-spoiler"', begin)
        self.stack.append(tag)
        self.pos = index + 1

    def attributes(self, tag: _OpenTag, index: int) -> int:
        """Reads ``name=value`` pairs up to ``>``; returns the index of that ``>``."""
        src, begin = self.src, tag.start
        while True:
            index = self.skip_spaces(index)
            if index >= len(src):
                raise self.error("Unclosed start tag", begin)
            if src[index] == ">":
                return index
            name_start = index
            while index < len(src) and src[index] not in _SPACES and src[index] not in "=>":
                index += 1
            attribute = src[name_start:index]
            if not attribute:
                raise self.error(f'Empty attribute name in the tag "{tag.name}"', begin)
            index = self.skip_spaces(index)
            if (
                tag.name == "blockquote"
                and attribute == "expandable"
                and (index >= len(src) or src[index] != "=")
            ):
                tag.expandable = True
                continue
            if index >= len(src) or src[index] != "=":
                raise self.error(
                    f'Expected equal sign in declaration of an attribute of the tag "{tag.name}"',
                    begin,
                )
            index = self.skip_spaces(index + 1)
            if index >= len(src):
                raise self.error(f'Unclosed start tag "{tag.name}"', begin)
            value, index = self.attribute_value(index)
            if index >= len(src):
                raise self.error("Unclosed start tag", begin)
            self.remember_argument(tag, attribute, value)

    def attribute_value(self, index: int) -> tuple[str, int]:
        src = self.src
        if src[index] not in "'\"":
            token_start = index
            while index < len(src) and (src[index].isalnum() or src[index] in ".-"):
                index += 1
            if index < len(src) and src[index] not in _SPACES and src[index] != ">":
                raise self.error("Unexpected end of name token", token_start)
            return src[token_start:index].lower(), index
        quote, index = src[index], index + 1
        value: list[str] = []
        while index < len(src) and src[index] != quote:
            if src[index] == "&":
                char, end = self.decode_entity(index)
                if char is not None:
                    value.append(char)
                    index = end
                    continue
                if self.strict:
                    self.refuse_ampersand(index)
            value.append(src[index])
            index += 1
        if index < len(src):
            index += 1  # the closing quote
        return "".join(value), index

    @staticmethod
    def remember_argument(tag: _OpenTag, attribute: str, value: str) -> None:
        if tag.name == "a" and attribute == "href":
            tag.argument = value
        elif tag.name == "code" and attribute == "class" and value.startswith("language-"):
            tag.argument = value.removeprefix("language-")
        elif tag.name == "span" and attribute == "class" and value.startswith("tg-"):
            tag.argument = value.removeprefix("tg-")
        elif tag.name == "tg-emoji" and attribute == "emoji-id":
            tag.argument = value

    def end_tag(self) -> None:
        src, begin = self.src, self.pos
        if not self.stack:
            raise self.error("Unexpected end tag", begin)
        index = begin + 2
        while index < len(src) and src[index] not in _SPACES and src[index] != ">":
            index += 1
        end_name = src[begin + 2 : index].lower()
        index = self.skip_spaces(index)
        if index >= len(src) or src[index] != ">":
            raise self.error("Unclosed end tag", begin)
        tag = self.stack[-1]
        if end_name and end_name != tag.name:
            raise self.error(
                "Unmatched end tag", begin, f', expected "</{tag.name}>", found "</{end_name}>"'
            )
        self.stack.pop()
        self.close(tag)
        self.pos = index + 1

    def close(self, tag: _OpenTag) -> None:
        length = self.utf16 - tag.offset
        if length <= 0:
            return
        span = {"offset": tag.offset, "length": length}
        last = self.entities[-1] if self.entities else None
        same_span = last is not None and (last["offset"], last["length"]) == (tag.offset, length)
        if tag.name in _SIMPLE_ENTITY:
            self.entities.append({"type": _SIMPLE_ENTITY[tag.name], **span})
        elif tag.name == "tg-emoji":
            if not tag.argument.lstrip("-").isdigit() or int(tag.argument) == 0:
                raise TelegramHtmlError("Invalid custom emoji identifier specified")
            self.entities.append({"type": "custom_emoji", **span, "custom_emoji_id": tag.argument})
        elif tag.name == "a":
            url = tag.argument or "".join(self.parts[tag.first_part :])
            self.entities.append({"type": "text_link", **span, "url": url})
        elif tag.name == "pre":
            if same_span and last["type"] == "code":  # type: ignore[index]
                # <pre><code class="language-x">: one pre entity; code cannot nest in pre.
                last["type"] = "pre"  # type: ignore[index]
                if not last.get("language"):  # type: ignore[union-attr]
                    last.pop("language", None)  # type: ignore[union-attr]
            else:
                self.entities.append({"type": "pre", **span})
        elif tag.name == "code":
            if same_span and last["type"] == "pre" and tag.argument:  # type: ignore[index]
                last["language"] = tag.argument  # type: ignore[index]
            else:
                self.entities.append({"type": "code", **span, "language": tag.argument})
        else:  # blockquote
            kind = "expandable_blockquote" if tag.expandable else "blockquote"
            self.entities.append({"type": kind, **span})


def parse_telegram_html(
    source: str, *, strict_entities: bool = True
) -> tuple[str, list[dict[str, Any]]]:
    """Visible text and ``MessageEntity`` dicts for ``parse_mode=HTML``, as Telegram parses it.

    Raises ``TelegramHtmlError`` with Telegram's own wording (see the module docstring for the
    two strict-mode additions).
    """
    return _HtmlParser(source, strict_entities).run()


def _trim(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Telegram drops leading and trailing whitespace from a message, entities following."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    lead = utf16_length(text[: len(text) - len(text.lstrip())])
    size = utf16_length(stripped)
    kept = []
    for entity in entities:
        start = max(0, entity["offset"] - lead)
        end = min(size, entity["offset"] + entity["length"] - lead)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return stripped, kept


# --------------------------------------------------------------------------- records


@dataclass
class TelegramCall:
    """One request as the fake saw it, and how it answered (``status`` None: left hanging)."""

    method: str
    params: dict[str, Any]
    time: float
    chat_id: int | str | None
    status: int | None = None
    response: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200


@dataclass
class SentMessage:
    """A message the bot sent: ``text`` as sent (HTML source), ``plain_text`` as displayed."""

    chat_id: int
    message_id: int
    text: str
    plain_text: str
    parse_mode: str | None
    entities: list[dict[str, Any]]
    reply_markup: dict[str, Any] | None
    message_thread_id: int | None
    time: float
    json: dict[str, Any]


@dataclass
class SentDocument:
    """A file the bot uploaded with sendDocument (``/export``)."""

    chat_id: int
    message_id: int
    filename: str
    content: bytes
    mime_type: str | None
    caption: str | None
    time: float


class _Refusal(Exception):
    """An error answer: raised anywhere in a handler, turned into Telegram's JSON once."""

    def __init__(self, code: int, description: str, **parameters: Any) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


@dataclass
class _TransportFault:
    kind: str  # "fail" or "hang"
    remaining: int
    status: int = 500
    method: str | None = None


_INT_PARAMS = frozenset(
    {"message_id", "message_thread_id", "offset", "limit", "timeout", "user_id"}
)
_JSON_PARAMS = frozenset(
    {"reply_markup", "commands", "scope", "allowed_updates", "entities", "caption_entities"}
)
_BOOL_PARAMS = frozenset(
    {"disable_notification", "protect_content", "show_alert", "drop_pending_updates"}
)


def _coerce(name: str, value: Any) -> Any:
    """Form bodies carry strings; give every parameter the type a JSON body would carry."""
    if not isinstance(value, str):
        return value
    if name == "chat_id":
        return int(value) if re.fullmatch(r"-?\d+", value) else value
    if name in _INT_PARAMS and re.fullmatch(r"-?\d+", value):
        return int(value)
    if name in _JSON_PARAMS:
        with suppress(ValueError):
            return json.loads(value)
    if name in _BOOL_PARAMS:
        return value.lower() in {"true", "1"}
    return value


def _command_entities(text: str) -> list[dict[str, Any]]:
    """Telegram marks a leading ``/command`` so that PTB's CommandHandler recognises it."""
    match = re.match(r"/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]+)?", text)
    if match is None:
        return []
    return [{"type": "bot_command", "offset": 0, "length": utf16_length(match.group())}]


# --------------------------------------------------------------------------- update builder


class UpdateBuilder:
    """Incoming updates shaped as Telegram sends them, with ids from the server's counters.

    Builders only build; queue with ``server.push_update`` or send with ``post_update_to``.
    """

    def __init__(self, server: FakeTelegramServer) -> None:
        self._server = server

    @staticmethod
    def user(user_id: int, first_name: str | None = None, **extra: Any) -> dict[str, Any]:
        return {
            "id": user_id,
            "is_bot": False,
            "first_name": first_name or f"User{user_id}",
            "language_code": "en",
            **extra,
        }

    def _update(self, **payload: Any) -> dict[str, Any]:
        return {"update_id": self._server.next_update_id(), **payload}

    def _incoming(
        self, chat: dict[str, Any], text: str | None, from_id: int | None, **extra: Any
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": self._server.next_message_id(chat["id"]),
            "date": int(time.time()),
            "chat": chat,
            **extra,
        }
        if text is not None:
            message["text"] = text
        if entities := _command_entities(text or ""):
            message["entities"] = entities
        if chat["type"] == "channel":
            message["sender_chat"] = chat
            return self._update(channel_post=message)
        message["from"] = self.user(from_id if from_id is not None else abs(chat["id"]))
        return self._update(message=message)

    def private_message(self, user_id: int, text: str) -> dict[str, Any]:
        chat = self._server.add_chat(user_id, "private")
        return self._incoming(chat, text, user_id)

    def group_message(self, chat_id: int, text: str, *, from_id: int) -> dict[str, Any]:
        return self._incoming(self._server.add_chat(chat_id, "group"), text, from_id)

    def supergroup_message(self, chat_id: int, text: str, *, from_id: int) -> dict[str, Any]:
        return self._incoming(self._server.add_chat(chat_id, "supergroup"), text, from_id)

    def channel_post(self, chat_id: int, text: str) -> dict[str, Any]:
        return self._incoming(self._server.add_chat(chat_id, "channel"), text, None)

    def topic_message(
        self, chat_id: int, thread_id: int, text: str, *, from_id: int
    ) -> dict[str, Any]:
        """A message in a forum topic: a supergroup with ``is_forum`` and a thread id."""
        chat = self._server.add_chat(chat_id, "supergroup", is_forum=True)
        return self._incoming(
            chat, text, from_id, message_thread_id=thread_id, is_topic_message=True
        )

    def callback_query(
        self,
        chat_id: int,
        data: str,
        *,
        from_id: int | None = None,
        message_id: int | None = None,
        query_id: str | None = None,
    ) -> dict[str, Any]:
        """A press on an inline button under a bot message (an existing one if ``message_id``)."""
        server = self._server
        chat = server.add_chat(chat_id)
        message = dict(server.messages.get((chat["id"], message_id or 0)) or {})
        if not message:
            message = {
                "message_id": message_id or server.next_message_id(chat["id"]),
                "date": int(time.time()),
                "chat": chat,
                "from": server.bot_user,
                "text": "…",
            }
        user_id = from_id if from_id is not None else abs(chat["id"])
        query = {
            "id": query_id or f"{server.next_update_id()}{user_id}",
            "from": self.user(user_id),
            "chat_instance": str(abs(chat["id"]) * 7919),
            "message": message,
            "data": data,
        }
        return self._update(callback_query=query)

    def my_chat_member(
        self, chat_id: int, *, from_id: int, old_status: str, new_status: str
    ) -> dict[str, Any]:
        """The bot's own membership changing: added, removed, blocked, promoted."""
        chat = self._server.add_chat(chat_id)

        def member(status: str) -> dict[str, Any]:
            body: dict[str, Any] = {"status": status, "user": self._server.bot_user}
            if status == "kicked":
                body["until_date"] = 0
            if status == "administrator":
                body.update(dict.fromkeys(_ADMIN_RIGHTS, True), can_be_edited=False)
                body["is_anonymous"] = False
            return body

        return self._update(
            my_chat_member={
                "chat": chat,
                "from": self.user(from_id),
                "date": int(time.time()),
                "old_chat_member": member(old_status),
                "new_chat_member": member(new_status),
            }
        )

    def bot_added(self, chat_id: int, *, by: int, as_admin: bool = False) -> dict[str, Any]:
        new = "administrator" if as_admin else "member"
        return self.my_chat_member(chat_id, from_id=by, old_status="left", new_status=new)

    def bot_removed(self, chat_id: int, *, by: int) -> dict[str, Any]:
        return self.my_chat_member(chat_id, from_id=by, old_status="member", new_status="left")

    def bot_blocked(self, user_id: int) -> dict[str, Any]:
        self._server.add_chat(user_id, "private")
        return self.my_chat_member(
            user_id, from_id=user_id, old_status="member", new_status="kicked"
        )

    def bot_unblocked(self, user_id: int) -> dict[str, Any]:
        self._server.add_chat(user_id, "private")
        return self.my_chat_member(
            user_id, from_id=user_id, old_status="kicked", new_status="member"
        )

    def migration(self, old_id: int, new_id: int, *, by: int = 1) -> list[dict[str, Any]]:
        """The two service messages Telegram sends when a group becomes a supergroup."""
        old = self._server.add_chat(old_id, "group")
        new = self._server.add_chat(new_id, "supergroup", title=old.get("title"))
        return [
            self._incoming(old, None, by, migrate_to_chat_id=new_id),
            self._incoming(new, None, by, migrate_from_chat_id=old_id),
        ]


_ADMIN_RIGHTS = (
    *("can_manage_chat", "can_delete_messages", "can_manage_video_chats"),
    *("can_restrict_members", "can_promote_members", "can_change_info", "can_invite_users"),
    *("can_post_stories", "can_edit_stories", "can_delete_stories", "can_pin_messages"),
)


# --------------------------------------------------------------------------- the server


def _infer_chat_type(chat_id: int) -> str:
    """Telegram's id ranges: users positive, basic groups small negative, the rest -100…."""
    if chat_id > 0:
        return "private"
    return "supergroup" if chat_id <= -1_000_000_000_000 else "group"


def _inline_markup(markup: Any) -> dict[str, Any] | None:
    """Only an inline keyboard is attached to the sent message; reply keyboards are not."""
    if isinstance(markup, dict) and "inline_keyboard" in markup:
        return markup
    return None


def _server_error(status: int) -> web.Response:
    """500 comes from the Bot API as JSON; 502/503/504 come from its proxy as an HTML page."""
    if status == 500:
        body = {"ok": False, "error_code": 500, "description": "Internal Server Error"}
        return web.json_response(body, status=500)
    page = f"<html><head><title>{status}</title></head><body><center>{status}</center></body>"
    return web.Response(status=status, text=page + "</html>", content_type="text/html")


class FakeTelegramServer:
    """The Bot API on ``127.0.0.1:<ephemeral port>``; an async context manager.

    Inspect ``calls``, ``sent_messages()``, ``sent_documents()``, ``messages`` and
    ``rate_limited``; inject faults with ``block``/``kick``/``deactivate``/``migrate``/``lose``
    (per chat) and ``fail_next``/``hang_next`` (per request); feed updates with
    ``push_update(build.private_message(...))`` or ``post_update_to(url, update)``.
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        limits: TelegramLimits | None = None,
        clock: Callable[[], float] = time.monotonic,
        strict_entities: bool = True,
        bot_username: str = "signpost_test_bot",
        port: int = 0,
    ) -> None:
        self.token = token
        self.limits = limits or TelegramLimits()
        self.clock = clock
        self.strict_entities = strict_entities
        bot_id, _, _ = token.partition(":")
        self.bot_user: dict[str, Any] = {
            "id": int(bot_id) if bot_id.isdigit() else 123456789,
            "is_bot": True,
            "first_name": "Signpost (test)",
            "username": bot_username,
        }
        self.build = UpdateBuilder(self)
        self.calls: list[TelegramCall] = []
        self.rate_limited = 0
        self.chats: dict[int, dict[str, Any]] = {}
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.webhook: dict[str, Any] | None = None
        self.admins: dict[int, set[int]] = {}
        self.owners: dict[int, int] = {}
        self.port = port  # 0: an ephemeral port, known once started
        self._sent: list[SentMessage] = []
        self._documents: list[SentDocument] = []
        self._updates: list[dict[str, Any]] = []
        self._update_id = 0
        self._message_ids: dict[int, int] = {}
        self._chat_faults: dict[int, _Refusal] = {}
        self._transport_faults: list[_TransportFault] = []
        self._buckets: dict[object, TokenBucket] = {}
        self._callback_queries: dict[str, float] = {}
        self._deleted_topics: set[tuple[int, int]] = set()
        self._poll_generation = 0
        self._updates_changed = asyncio.Event()
        self._released = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._handlers: dict[str, Callable[..., Any]] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "getChatMember": self._get_chat_member,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "answerCallbackQuery": self._answer_callback_query,
            "deleteMessage": self._delete_message,
            "sendDocument": self._send_document,
        }
        self._canonical = {name.lower(): name for name in self._handlers}

    # ----------------------------------------------------------------- lifecycle

    @property
    def base_url(self) -> str:
        """PTB's ``base_url`` form: the token is appended to it."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    async def start(self) -> None:
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def close(self) -> None:
        """Releases hanging requests and pending long polls, then stops listening."""
        self._released.set()
        self._wake_pollers()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTelegramServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # ----------------------------------------------------------------- fault injection

    def block(self, chat_id: int) -> None:
        """The user blocked the bot: every call about this chat is 403."""
        self._chat_faults[chat_id] = _Refusal(403, "Forbidden: bot was blocked by the user")

    def kick(self, chat_id: int) -> None:
        """The bot was removed from the group, supergroup or channel."""
        kind = self.add_chat(chat_id)["type"]
        description = (
            "Forbidden: bot is not a member of the channel chat"
            if kind == "channel"
            else f"Forbidden: bot was kicked from the {kind} chat"
        )
        self._chat_faults[chat_id] = _Refusal(403, description)

    def deactivate(self, chat_id: int) -> None:
        """The user deleted their account."""
        self._chat_faults[chat_id] = _Refusal(403, "Forbidden: user is deactivated")

    def migrate(self, chat_id: int, new_chat_id: int) -> None:
        """The group became a supergroup: the old id answers 400 naming the new one."""
        old = self.add_chat(chat_id, "group")
        self.add_chat(new_chat_id, "supergroup", title=old.get("title"))
        self._chat_faults[chat_id] = _Refusal(
            400,
            "Bad Request: group chat was upgraded to a supergroup chat",
            migrate_to_chat_id=new_chat_id,
        )

    def lose(self, chat_id: int) -> None:
        """The chat is unknown to Telegram (deleted, or an id that never existed)."""
        self._chat_faults[chat_id] = _Refusal(400, "Bad Request: chat not found")

    def restore(self, chat_id: int) -> None:
        """Undoes ``block``/``kick``/``deactivate``/``migrate``/``lose`` for this chat."""
        self._chat_faults.pop(chat_id, None)

    def delete_topic(self, chat_id: int, thread_id: int) -> None:
        self._deleted_topics.add((chat_id, thread_id))

    def fail_next(self, n: int = 1, status: int = 500, *, method: str | None = None) -> None:
        """The next ``n`` requests (to ``method``, or any) answer ``status`` (500, 502, …)."""
        if status < 500:
            raise ValueError("fail_next injects server errors; use block/kick/... for 4xx")
        self._transport_faults.append(_TransportFault("fail", n, status, method))

    def hang_next(self, n: int = 1, *, method: str | None = None) -> None:
        """The next ``n`` requests get no answer until the server closes: client timeouts."""
        self._transport_faults.append(_TransportFault("hang", n, method=method))

    def expire_callback_query(self, query_id: str) -> None:
        self._callback_queries.pop(query_id, None)

    def set_admins(
        self, chat_id: int, user_ids: Iterable[int], *, owner: int | None = None
    ) -> None:
        """Who getChatMember reports as administrator (and creator) of this chat."""
        self.admins[chat_id] = set(user_ids)
        if owner is not None:
            self.owners[chat_id] = owner

    # ----------------------------------------------------------------- chats and updates

    def add_chat(
        self,
        chat_id: int,
        kind: str | None = None,
        *,
        title: str | None = None,
        username: str | None = None,
        is_forum: bool = False,
    ) -> dict[str, Any]:
        """Registers (or refines) a chat; unknown ids are created with the type their range
        implies, so a test only needs this for channels, forums and usernames."""
        chat = self.chats.get(chat_id)
        if chat is None:
            chat = {"id": chat_id, "type": kind or _infer_chat_type(chat_id)}
            if chat["type"] == "private":
                chat["first_name"] = f"User{chat_id}"
            self.chats[chat_id] = chat
        elif kind is not None:
            chat["type"] = kind
        if chat["type"] != "private":
            chat["title"] = title or chat.get("title") or f"Chat {chat_id}"
        if username:
            chat["username"] = username
        if is_forum:
            chat["is_forum"] = True
        return chat

    def next_update_id(self) -> int:
        self._update_id += 1
        return self._update_id

    def next_message_id(self, chat_id: int) -> int:
        """Message ids increase per chat, shared by the users' and the bot's messages."""
        self._message_ids[chat_id] = self._message_ids.get(chat_id, 0) + 1
        return self._message_ids[chat_id]

    def push_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queues an update for getUpdates (giving it an ``update_id`` if it has none)."""
        update.setdefault("update_id", self.next_update_id())
        self._update_id = max(self._update_id, update["update_id"])
        self._remember_callback_query(update)
        self._updates.append(update)
        self._wake_pollers()
        return update

    def push_updates(self, updates: Iterable[dict[str, Any]]) -> None:
        for update in updates:
            self.push_update(update)

    async def post_update_to(
        self, url: str, update: dict[str, Any], secret_token: str | None = None
    ) -> int:
        """Webhook mode: POSTs ``update`` to the bot as Telegram would; returns the status."""
        update.setdefault("update_id", self.next_update_id())
        self._remember_callback_query(update)
        return await post_update_to(url, update, secret_token)

    def _remember_callback_query(self, update: dict[str, Any]) -> None:
        if "callback_query" in update:
            self._callback_queries[update["callback_query"]["id"]] = self.clock()

    def _wake_pollers(self) -> None:
        self._updates_changed.set()
        self._updates_changed = asyncio.Event()

    # ----------------------------------------------------------------- what happened

    def sent_messages(self, chat_id: int | None = None) -> list[SentMessage]:
        """Messages sendMessage accepted, oldest first (edits are in ``messages``)."""
        return [m for m in self._sent if chat_id is None or m.chat_id == chat_id]

    def sent_documents(self, chat_id: int | None = None) -> list[SentDocument]:
        return [d for d in self._documents if chat_id is None or d.chat_id == chat_id]

    def calls_to(self, method: str) -> list[TelegramCall]:
        return [call for call in self.calls if call.method == method]

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        return list(self._updates)

    # ----------------------------------------------------------------- HTTP plumbing

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw_method = request.match_info["method"]
        method = self._canonical.get(raw_method.lower(), raw_method)
        try:
            params, files = await self._read_params(request)
        except ValueError:  # a body that says JSON but is not
            params, files = {"_unparsable": True}, {}
        logged = dict(params)
        for name, upload in files.items():
            logged[name] = {"filename": upload.filename, "content_type": upload.content_type}
        call = TelegramCall(method, logged, self.clock(), params.get("chat_id"))
        self.calls.append(call)
        fault = self._take_transport_fault(method)
        if fault is not None and fault.kind == "hang":
            await self._released.wait()
            return web.Response(status=504, text="released at shutdown")
        if fault is not None:
            call.status = fault.status
            return _server_error(fault.status)
        try:
            if request.match_info["token"] != self.token:
                raise _Refusal(401, "Unauthorized")
            if params.get("_unparsable"):
                raise _Refusal(400, "Bad Request: can't parse JSON object")
            handler = self._handlers.get(method)
            if handler is None:
                raise _Refusal(404, "Not Found")
            body: dict[str, Any] = {"ok": True, "result": await handler(params, files)}
            status = 200
        except _Refusal as refusal:
            body, status = refusal.body(), refusal.code
        call.status, call.response = status, body
        return web.json_response(body, status=status)

    @staticmethod
    async def _read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, Any]]:
        """Query string, JSON, urlencoded or multipart: the Bot API accepts all four."""
        params: dict[str, Any] = dict(request.query)
        files: dict[str, Any] = {}
        if request.can_read_body:
            if request.content_type == "application/json":
                params.update(await request.json())
            else:
                for name, value in (await request.post()).items():
                    if isinstance(value, web.FileField):
                        files[name] = value
                    else:
                        params[name] = value
        return {name: _coerce(name, value) for name, value in params.items()}, files

    def _take_transport_fault(self, method: str) -> _TransportFault | None:
        for fault in self._transport_faults:
            if fault.remaining > 0 and fault.method in (None, method):
                fault.remaining -= 1
                return fault
        return None

    def _target_chat(self, params: dict[str, Any]) -> dict[str, Any]:
        """The chat a call is about, or the refusal a fault or a bad id calls for."""
        raw = params.get("chat_id")
        if raw is None or raw == "":
            raise _Refusal(400, "Bad Request: chat_id is empty")
        if isinstance(raw, str):
            by_name = [c for c in self.chats.values() if f"@{c.get('username')}" == raw]
            if not by_name:
                raise _Refusal(400, "Bad Request: chat not found")
            raw = by_name[0]["id"]
        if raw in self._chat_faults:
            raise self._chat_faults[raw]
        return self.add_chat(raw)

    def _check_rate(self, chat: dict[str, Any]) -> None:
        """Refuses with 429 unless every bucket involved has a token; takes them if so."""
        if not self.limits.enabled:
            return
        limits, now = self.limits, self.clock()
        if "overall" not in self._buckets:
            self._buckets["overall"] = TokenBucket(
                limits.overall_per_second, limits.overall_burst, now
            )
        if chat["id"] not in self._buckets:
            if chat["type"] == "private":
                rate, burst = limits.private_per_second, limits.private_burst
            else:
                rate, burst = limits.group_per_minute / 60, limits.group_burst
            self._buckets[chat["id"]] = TokenBucket(rate, burst, now)
        buckets = (self._buckets["overall"], self._buckets[chat["id"]])
        wait = max(bucket.wait_time(now) for bucket in buckets)
        if wait > 0:
            self.rate_limited += 1
            seconds = retry_after_seconds(wait)
            raise _Refusal(429, f"Too Many Requests: retry after {seconds}", retry_after=seconds)
        for bucket in buckets:
            bucket.take(now)

    def _render(
        self, text: Any, params: dict[str, Any], *, caption: bool = False
    ) -> tuple[str, list[dict[str, Any]]]:
        """Visible text and entities, or Telegram's refusal of the text."""
        if not caption and (text is None or text == ""):
            raise _Refusal(400, "Bad Request: message text is empty")
        mode = str(params.get("parse_mode") or "").lower()
        if mode == "html":
            try:
                plain, entities = parse_telegram_html(
                    str(text), strict_entities=self.strict_entities
                )
            except TelegramHtmlError as exc:
                raise _Refusal(400, f"Bad Request: can't parse entities: {exc}") from None
        else:
            plain = str(text)
            entities = list(params.get("caption_entities" if caption else "entities") or [])
        plain, entities = _trim(plain, entities)
        if not plain and not caption:
            raise _Refusal(400, "Bad Request: message text is empty")
        limit = MAX_CAPTION_LENGTH if caption else MAX_TEXT_LENGTH
        if utf16_length(plain) > limit:
            suffix = "caption is too long" if caption else "is too long"
            raise _Refusal(400, f"Bad Request: message {suffix}")
        return plain, entities

    def _check_thread(self, chat: dict[str, Any], params: dict[str, Any]) -> None:
        if (chat["id"], params.get("message_thread_id")) in self._deleted_topics:
            raise _Refusal(400, "Bad Request: message thread not found")

    def _new_message(
        self, chat: dict[str, Any], params: dict[str, Any], **content: Any
    ) -> dict[str, Any]:
        """A stored ``Message`` from the bot; content keys with empty values are left out."""
        message: dict[str, Any] = {
            "message_id": self.next_message_id(chat["id"]),
            "date": int(time.time()),
            "chat": chat,
        }
        if chat["type"] == "channel":
            message["sender_chat"] = chat
        else:
            message["from"] = self.bot_user
        thread_id = params.get("message_thread_id")
        if thread_id:
            message["message_thread_id"] = thread_id
            if chat.get("is_forum"):
                message["is_topic_message"] = True
        message.update({key: value for key, value in content.items() if value})
        self.messages[(chat["id"], message["message_id"])] = message
        return message

    def _existing(self, chat: dict[str, Any], params: dict[str, Any], what: str) -> dict[str, Any]:
        message = self.messages.get((chat["id"], params.get("message_id", 0)))
        if message is None:
            raise _Refusal(400, f"Bad Request: message to {what} not found")
        return message

    # ----------------------------------------------------------------- Bot API methods

    async def _get_me(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _get_updates(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        """Long polling: confirm below ``offset``, then wait up to ``timeout`` for updates."""
        if self.webhook is not None:
            raise _Refusal(409, WEBHOOK_CONFLICT)
        self._poll_generation += 1
        generation = self._poll_generation
        self._wake_pollers()  # an earlier poller learns it has been superseded
        offset = params.get("offset")
        if isinstance(offset, int) and offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif isinstance(offset, int) and offset < 0:
            self._updates = self._updates[offset:]
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        allowed = set(params.get("allowed_updates") or ())
        if allowed:
            self._updates = [u for u in self._updates if allowed & set(u) - {"update_id"}]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + float(params.get("timeout") or 0)
        while True:
            if generation != self._poll_generation:
                raise _Refusal(409, POLLING_CONFLICT)
            if self._updates or self._released.is_set():
                return self._updates[:limit]
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            with suppress(TimeoutError):
                await asyncio.wait_for(self._updates_changed.wait(), remaining)

    async def _set_webhook(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        url = params.get("url") or ""
        if not url:
            self.webhook = None
            return True
        if not url.startswith(("https://", "http://")):
            raise _Refusal(400, "Bad Request: bad webhook: Failed to resolve host")
        self.webhook = {
            "url": url,
            "secret_token": params.get("secret_token"),
            "allowed_updates": params.get("allowed_updates"),
        }
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _delete_webhook(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        self.webhook = None
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _get_webhook_info(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        return {
            "url": (self.webhook or {}).get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    @staticmethod
    def _commands_key(params: dict[str, Any]) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    async def _set_my_commands(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _Refusal(400, "Bad Request: can't parse commands JSON object")
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(command.get("command", ""))):
                raise _Refusal(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise _Refusal(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[self._commands_key(params)] = commands
        return True

    async def _get_my_commands(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        return self.commands.get(self._commands_key(params), [])

    async def _delete_my_commands(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        self.commands.pop(self._commands_key(params), None)
        return True

    async def _get_chat_member(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        chat = self._target_chat(params)
        user_id = params.get("user_id")
        if not isinstance(user_id, int):
            raise _Refusal(400, "Bad Request: invalid user_id specified")
        user = self.bot_user if user_id == self.bot_user["id"] else UpdateBuilder.user(user_id)
        if self.owners.get(chat["id"]) == user_id:
            return {"status": "creator", "user": user, "is_anonymous": False}
        is_admin = user_id in self.admins.get(chat["id"], ())
        if is_admin or (user_id == self.bot_user["id"] and chat["type"] == "channel"):
            rights = dict.fromkeys(_ADMIN_RIGHTS, True)
            return {
                "status": "administrator",
                "user": user,
                "can_be_edited": False,
                "is_anonymous": False,
                **rights,
            }
        return {"status": "member", "user": user}

    async def _send_message(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        chat = self._target_chat(params)
        plain, entities = self._render(params.get("text"), params)
        self._check_thread(chat, params)
        self._check_rate(chat)
        markup = _inline_markup(params.get("reply_markup"))
        message = self._new_message(
            chat, params, text=plain, entities=entities, reply_markup=markup
        )
        self._sent.append(
            SentMessage(
                chat_id=chat["id"],
                message_id=message["message_id"],
                text=str(params["text"]),
                plain_text=plain,
                parse_mode=params.get("parse_mode"),
                entities=entities,
                reply_markup=markup,
                message_thread_id=params.get("message_thread_id"),
                time=self.clock(),
                json=message,
            )
        )
        return message

    async def _edit_message_text(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        chat = self._target_chat(params)
        message = self._existing(chat, params, "edit")
        plain, entities = self._render(params.get("text"), params)
        markup = _inline_markup(params.get("reply_markup"))
        unchanged = (
            message.get("text") == plain
            and message.get("entities", []) == entities
            and message.get("reply_markup") == markup
        )
        if unchanged:
            raise _Refusal(400, NOT_MODIFIED)
        message["text"] = plain
        _set_or_drop(message, "entities", entities)
        _set_or_drop(message, "reply_markup", markup)  # no markup given removes the keyboard
        message["edit_date"] = int(time.time())
        return message

    async def _edit_message_reply_markup(
        self, params: dict[str, Any], files: dict[str, Any]
    ) -> Any:
        chat = self._target_chat(params)
        message = self._existing(chat, params, "edit")
        markup = _inline_markup(params.get("reply_markup"))
        if message.get("reply_markup") == markup:
            raise _Refusal(400, NOT_MODIFIED)
        _set_or_drop(message, "reply_markup", markup)
        message["edit_date"] = int(time.time())
        return message

    async def _delete_message(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        chat = self._target_chat(params)
        self._existing(chat, params, "delete")
        del self.messages[(chat["id"], params["message_id"])]
        return True

    async def _answer_callback_query(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        """A query can be answered once, within ``limits.callback_query_ttl`` of the press."""
        issued = self._callback_queries.pop(str(params.get("callback_query_id")), None)
        if issued is None or self.clock() - issued > self.limits.callback_query_ttl:
            raise _Refusal(400, QUERY_TOO_OLD)
        return True

    async def _send_document(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        chat = self._target_chat(params)
        upload = files.get("document")
        if upload is None and not params.get("document"):
            raise _Refusal(400, "Bad Request: there is no document in the request")
        caption, caption_entities = "", []
        if params.get("caption"):
            caption, caption_entities = self._render(params["caption"], params, caption=True)
        self._check_thread(chat, params)
        self._check_rate(chat)
        if upload is not None:
            content, filename = upload.file.read(), upload.filename
            mime_type = upload.content_type
        else:  # a file_id or URL of a file Telegram already has
            content, filename, mime_type = b"", str(params["document"]), None
        message_id = self._message_ids.get(chat["id"], 0) + 1
        document = {
            "file_id": f"BQAC-{chat['id']}-{message_id}",
            "file_unique_id": f"AgAD{message_id}",
            "file_name": filename,
            "file_size": len(content),
        }
        if mime_type:
            document["mime_type"] = mime_type
        message = self._new_message(
            chat, params, document=document, caption=caption, caption_entities=caption_entities
        )
        self._documents.append(
            SentDocument(
                chat["id"],
                message["message_id"],
                filename,
                content,
                mime_type,
                params.get("caption"),
                self.clock(),
            )
        )
        return message


def _set_or_drop(message: dict[str, Any], key: str, value: Any) -> None:
    if value:
        message[key] = value
    else:
        message.pop(key, None)


# --------------------------------------------------------------------------- client side


async def post_update_to(url: str, update: dict[str, Any], secret_token: str | None = None) -> int:
    """POSTs an update to a bot's webhook the way Telegram does; returns the HTTP status."""
    headers = {"Content-Type": "application/json"}
    if secret_token is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret_token
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=json.dumps(update), headers=headers) as response,
    ):
        await response.read()
        return response.status


@asynccontextmanager
async def telegram_bot(server: FakeTelegramServer, **request_options: Any) -> AsyncIterator[Any]:
    """An initialised PTB ``Bot`` pointed at ``server`` (``request_options`` go to both of its
    ``HTTPXRequest``s, e.g. ``read_timeout=0.2`` for hang tests)."""
    from telegram import Bot
    from telegram.request import HTTPXRequest

    def request() -> HTTPXRequest | None:
        return HTTPXRequest(**request_options) if request_options else None

    bot = Bot(
        server.token,
        base_url=server.base_url,
        base_file_url=server.base_file_url,
        request=request(),
        get_updates_request=request(),
    )
    async with bot:
        yield bot
