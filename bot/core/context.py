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
