"""Scheduled work that queues messages: digests, reminders, the term of the week, admin
reports and closing what has passed its deadline.

Each job only writes outbox rows with unique keys, so running it twice (a restart, two
replicas) queues nothing twice; the dispatcher does the sending.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta

from bot.clock import Clock
from bot.core.floods import queue_admin_notice
from bot.core.formatting import zone
from bot.core.pipeline import URGENT_WITHIN, Vocabulary
from storage.store import Store

log = logging.getLogger("signpost.jobs")


async def close_expired(store: Store, clock: Clock) -> int:
    async with store.unit() as unit:
        closed = await unit.opportunities.close_expired(clock.now())
    return len(closed)


async def release_urgent_held(store: Store, clock: Clock) -> int:
    """A match held for a digest goes out at once when its deadline comes within a week."""
    now = clock.now()
    released = 0
    async with store.unit() as unit:
        for d in await unit.tracking.deadlines_within(now, URGENT_WITHIN):
            released += await unit.outbox.release_held(d.opportunity_id, d.chat_id, now=now)
    return released


async def queue_reminders(store: Store, clock: Clock) -> int:
    """For each tracked deadline, the most urgent reminder whose window has opened — but not
    one whose window had already opened when the chat first heard (the alert said it)."""
    now = clock.now()
    queued = 0
    async with store.unit() as unit:
        for d in await unit.tracking.deadlines_within(now, timedelta(days=31)):
            due = [n for n in sorted(d.reminder_days) if d.closes_at - timedelta(days=n) <= now]
            if not due:
                continue
            days = due[0]
            if d.tracked_since > d.closes_at - timedelta(days=days):
                continue
            queued += await unit.outbox.enqueue(
                chat_id=d.chat_id,
                opportunity_id=d.opportunity_id,
                reason="reminder",
                dedupe_key=f"reminder:{d.opportunity_id}:{days}:{d.closes_at.isoformat()}",
                payload={"days": days, "closes_at": d.closes_at.isoformat()},
                now=now,
            )
    return queued


async def queue_digests(store: Store, clock: Clock) -> int:
    """Gather each chat's held matches into one digest at its hour, in its time zone."""
    now = clock.now()
    queued = 0
    async with store.unit() as unit:
        for chat_id in await unit.outbox.chats_with_held():
            chat = await unit.chats.get(chat_id)
            subs = [s for s in await unit.chats.subscriptions(chat_id) if s.mode != "instant"]
            if chat is None or not chat.active:
                continue
            local = now.astimezone(zone(chat.timezone))
            daily = [s for s in subs if s.mode == "daily"]
            chosen = daily[0] if daily else (subs[0] if subs else None)
            hour = chosen.digest_hour if chosen else 9
            if local.hour != hour:
                continue
            weekly = chosen is not None and chosen.mode == "weekly"
            if weekly and local.weekday() != chosen.digest_weekday:
                continue
            held = await unit.outbox.held_for_chat(chat_id)
            ids = [h.opportunity_id for h in held if h.opportunity_id]
            whys = {str(h.opportunity_id): h.payload.get("why", "") for h in held}
            period = f"{local:%G-W%V}" if weekly else local.date().isoformat()
            added = await unit.outbox.enqueue(
                chat_id=chat_id,
                reason="digest",
                dedupe_key=f"digest:{period}",
                payload={
                    "ids": ids,
                    "whys": whys,
                    "title": "Your weekly digest" if weekly else "Your daily digest",
                },
                now=now,
            )
            if added:  # else this period's digest went already: these wait for the next
                await unit.outbox.mark_digested([h.id for h in held])
                queued += 1
    return queued


async def queue_term_of_week(store: Store, clock: Clock, vocabulary: Vocabulary) -> int:
    now = clock.now()
    year, week, _ = now.astimezone(zone("Europe/London")).isocalendar()
    entry = vocabulary.glossary.term_of_week(year, week)
    queued = 0
    async with store.unit() as unit:
        for chat_id in await unit.chats.term_of_week_chat_ids():
            queued += await unit.outbox.enqueue(
                chat_id=chat_id,
                reason="glossary",
                dedupe_key=f"glossary:{year}-W{week:02d}",
                payload={"slug": entry.slug},
                now=now,
            )
    return queued


async def notify_admins(store: Store, clock: Clock, admins, text: str, key: str) -> int:
    """Queue a notice to every admin (their private chat on their platform)."""
    async with store.unit() as unit:
        return await queue_admin_notice(unit, admins, text, key, clock.now())


async def source_health_report(store: Store, clock: Clock, admins, *, daily: bool) -> str:
    """Failing or silent sources, dead letters and growth; sent to admins when there is
    something to say (or every day when ``daily``)."""
    now = clock.now()
    async with store.unit() as unit:
        health = await unit.polling.all()
        outbox = await unit.outbox.counts()
        by_status = await unit.opportunities.count_by_status(now)
    failing = [h for h in health if h.consecutive_failures >= 3]
    suspect = [h for h in health if h.markup_suspect]
    silent = [
        h for h in health if h.last_success_at and now - h.last_success_at > timedelta(days=2)
    ]
    lines = []
    lines += [f"failing: {h.name} ({h.consecutive_failures}×): {h.last_error}" for h in failing]
    lines += [f"markup may have changed: {h.name}" for h in suspect]
    lines += [f"silent for 2+ days: {h.name}" for h in silent if h not in failing]
    if outbox.get("dead"):
        lines.append(f"dead-lettered alerts: {outbox['dead']}")
    if not lines and not daily:
        return ""
    lines.append("opportunities: " + ", ".join(f"{k} {v}" for k, v in sorted(by_status.items())))
    text = "Signpost report\n" + "\n".join(lines)
    # The same findings are reported once a day, not every hour while a source stays down.
    period = now.date().isoformat()
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    await notify_admins(store, clock, admins, text, key=f"report:{period}:{digest}")
    return text
