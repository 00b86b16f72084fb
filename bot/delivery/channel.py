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

from collections.abc import Awaitable, Callable, Sequence
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


class Parts:
    """The parts (platform messages) of one split message that are out, across tries.

    A reply can become several messages; when a later one fails, the row is tried again and
    must not send the earlier ones twice. A channel calls ``next()`` before each message it
    would post (False: an earlier try sent it, skip it) and ``sent(id)`` after; ``next()``
    first has ``record`` store what is out so far, so progress survives a failure after it.
    One reply sent as one message costs no extra write.
    """

    def __init__(
        self,
        done: Sequence[str] = (),
        record: Callable[[list[str]], Awaitable[object]] | None = None,
    ) -> None:
        self.ids = list(done)  # every part sent, earlier tries included, in order
        self._skip = len(self.ids)
        self._recorded = len(self.ids)
        self._record = record
        self._position = 0

    async def next(self) -> bool:
        self._position += 1
        if self._position <= self._skip:
            return False
        if self._record is not None and len(self.ids) > self._recorded:
            await self._record(list(self.ids))
            self._recorded = len(self.ids)
        return True

    def sent(self, message_id: str) -> None:
        self.ids.append(message_id)

    def again(self) -> None:
        """The part just announced was not sent after all (it is being split smaller)."""
        self._position -= 1

    @property
    def new(self) -> list[str]:
        """The parts this try sent."""
        return self.ids[self._skip :]


class Channel(Protocol):
    """A platform's sending side. ``send`` returns the platform ids of what it posted.

    A channel that splits a reply into several messages itself takes ``parts`` (and says so
    with ``resumes_parts = True``), so a retry resumes after the last message sent; for other
    channels the dispatcher counts each reply it hands over as one part.
    """

    platform: str
    limits: Limits

    async def send(self, chat: Chat, reply: Reply) -> list[str]: ...
