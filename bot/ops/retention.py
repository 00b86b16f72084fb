"""Retention: finished outbox rows are deleted once they are ``days`` old (180 by default).

A delivered message's row is worth keeping for a while: ``/export`` shows a chat what it was
sent, an update is threaded under the first alert's platform message id, and the row's unique
``dedupe_key`` stops a replayed poll or job from queuing the same message twice. None of that
matters after six months: the keys of old rows are never produced again (``new:<id>`` is
queued only when an opportunity is first stored; digests, reminders, reports and the term of
the week carry their date), so keeping them would only keep a record of who was told what.

Rows still to be sent (``held``, ``pending``, ``leased``) are never deleted, however old.
Chats, subscriptions and tracked deadlines are kept until ``/forget``; opportunities (public
information) are kept.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.clock import Clock
from storage.store import Store

__all__ = ["DEFAULT_DAYS", "FINISHED", "prune"]

log = logging.getLogger("signpost.retention")

DEFAULT_DAYS = 180
FINISHED = ("sent", "dead", "cancelled", "digested")


async def prune(store: Store, clock: Clock, days: int = DEFAULT_DAYS) -> int:
    """Delete finished outbox rows queued more than ``days`` ago; return how many."""
    if days < 1:
        raise ValueError(f"retention must be at least one day, not {days}")
    cutoff = clock.now() - timedelta(days=days)
    async with store.unit() as unit:
        deleted = await unit.outbox.prune(cutoff, FINISHED)
    if deleted:
        log.info("retention: deleted %d finished outbox rows older than %d days", deleted, days)
    return deleted
