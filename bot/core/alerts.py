"""Alerts, digests, reminders and updates as ``Reply`` objects, the same for every platform."""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.formatting import amount_line, deadline_line, funders_line, when
from bot.core.glossary import Glossary
from bot.core.model import Chat, Opportunity
from bot.core.replies import Button, Reply, Section

KIND_LABELS = {"call": "Funding call", "internship": "Internship", "event": "Event", "news": "News"}
FLAG_LABELS = {
    "vcse_partner": "VCSE partners welcome",
    "lived_experience": "lived experience",
    "invite_only": "invitation only",
    "pre_announcement": "pre-announcement",
}
SUMMARY_CHARS = 300


def _short(text: str, limit: int = SUMMARY_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def opportunity_section(
    item: Opportunity,
    chat: Chat | None = None,
    *,
    why: str = "",
    glossary: Glossary | None = None,
    buttons: bool = True,
    summary: bool = True,
) -> Section:
    """One opportunity: title link, funder, deadline, amount, why it matched, terms used.

    ``item.status`` must be as of now (``bot.core.status.as_of``): the deadline line says
    when an upcoming item opens, never a vague "opens soon" that may be a year away."""
    tz = chat.timezone if chat else None
    lines = []
    facts = [KIND_LABELS.get(item.kind, item.kind)]
    if item.funders:
        facts.append(funders_line(item))
    lines.append(" · ".join(facts))
    for line in (deadline_line(item, tz), amount_line(item)):
        if line:
            lines.append(line)
    if item.kind == "event" and (item.location or item.online):
        lines.append("Online" if item.online else f"Where: {item.location}")
    flags = [FLAG_LABELS[f] for f in item.flags if f in FLAG_LABELS]
    if flags:
        lines.append("Note: " + ", ".join(flags))
    if summary and item.summary:
        lines.append(_short(item.summary))
    if why:
        lines.append(f"Why: {why}")
    note = ""
    if glossary is not None and item.glossary_terms and (chat is None or chat.glossary_in_alerts):
        entries = [glossary.get(slug) for slug in item.glossary_terms[:3]]
        note = "\n".join(e.note for e in entries if e is not None)
    section_buttons = []
    if buttons and item.id is not None:
        section_buttons = [
            Button("Remind me", action=f"remind:{item.id}"),
            Button("Not relevant", action=f"dismiss:{item.id}"),
            Button("Open call" if item.kind == "call" else "Open", url=item.url),
        ]
    return Section(
        heading=item.title, url=item.url, lines=lines, buttons=section_buttons, note=note
    )


def alert(item: Opportunity, chat: Chat, *, why: str, glossary: Glossary | None) -> Reply:
    return Reply(
        text="New " + KIND_LABELS.get(item.kind, "opportunity").lower(),
        sections=[opportunity_section(item, chat, why=why, glossary=glossary)],
        ephemeral=False,
        link_previews=False,
    )


def update(
    item: Opportunity, chat: Chat, changes: Sequence[str], *, thread_of: str | None = None
) -> Reply:
    """What changed about an opportunity the chat was told about."""
    said = []
    for change in changes:
        if change == "closes_at":
            said.append(
                f"deadline moved to {when(item.closes_at, chat.timezone)}"
                if item.closes_at
                else "closing date removed"
            )
        elif change.endswith("->open"):
            before = change.split(":", 1)[1].split("->")[0]
            said.append("reopened" if before == "closed" else "now open")
        elif change == "opens_at":
            said.append(f"opening date now {when(item.opens_at, chat.timezone)}")
    return Reply(
        text="Update: " + "; ".join(said),
        sections=[opportunity_section(item, chat, summary=False)],
        ephemeral=False,
        in_thread_of=thread_of,
    )


def reminder(item: Opportunity, chat: Chat, days: int) -> Reply:
    left = "tomorrow" if days <= 1 else f"in {days} days"
    return Reply(
        text=f"Reminder: closes {left}",
        sections=[opportunity_section(item, chat, summary=False)],
        ephemeral=False,
    )


def digest(items: Sequence[Opportunity], chat: Chat, whys: dict[int, str], *, title: str) -> Reply:
    """A chat's new matches, soonest deadline first (the transport splits between items)."""
    ordered = sorted(items, key=lambda o: (o.closes_at is None, o.closes_at or o.starts_at))
    return Reply(
        text=f"{title}: {len(ordered)} new " + ("match" if len(ordered) == 1 else "matches"),
        sections=[
            opportunity_section(o, chat, why=whys.get(o.id or 0, ""), summary=False)
            for o in ordered
        ],
        ephemeral=False,
        link_previews=False,
    )
