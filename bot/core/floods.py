"""Floods: a source that suddenly yields far more new items than it ever has, and a chat that
would get more alerts from one poll than anyone reads.

Seen in the wild: a 20,000-event calendar queued 20,000 alerts for one chat; a feed whose
guids change every poll queued 50 alerts per poll, every poll. Two guards:

* **The source is held** when a poll's new items exceed ``max(FLOOR, FACTOR x the most its
  recent polls found)`` (``FIRST_POLL_LIMIT`` on its first poll, which is its backlog and
  starts the history). Its items are stored — search finds them — but no alert is queued
  from it until an admin says ``/sources release NAME``; admins are told once, with that
  command, in the transaction that holds it. A held poll does not enter the history, or a
  flood repeated often enough would become the usual.
* **A chat gets at most ``PER_CHAT`` instant alerts from one poll**; the rest of its matches
  from that poll are folded into one digest message queued at the same time.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from bot.core.model import Chat
from storage.store import Unit

log = logging.getLogger("signpost.floods")

FLOOR = 30  # new items one poll may always bring
FACTOR = 5  # ... or this many times the most a recent poll brought
FIRST_POLL_LIMIT = 500  # a source's first poll brings its backlog: only a flood beyond this
HISTORY = 20  # polls remembered
PER_CHAT = 10  # instant alerts one chat receives from one poll; the rest go in one digest


def flood_limit(history: list[int] | None) -> int:
    """The most new items a poll may bring before its source is held."""
    if history is None:
        return FIRST_POLL_LIMIT
    return max(FLOOR, FACTOR * max(history, default=0))


async def queue_admin_notice(
    unit: Unit, admins: Iterable[tuple[str, str]], text: str, key: str, now: datetime
) -> int:
    """A notice to every admin's private chat on their platform, in ``unit``'s transaction."""
    queued = 0
    for platform, user_id in sorted(admins):
        chat = await unit.chats.ensure(Chat(platform, user_id, kind="private"), now=now)
        queued += await unit.outbox.enqueue(
            chat_id=chat.id, reason="notice", dedupe_key=key, payload={"text": text}, now=now
        )
    return queued


async def held_after(
    unit: Unit,
    source: str,
    new: int,
    *,
    now: datetime,
    admins: Iterable[tuple[str, str]],
) -> bool:
    """Judge one poll of ``source`` that brought ``new`` new items; True when its alerts are
    to be held (it flooded now, or it was held already and no admin has released it)."""
    history, held_at = await unit.polling.new_items_history(source)
    if held_at is not None:
        return True
    limit = flood_limit(history)
    if new <= limit:
        await unit.polling.record_new_items(source, None if history is None else new, keep=HISTORY)
        return False
    if history is None:
        usual = "this was its first poll"
    else:
        usual = f"its recent polls found at most {max(history, default=0)}"
    reason = f"{new} new items in one poll, where up to {limit} were expected ({usual})"
    await unit.polling.hold(source, now=now, reason=reason)
    text = (
        f"Source {source} is held: {reason}. Its items are stored, but no alerts were sent "
        f"from it. If this is real, release it with /sources release {source} and alerts "
        "resume from its next poll."
    )
    log.warning("holding source %s: %s", source, reason)
    told = await queue_admin_notice(unit, admins, text, f"held:{source}:{now.isoformat()}", now)
    if not told:
        log.warning("source %s is held and no admin is configured to be told", source)
    return True


@dataclass(slots=True)
class ChatCap:
    """Counts one poll's instant alerts per chat; what passes ``PER_CHAT`` is folded into
    one digest per chat by ``fold``."""

    source: str
    limit: int = PER_CHAT
    counts: dict[int, int] = field(default_factory=dict)
    overflow: dict[int, list[tuple[int, str, str]]] = field(default_factory=dict)
    # A flood of matches repeats the same keys and "why" lines across thousands of chats:
    # one string each, not one per chat (a 100,000-subscription poll holds back ~10^5).
    _texts: dict[str, str] = field(default_factory=dict)

    def allow(self, chat_id: int) -> bool:
        """Take one of the chat's places; False when they are all taken."""
        taken = self.counts.get(chat_id, 0)
        if taken >= self.limit:
            return False
        self.counts[chat_id] = taken + 1
        return True

    def give_back(self, chat_id: int) -> None:
        """The alert was not queued after all (queued by an earlier poll)."""
        self.counts[chat_id] -= 1

    def fold_later(self, chat_id: int, opportunity_id: int, dedupe_key: str, why: str) -> None:
        key = self._texts.setdefault(dedupe_key, dedupe_key)
        why = self._texts.setdefault(why, why)
        self.overflow.setdefault(chat_id, []).append((opportunity_id, key, why))

    async def fold(self, unit: Unit, now: datetime) -> int:
        """One digest per chat of the alerts held back, queued now; returns how many."""
        queued = 0
        for chat_id, held in self.overflow.items():
            ids = list(dict.fromkeys(opportunity_id for opportunity_id, _, _ in held))
            whys = {str(opportunity_id): why for opportunity_id, _, why in held}
            digest = hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()[:12]
            added = await unit.outbox.enqueue(
                chat_id=chat_id,
                reason="digest",
                dedupe_key=f"flood:{self.source}:{digest}",
                payload={"ids": ids, "whys": whys, "title": f"More from {self.source}"},
                now=now,
            )
            if added:
                await unit.outbox.digest_held(chat_id, [key for _, key, _ in held])
                queued += 1
        return queued
