"""From parsed items to queued alerts, in one transaction per batch.

normalise (status against the clock) -> enrich (topics, roles, flags, glossary terms,
search text) -> upsert with change detection -> match new items against the subscription
index -> outbox rows (and tracking rows) in the same transaction, so a crash can neither
lose an alert nor queue one twice.

Alerts are queued once the whole poll is stored, so that a flood (``bot.core.floods``) can
be told from a normal poll first: a source bringing far more new items than usual is held
(items stored, no alerts), and no chat gets more than ten instant alerts from one poll.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy import text as sql

from bot.clock import Clock
from bot.core import floods
from bot.core.glossary import Glossary
from bot.core.matching import Match, SubscriptionIndex
from bot.core.model import Opportunity
from bot.core.status import status_at
from bot.core.tagging import enrich
from bot.core.taxonomy import Taxonomy
from sources.base import Source
from sources.poller import IngestStats
from sources.scrub import scrub_item
from storage.store import Store, Unit

log = logging.getLogger("signpost.pipeline")

URGENT_WITHIN = timedelta(days=7)
PREPARE_BATCH = 50  # items tagged between two turns of the event loop (a few ms of CPU)


@dataclass(slots=True)
class Vocabulary:
    """The taxonomy and glossary the pipeline tags with; loaded once per process."""

    taxonomy: Taxonomy
    glossary: Glossary
    glossary_file: Path | None = None

    @classmethod
    def load(cls, glossary_file: Path | None = None, extra: Iterable = ()) -> Vocabulary:
        """The packaged taxonomy and glossary; an operator's override file and admins' terms
        from the database replace or add glossary entries by slug."""
        return cls(Taxonomy.load(), Glossary.load(glossary_file, extra), glossary_file)

    def reload_glossary(self, extra: Iterable) -> None:
        """Take admins' terms into account without a restart (or a release)."""
        self.glossary = Glossary.load(self.glossary_file, extra)

    def topic_labels(self) -> dict[str, str]:
        return {topic.slug: topic.label for topic in self.taxonomy.topics}


def topic_token(slug: str) -> str:
    """One indexed word standing for a topic ("topicmentalhealth"): a search that names a
    topic finds every item tagged with it through this word alone, instead of OR-ing all
    the topic's synonyms (which the tagger already looked for), at a fraction of the cost."""
    return "topic" + "".join(ch for ch in slug if ch.isalnum())


def search_text(item: Opportunity, vocabulary: Vocabulary) -> str:
    """Funders, topic labels and tokens, and eligibility: found by search, not displayed."""
    words = list(item.funders)
    for slug in item.topics:
        topic = vocabulary.taxonomy.get(slug)
        if topic is not None:
            words += [topic.label, topic_token(slug)]
    words.append(item.eligibility)
    return " ".join(w for w in words if w)


def prepare(item: Opportunity, source: Source, vocabulary: Vocabulary, clock: Clock) -> str:
    """Normalise and enrich ``item`` in place; return its search text."""
    config = source.config
    item.topics = sorted(set(item.topics) | set(config.topics))
    if config.funders and not item.funders:
        item.funders = list(config.funders)
    item.status = status_at(item, clock.now())
    enrich(item, vocabulary.taxonomy)
    text = " ".join((item.title, item.summary, item.eligibility))
    # Funder names already show in the alert; the notes explain the jargon instead.
    found = vocabulary.glossary.find_in_text(text, limit=3, groups=("research", "vcse"))
    item.glossary_terms = [e.slug for e in found]
    return search_text(item, vocabulary)


def _matters(change: str, item: Opportunity) -> bool:
    """A moved deadline, a (re)opening, or a new opening date for what is not open yet."""
    if change == "closes_at" or change.endswith("->open"):
        return True
    return change == "opens_at" and item.status != "open"


async def _open_transaction(unit: Unit) -> None:
    """Make sure the unit's transaction is open before the first savepoint. SQLite's driver
    opens it just before the first write, so a SAVEPOINT ahead of that opens one of its own
    and its RELEASE commits what the batch wrote so far; a write that changes no row opens
    the real one first. (Opening it in the engine for every unit instead makes concurrent
    read-then-write units fail with "database is locked".)"""
    if unit.session.get_bind().dialect.name == "sqlite":
        await unit.session.execute(sql("UPDATE opportunities SET id = id WHERE 0 = 1"))


@dataclass(slots=True)
class _Poll:
    """What one poll's upserts found, to be alerted once the flood guard has looked."""

    new: list[Opportunity] = field(default_factory=list)
    changed: list[tuple[Opportunity, list[str]]] = field(default_factory=list)


class Ingestor:
    """The ``ingest`` callable the poller hands each source's items to."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        vocabulary: Vocabulary,
        *,
        admins: Iterable[tuple[str, str]] = (),
    ) -> None:
        self.store = store
        self.clock = clock
        self.vocabulary = vocabulary
        self.admins = frozenset(admins)  # told when a source is held after a flood
        self._index: SubscriptionIndex | None = None
        self._index_version: tuple | None = None

    async def index(self, unit: Unit) -> SubscriptionIndex:
        """The subscription index, rebuilt only when subscriptions or chats changed."""
        version = await unit.chats.subscription_version()
        if self._index is None or version != self._index_version:
            subscriptions = await unit.chats.active_subscriptions()
            self._index = SubscriptionIndex(subscriptions, self.vocabulary.topic_labels())
            self._index_version = version
        return self._index

    async def __call__(self, source: Source, items: list[Opportunity]) -> IngestStats:
        """Store ``items``, each on its own: one that cannot be prepared or stored is skipped
        (counted, its first error kept, logged once per call) and the rest are stored. Each
        item has a savepoint, because on PostgreSQL a failed statement would otherwise
        abort the whole batch's transaction."""
        stats = IngestStats()
        now = self.clock.now()
        prepared = []
        for count, item in enumerate(items, 1):
            try:
                scrub_item(item)
                prepared.append((item, prepare(item, source, self.vocabulary, self.clock)))
            except Exception as exc:  # one bad item must not cost its siblings
                stats.skip(item.external_id, exc)
            if count % PREPARE_BATCH == 0:
                await asyncio.sleep(0)  # tagging is CPU on the loop: let commands in between
        poll = _Poll()
        async with self.store.unit() as unit:
            index = await self.index(unit)
            await _open_transaction(unit)
            for item, text in prepared:
                try:
                    async with unit.session.begin_nested():
                        outcome = await self._store(unit, item, text, now, poll)
                except Exception as exc:
                    stats.skip(item.external_id, exc)
                    continue
                setattr(stats, outcome, getattr(stats, outcome) + 1)
            await self.alert(unit, source, poll, stats.new, index)
        if stats.skipped:
            log.warning(
                "%s: %d of %d items skipped; first: %s",
                source.name,
                stats.skipped,
                len(items),
                stats.first_error,
            )
        return stats

    async def _store(self, unit: Unit, item: Opportunity, text: str, now, poll: _Poll) -> str:
        """Upsert one item and note what it means for chats (alerted once the whole poll is
        stored, so the flood guard sees it first); returns the upsert's outcome."""
        result = await unit.opportunities.upsert(item, now=now, search_text=text)
        item.id = result.id
        if result.outcome == "new":
            if result.duplicate_of_id is None:
                poll.new.append(item)
        elif result.outcome == "updated" and result.changes and result.duplicate_of_id is None:
            poll.changed.append((item, result.changes))
            if any(c.startswith("status:closed->") for c in result.changes):
                # First seen closed, nobody was told: now it is news to all.
                poll.new.append(item)
        return result.outcome

    async def alert(
        self, unit: Unit, source: Source, poll: _Poll, new: int, index: SubscriptionIndex
    ) -> int:
        """Queue what one stored poll calls for, unless its source is held after a flood;
        each chat's instant alerts beyond the cap go into one digest."""
        now = self.clock.now()
        if await floods.held_after(unit, source.name, new, now=now, admins=self.admins):
            log.info("source %s is held: %d new items stored, no alerts", source.name, new)
            return 0
        cap = floods.ChatCap(source.name)
        queued = 0
        for item, changes in poll.changed:
            queued += await self.queue_update(unit, item, changes, cap)
        for item in poll.new:
            queued += await self.queue_new(unit, item, index.match(item), cap)
        return queued + await cap.fold(unit, now)

    async def queue_new(
        self,
        unit: Unit,
        item: Opportunity,
        matches: list[Match],
        cap: floods.ChatCap | None = None,
    ) -> int:
        """One alert per chat, whichever of its subscriptions matched; held for a digest
        unless a subscription is instant or the deadline is within a week (or the chat had
        its fill of instant alerts from this poll: ``cap``)."""
        now = self.clock.now()
        by_chat: dict[int, list[Match]] = {}
        for match in matches:
            by_chat.setdefault(match.subscription.chat_id, []).append(match)
        urgent = item.closes_at is not None and item.closes_at - now <= URGENT_WITHIN
        queued = 0
        for chat_id, chat_matches in by_chat.items():
            instant = urgent or any(m.subscription.mode == "instant" for m in chat_matches)
            reasons: list[str] = []
            for match in chat_matches:
                reasons += [r for r in match.reasons if r not in reasons]
            # An empty list everywhere means the chat asked for no reminders.
            days = sorted({d for m in chat_matches for d in m.subscription.reminder_days})
            key, why = f"new:{item.id}", " · ".join(reasons)
            queued += await self._enqueue(
                unit,
                cap,
                instant,
                chat_id=chat_id,
                opportunity_id=item.id,
                reason="urgent" if urgent else "new",
                dedupe_key=key,
                payload={"why": why},
                now=now,
            )
            await unit.tracking.track(chat_id, item.id, now=now, reminder_days=days)
        return queued

    async def _enqueue(self, unit: Unit, cap: floods.ChatCap | None, instant: bool, **row) -> bool:
        """Queue an alert, or hold it: for a digest, or past the chat's cap for this poll,
        for the poll's one digest (``ChatCap.fold``)."""
        capped = instant and cap is not None and not cap.allow(row["chat_id"])
        queued = await unit.outbox.enqueue(**row, held=capped or not instant)
        if capped and queued:
            why = row["payload"].get("why") or "changed: " + ", ".join(row["payload"]["changes"])
            cap.fold_later(row["chat_id"], row["opportunity_id"], row["dedupe_key"], why)
        elif instant and cap is not None and not capped and not queued:
            cap.give_back(row["chat_id"])
        return queued

    async def queue_update(
        self,
        unit: Unit,
        item: Opportunity,
        changes: list[str],
        cap: floods.ChatCap | None = None,
    ) -> int:
        """Tell chats that had the original, when the change matters to them."""
        notable = [change for change in changes if _matters(change, item)]
        if not notable or item.status == "closed":
            return 0
        now = self.clock.now()
        key = hashlib.sha256(
            f"{item.closes_at}|{item.opens_at}|{item.status}".encode()
        ).hexdigest()[:16]
        queued = 0
        for chat_id in await unit.tracking.chats_tracking(item.id):
            queued += await self._enqueue(
                unit,
                cap,
                True,
                chat_id=chat_id,
                opportunity_id=item.id,
                reason="update",
                dedupe_key=f"update:{item.id}:{key}",
                payload={"changes": notable},
                now=now,
            )
        return queued
