"""The contract between the dispatcher and a platform, and the errors that cross it.

A channel declares its limits as data and sends one already-split reply; the dispatcher
turns each error into a decision. The error tree::

    DeliveryError
    ├── RetryAfter     the platform said "too many requests": wait exactly that long
    ├── ChatGone       blocked, kicked, deactivated, channel not found: pause the chat
    ├── ChatMoved      a group became a supergroup: move the chat and send again
    ├── Transient      5xx, timeouts, network: back off and retry, dead-letter after N
    └── Rejected       the platform refused this message for good (bad request)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.core.model import Chat
from bot.core.replies import Reply


class DeliveryError(Exception):
    """A send failed; subclasses say what to do about it."""


class RetryAfter(DeliveryError):
    def __init__(self, seconds: float, detail: str = "") -> None:
        super().__init__(detail or f"rate limited: retry after {seconds} s")
        self.seconds = seconds


class ChatGone(DeliveryError):
    """The chat cannot receive messages until a person acts (unblock, re-invite)."""


class ChatMoved(DeliveryError):
    def __init__(self, new_chat_id: str, detail: str = "") -> None:
        super().__init__(detail or f"chat moved to {new_chat_id}")
        self.new_chat_id = str(new_chat_id)


class Transient(DeliveryError):
    """Worth retrying later: the platform or the network had a moment."""


class Rejected(DeliveryError):
    """Retrying the same message will fail the same way."""


@dataclass(frozen=True, slots=True)
class Limits:
    """What one message may hold, as the platform documents it."""

    max_chars: int
    max_blocks: int | None = None
    max_section_chars: int | None = None


class Channel(Protocol):
    """A platform's sending side. ``send`` returns the platform ids of what it posted."""

    platform: str
    limits: Limits

    async def send(self, chat: Chat, reply: Reply) -> list[str]: ...
