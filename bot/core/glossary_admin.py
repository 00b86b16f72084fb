"""Admins add or change glossary terms from chat, without a release.

``/glossary add TERM | DEFINITION | LINK [| GROUP]`` stores the term in the database (it
overrides a packaged term with the same name) and reloads the glossary at once;
``/glossary suggestions`` lists what users asked for, ``/glossary done N`` closes one, and
``/glossary stale`` lists entries whose "as of" date or link check is more than a year old,
then the links nobody has confirmed yet, so the words are re-checked before they mislead.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from bot.core.arguments import not_a_number, parse_id
from bot.core.context import Context, Services
from bot.core.glossary import GROUPS, Glossary, GlossaryEntry, GlossaryError
from bot.core.glossary_data import when_date, when_label
from bot.core.replies import Reply, Section

STALE_AFTER = timedelta(days=365)
MAX_LISTED = 40  # a chat message, not a report: the CLI's `signpost glossary --json` has all

USAGE = (
    "Usage: /glossary add TERM | DEFINITION (at most 60 words) | LINK [| GROUP: "
    + ", ".join(GROUPS)
    + "]"
)


def slugify(term: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", term.casefold()).strip("-")[:64] or "term"


async def load_admin_terms(services: Services) -> list[GlossaryEntry]:
    async with services.store.unit() as unit:
        rows = await unit.glossary.terms()
    entries = []
    for row in rows:
        try:
            entries.append(GlossaryEntry.from_mapping(row))
        except GlossaryError:
            continue  # a bad row must not take the glossary down; /status shows the count
    return entries


async def add_term(ctx: Context, services: Services, args: str) -> Reply:
    parts = [p.strip() for p in args.split("|")]
    if len(parts) < 3 or not all(parts[:3]):
        return Reply(text=USAGE)
    term, definition, url = parts[:3]
    glossary = services.vocabulary.glossary
    existing = glossary.lookup(term)
    base = existing.entry if existing.match in ("exact", "alias") else None
    group = parts[3] if len(parts) > 3 and parts[3] else (base.group if base else "research")
    if group not in GROUPS:
        return Reply(text=f"Group must be one of {', '.join(GROUPS)}.")
    if len(definition.split()) > 60:
        return Reply(text=f"That definition has {len(definition.split())} words; 60 at most.")
    if not url.startswith("https://"):
        return Reply(text="The link must start with https://")
    slug = base.slug if base else slugify(term)
    data = (base.to_json() if base else {}) | {
        "slug": slug,
        "term": term if not base else base.term,
        "definition": definition,
        "url": url,
        "group": group,
        # an admin's new wording is current and their link unchecked: old dates no longer apply
        "as_of": "",
        "link_checked": base.link_checked if base and base.url == url else "",
    }
    try:
        GlossaryEntry.from_mapping(data)
    except GlossaryError as exc:
        return Reply(text=f"Not saved: {exc}")
    async with services.store.unit() as unit:
        await unit.glossary.save_term(data, by=ctx.user_id, now=services.clock.now())
    services.vocabulary.reload_glossary(await load_admin_terms(services))
    return Reply(
        text=f"Saved “{data['term']}”" + (" (replacing the packaged definition)." if base else ".")
    )


async def suggestions(ctx: Context, services: Services, args: str) -> Reply:
    async with services.store.unit() as unit:
        waiting = await unit.glossary.open_suggestions()
    if not waiting:
        return Reply(text="No glossary suggestions are waiting.")
    lines = [f"{s.id}. {s.text}" for s in waiting[:50]]
    return Reply(
        text="Suggested terms (close one with /glossary done N):", sections=[Section(lines=lines)]
    )


async def done(ctx: Context, services: Services, args: str) -> Reply:
    number = parse_id(args)
    if number is None:
        usage = "Usage: /glossary done N (the number from /glossary suggestions)"
        return Reply(text=not_a_number(args, usage) if args.strip() else usage)
    async with services.store.unit() as unit:
        closed = await unit.glossary.resolve_suggestion(number)
    return Reply(text="Closed." if closed else "No suggestion with that number.")


def stale_entries(glossary: Glossary, today: date) -> list[tuple[GlossaryEntry, str]]:
    """Entries with an "as of" date or a link check older than a year, oldest first, each
    with what is old about it ("as of December 2025", "link checked 3 March 2025")."""
    cutoff = today - STALE_AFTER
    found = []
    for entry in glossary:
        dates = [
            (when_date(entry.as_of), f"as of {when_label(entry.as_of)}"),
            (when_date(entry.link_checked), f"link checked {when_label(entry.link_checked)}"),
        ]
        old = [(day, what) for day, what in dates if day is not None and day < cutoff]
        if old:
            found.append((min(day for day, _ in old), entry, "; ".join(w for _, w in old)))
    found.sort(key=lambda f: (f[0], f[1].slug))
    return [(entry, what) for _, entry, what in found]


async def stale(ctx: Context, services: Services, args: str) -> Reply:
    """``/glossary stale``: what needs re-checking, oldest first, then unconfirmed links."""
    glossary = services.vocabulary.glossary
    today = services.clock.now().date()
    old = stale_entries(glossary, today)
    unverified = sorted(
        (e.term for e in glossary if e.url and not e.link_checked), key=str.casefold
    )
    sections = []
    if old:
        lines = [f"{e.term} — {what}" for e, what in old[:MAX_LISTED]]
        if len(old) > MAX_LISTED:
            lines.append(f"…and {len(old) - MAX_LISTED} more")
        sections.append(Section(heading="More than a year old", lines=lines))
    if unverified:
        names = ", ".join(unverified[:MAX_LISTED])
        more = f" …and {len(unverified) - MAX_LISTED} more" if len(unverified) > MAX_LISTED else ""
        sections.append(
            Section(heading=f"Links never confirmed ({len(unverified)})", lines=[names + more])
        )
    if not sections:
        return Reply(text="Every glossary entry was confirmed within the last year.")
    since = when_label((today - STALE_AFTER).isoformat())
    text = (
        f"Glossary entries to re-check: {len(old)} last confirmed before {since}, "
        f"{len(unverified)} links never confirmed. Check with: signpost glossary check"
    )
    return Reply(text=text, sections=sections)
