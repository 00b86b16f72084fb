"""On-demand answers: /calls, /internships, /events, /deadlines and /glossary."""

from __future__ import annotations

import re
from datetime import timedelta

from bot.core.alerts import opportunity_section
from bot.core.context import MAX_INPUT, Context, Services
from bot.core.formatting import when
from bot.core.model import Opportunity
from bot.core.pipeline import topic_token
from bot.core.replies import Button, Reply, Section

PAGE_SIZE = 5
KIND_WORDS = {"call": "calls", "internship": "internships", "event": "events"}


def search_words(query: str) -> list[str]:
    """The user's words, lower-cased but otherwise as typed: the full-text stemmers do their
    own folding, and ours ("women" -> "woman") would no longer match what they index."""
    return re.findall(r"[^\W_]+", query.casefold())


def search_alternatives(query: str, services: Services) -> list[list[str]]:
    """The user's words (all needed), or any item tagged with a topic the query names — so
    "mental health" also finds the psychiatric and wellbeing calls the tagger recognised."""
    words = search_words(query)
    alternatives = [words] if words else []
    for slug in services.vocabulary.taxonomy.resolve(query):
        alternatives.append([topic_token(slug)])
    return alternatives


def more_action(kind: str, offset: int, query: str) -> str:
    """Callback data for "More": kind, next offset, and the query (kept short for Telegram's
    64-byte limit; a longer query is cut at a word)."""
    short = (
        query.encode()[:44].decode(errors="ignore").rsplit(" ", 1)[0]
        if len(query.encode()) > 44
        else query
    )
    return f"more:{kind}:{offset}:{short}"


async def find(
    services: Services, query: str, *, kind: str, offset: int = 0, limit: int = PAGE_SIZE
) -> tuple[list[Opportunity], int]:
    """Open and upcoming items of a kind: ranked by the query, or soonest first without one.
    The total is exact for a query and "at least" without one."""
    query = " ".join(query.split())[:MAX_INPUT]
    async with services.store.unit() as unit:
        if query:
            page = await unit.search.search(
                search_alternatives(query, services), kinds=[kind], limit=limit, offset=offset
            )
            return page.items, page.total
        order = "starts_at" if kind == "event" else "closes_at"
        items = await unit.opportunities.listing(
            kinds=[kind],
            limit=limit + 1,
            offset=offset,
            order=order,
            closing_after=services.clock.now() if kind != "event" else None,
        )
    return items[:limit], offset + len(items)


async def search(
    ctx: Context | None, services: Services, query: str, *, kind: str, offset: int = 0
) -> Reply:
    """A page of results for a query, or, with no query, what is open soonest."""
    query = " ".join(query.split())[:MAX_INPUT]
    items, total = await find(services, query, kind=kind, offset=offset)
    label = KIND_WORDS.get(kind, kind + "s")
    if not items:
        if offset:
            return Reply(text="No more results.")
        hint = f" for “{query}”" if query else ""
        why = services.poll_progress().explain() if services.poll_progress else ""
        if why:
            return Reply(text=f"No {label}{hint} yet. {why}")
        return Reply(
            text=f"No open {label}{hint} right now. Try fewer or broader words, "
            "or /subscribe to hear when one appears."
        )
    first, last = offset + 1, offset + len(items)
    heading = f"Open {label}" + (f" for “{query}”" if query else "")
    count = f"{first}–{last} of {total}" if query else f"{first}–{last}"
    reply = Reply(
        text=f"{heading} ({count})",
        sections=[opportunity_section(o, ctx.chat if ctx else None, buttons=False) for o in items],
    )
    if last < total:
        reply.buttons = [Button("More", action=more_action(kind, last, query))]
    return reply


async def deadlines(ctx: Context, services: Services) -> Reply:
    """What closes within 30 days among this chat's subscriptions' matches or reminders."""
    from bot.core.calendar import chat_deadlines

    limit = services.clock.now() + timedelta(days=30)
    chosen = [o for o in await chat_deadlines(ctx, services) if o.closes_at <= limit]
    if not chosen:
        async with services.store.unit() as unit:
            subscribed = await unit.chats.subscriptions(ctx.chat_id)
        if not subscribed:
            return Reply(
                text="You have no subscriptions yet, so no deadlines to show. "
                "Use /subscribe, or /calls to search."
            )
        return Reply(text="Nothing you follow closes in the next 30 days.")
    sections = [
        Section(
            heading=o.title, url=o.url, lines=[f"Closes {when(o.closes_at, ctx.chat.timezone)}"]
        )
        for o in chosen[:20]
    ]
    more = f" (first 20 of {len(chosen)})" if len(chosen) > 20 else ""
    return Reply(
        text=f"Closing in the next 30 days{more}",
        sections=sections,
        buttons=[Button("Add to my calendar", action="calendar:")],
    )


def glossary_answer(query: str, services: Services) -> Reply:
    """Look a term up (exact, alias, fuzzy) or browse the glossary."""
    glossary = services.vocabulary.glossary
    query = " ".join(query.split())[:MAX_INPUT]
    if not query:
        groups = glossary.groups()
        sections = []
        for group, entries in groups.items():
            names = ", ".join(sorted(e.term for e in entries))
            sections.append(Section(heading=group, lines=[names]))
        return Reply(text="Glossary: type /glossary TERM, e.g. /glossary co-PI", sections=sections)
    if len(query) == 1 and query.isalpha():
        entries = glossary.browse(letter=query)
        if not entries:
            return Reply(text=f"No terms start with “{query.upper()}”.")
        return Reply(
            text=f"Terms starting with {query.upper()}",
            sections=[Section(lines=[", ".join(e.term for e in entries)])],
        )
    result = glossary.lookup(query)
    if result.entry is None:
        if result.suggestions:
            return Reply(
                text=f"I don't know “{query}”. Did you mean: "
                + ", ".join(e.term for e in result.suggestions)
                + "?",
                buttons=[Button(e.term, action=f"glossary:{e.slug}") for e in result.suggestions],
            )
        return Reply(
            text=f"I don't know “{query}” yet. Suggest it with /glossary suggest "
            f"{query} — an admin will add it."
        )
    return Reply(sections=[entry_section(result.entry, glossary)])


def entry_section(entry, glossary) -> Section:
    """A glossary entry: definition, aliases, example, related terms, audience, link."""
    lines = [entry.definition]
    if entry.aliases:
        lines.append("Also: " + ", ".join(entry.aliases))
    if entry.example:
        lines.append(f"Example: {entry.example}")
    related = [glossary.get(slug) for slug in entry.related]
    names = [r.term for r in related if r is not None]
    if names:
        lines.append("Related: " + ", ".join(names))
    if entry.audience:
        lines.append(f"Mostly for: {entry.audience}")
    return Section(heading=entry.term, url=entry.url or None, lines=lines)
