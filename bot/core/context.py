"""What a command handler gets: who asked, where, and the services it may use."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bot.clock import Clock
from bot.core.model import Chat
from bot.core.pipeline import Vocabulary
from storage.store import Store

MAX_INPUT = 200  # characters of a query we read; the rest is ignored, and we say so


@dataclass(frozen=True, slots=True)
class PollProgress:
    """How far the running bot's first look at its sources has got, so that an empty answer
    says why it is empty instead of suggesting broader words."""

    total: int
    checked: int
    failed: int
    local: bool = False  # a console on someone's machine (no chat token): `make demo` helps

    def explain(self) -> str:
        """One sentence for an empty answer, or "" when the sources have had their say."""
        if self.total and self.checked < self.total:
            return (
                f"I'm still gathering opportunities: {self.checked} of {self.total} sources "
                "checked so far. Ask again in a minute."
            )
        if self.total and self.failed == self.total and self.local:
            return (
                f"Every source failed when I last polled it ({self.total} of {self.total}; "
                "is this machine offline?), so there is nothing to search yet. "
                "Run `make demo` (or `signpost demo`) to see the bot work on saved pages."
            )
        if self.total and self.failed == self.total:
            return (
                "Every source failed when I last polled it, so there is nothing to search "
                "yet; the admins are told. Please try again later."
            )
        return ""


@dataclass(slots=True)
class Services:
    """The core's dependencies, injected by the app (and by tests)."""

    store: Store
    clock: Clock
    vocabulary: Vocabulary
    admins: frozenset[tuple[str, str]] = frozenset()
    source_names: Callable[[], list[str]] = list
    poll_now: Callable[[list[str]], Awaitable[str]] | None = None
    deep_link: Callable[[str], str] | None = None
    poll_progress: Callable[[], PollProgress] | None = None  # None: no running bot behind
    # a sources.http.Fetcher (robots.txt, pace per site) for /sources discover; None: not here
    fetcher: Any = None


@dataclass(slots=True)
class Context:
    """One request: the stored chat, the user, and what they may do here.

    ``can_manage`` is decided by the transport (a private chat, or a group admin checked
    with the platform); the core only reads it.
    """

    chat: Chat
    user_id: str
    can_manage: bool = True
    is_admin: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def chat_id(self) -> int:
        assert self.chat.id is not None
        return self.chat.id
