"""Turning a queued outbox row into the reply to send, from fresh data.

Rendering at send time (not at queue time) means an alert shows the deadline as it is now,
and a row about an opportunity that has since closed is cancelled rather than sent.
"""

from __future__ import annotations

from datetime import datetime

from bot.core import alerts
from bot.core.model import Chat
from bot.core.pipeline import Vocabulary
from bot.core.queries import entry_section
from bot.core.replies import Reply, Section
from bot.core.status import as_of, status_at
from storage.repos.outbox import QueuedMessage
from storage.store import Unit


class Obsolete(Exception):
    """The row no longer needs sending (its opportunity closed or disappeared)."""


async def compose(
    unit: Unit, row: QueuedMessage, chat: Chat, vocabulary: Vocabulary, now: datetime
) -> Reply:
    payload = row.payload
    if row.reason == "broadcast":
        return Reply(text=payload.get("text", ""), ephemeral=False)
    if row.reason == "notice":
        return Reply(text=payload.get("text", ""), ephemeral=False)
    if row.reason == "glossary":
        entry = vocabulary.glossary.get(payload.get("slug", ""))
        if entry is None:
            raise Obsolete("glossary term removed")
        return Reply(
            text="Term of the week",
            ephemeral=False,
            sections=[entry_section(entry, vocabulary.glossary)],
        )
    if row.reason == "digest":
        items = as_of(await unit.opportunities.by_ids(payload.get("ids", [])), now)
        items = [o for o in items if o.status != "closed"]
        if not items:
            raise Obsolete("everything in the digest has closed")
        whys = {int(k): v for k, v in payload.get("whys", {}).items()}
        return alerts.digest(items, chat, whys, title=payload.get("title", "Your digest"))
    item = await unit.opportunities.get(row.opportunity_id) if row.opportunity_id else None
    if item is None:
        raise Obsolete("opportunity no longer stored")
    item.status = status_at(item, now)  # the stored status may be hours (or years) behind
    if item.status == "closed":
        raise Obsolete("opportunity closed before the alert went out")
    if row.reason in ("new", "urgent"):
        return alerts.alert(item, chat, why=payload.get("why", ""), glossary=vocabulary.glossary)
    if row.reason == "update":
        thread = await unit.outbox.message_id_for(chat.id, item.id)
        return alerts.update(item, chat, payload.get("changes", []), thread_of=thread)
    if row.reason == "reminder":
        if item.closes_at is None or item.closes_at.isoformat() != payload.get("closes_at"):
            raise Obsolete("the deadline moved; a new reminder is due instead")
        days = max(1, (item.closes_at - now).days)
        return alerts.reminder(item, chat, min(days, int(payload.get("days", days))))
    return Reply(sections=[Section(heading=item.title, url=item.url)], ephemeral=False)
