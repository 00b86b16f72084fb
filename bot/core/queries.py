"""On-demand answers: /calls, /internships, /events, /deadlines and /glossary."""

from __future__ import annotations

import re
from datetime import timedelta

from bot.core.alerts import opportunity_section
from bot.core.arguments import not_a_number, parse_int, quote_phrases
from bot.core.context import MAX_INPUT, Context, Services
from bot.core.formatting import shorten, when
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


def query_alternatives(query: str, services: Services) -> list[list[str]]:
    """Quoted words are looked for as written, together and in order (a phrase: one FTS5
    string; on PostgreSQL ``phraseto_tsquery`` when it is the whole query) and are not
    widened by topic; a query without quotes is ``search_alternatives``."""
    phrases, rest = quote_phrases(query)
    if not phrases:
        return search_alternatives(query, services)
    return [[*(p.casefold() for p in phrases), *search_words(rest)]]


def ordering_note(kind: str) -> str:
    """How a list is ordered, said with it (the storage queries keep to this)."""
    if kind == "event":
        return "soonest first"
    return "soonest closing first, no closing date last"


def echo(query: str) -> str:
    """The query as the reply repeats it inside its own curly quotes: a query that is one
    quoted phrase loses its straight quotes (“peer support”, not “"peer support"”)."""
    text = query.strip()
    if len(text) > 1 and text[0] == text[-1] == '"' and '"' not in text[1:-1]:
        text = text[1:-1].strip()
    return shorten(text, 60)


def no_results(label: str, query: str) -> Reply:
    """An empty answer with a hint that fits: fewer words only helps when there were some."""
    if not query:
        return Reply(text=f"No open {label} right now. /subscribe to hear when one appears.")
    return Reply(
        text=f"No open {label} for “{echo(query)}” right now. Try fewer or broader "
        "words, or /subscribe to hear when one appears."
    )


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
    """What is open or upcoming now, of a kind, with statuses as of now: open items first,
    then those not open yet, each soonest closing first (no closing date last).
    The total is exact for a query and "at least" without one."""
    query = " ".join(query.split())[:MAX_INPUT]
    now = services.clock.now()
    async with services.store.unit() as unit:
        if query:
            page = await unit.search.search(
                query_alternatives(query, services),
                now=now,
                kinds=[kind],
                limit=limit,
                offset=offset,
            )
            return page.items, page.total
        items = await unit.opportunities.listing(
            kinds=[kind],
            limit=limit + 1,
            offset=offset,
            order="starts_at" if kind == "event" else "closes_at",
            now=now,
            upcoming_last=True,
        )
    return items[:limit], offset + len(items)


def grouped_sections(items: list[Opportunity], ctx: Context | None) -> list[Section]:
    """The items as sections, with "Opening later" before those not open yet (and "Open
    now" before the others when a page has both), so nothing upcoming sits under "open"."""
    chat = ctx.chat if ctx else None
    sections: list[Section] = []
    mixed = len({o.status == "upcoming" for o in items}) > 1
    previous = None
    for item in items:
        group = "Opening later" if item.status == "upcoming" else "Open now"
        if group != previous and (mixed or group == "Opening later"):
            sections.append(Section(heading=group))
        previous = group
        sections.append(opportunity_section(item, chat, buttons=False))
    return sections


def results_heading(label: str, items: list[Opportunity], query: str) -> str:
    """ "Open calls", "Calls opening later" or, for a page of both, "Calls"."""
    upcoming = sum(o.status == "upcoming" for o in items)
    if not upcoming:
        heading = f"Open {label}"
    elif upcoming == len(items):
        heading = f"{label.capitalize()} opening later"
    else:
        heading = label.capitalize()
    return heading + (f" for “{query}”" if query else "")


async def search(
    ctx: Context | None,
    services: Services,
    query: str,
    *,
    kind: str,
    offset: int = 0,
    limit: int = PAGE_SIZE,
) -> Reply:
    """A page of results for a query, or, with no query, what is open soonest."""
    query = " ".join(query.split())[:MAX_INPUT]
    items, total = await find(services, query, kind=kind, offset=offset, limit=limit)
    label = KIND_WORDS.get(kind, kind + "s")
    if not items:
        if offset:
            return Reply(text="No more results.")
        why = services.poll_progress().explain() if services.poll_progress else ""
        if why:
            hint = f" for “{echo(query)}”" if query else ""
            return Reply(text=f"No {label}{hint} yet. {why}")
        return no_results(label, query)
    first, last = offset + 1, offset + len(items)
    count = f"{first}–{last} of {total}" if query else f"{first}–{last}"
    reply = Reply(
        text=f"{results_heading(label, items, echo(query))} ({count}), {ordering_note(kind)}",
        sections=grouped_sections(items, ctx),
    )
    if last < total:
        reply.buttons = [Button("More", action=more_action(kind, last, query))]
    return reply


async def deadlines_command(ctx: Context, services: Services, args: str) -> Reply:
    """``/deadlines`` (30 days) or ``/deadlines 60``: up to the calendar's horizon."""
    from bot.core.calendar import HORIZON

    if not args.strip():
        return await deadlines(ctx, services)
    days = parse_int(args, 1, HORIZON.days)
    if days is None:
        usage = f"Say how many days ahead to look, 1 to {HORIZON.days}: e.g. /deadlines 60."
        return Reply(text=not_a_number(args, usage))
    return await deadlines(ctx, services, days=days)


async def deadlines(ctx: Context, services: Services, *, days: int = 30) -> Reply:
    """What closes within ``days`` among this chat's subscriptions' matches or reminders."""
    from bot.core.calendar import chat_deadlines

    limit = services.clock.now() + timedelta(days=days)
    chosen = [o for o in await chat_deadlines(ctx, services) if o.closes_at <= limit]
    if not chosen:
        async with services.store.unit() as unit:
            subscribed = await unit.chats.subscriptions(ctx.chat_id)
        if not subscribed:
            return Reply(
                text="You have no subscriptions yet, so no deadlines to show. "
                "Use /subscribe, or /calls to search."
            )
        return Reply(text=f"Nothing you follow closes in the next {days} days.")
    sections = [
        Section(
            heading=o.title, url=o.url, lines=[f"Closes {when(o.closes_at, ctx.chat.timezone)}"]
        )
        for o in chosen[:20]
    ]
    more = f" (first 20 of {len(chosen)})" if len(chosen) > 20 else ""
    return Reply(
        text=f"Closing in the next {days} days{more}, soonest first",
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
                text=f"I don't know “{shorten(query, 60)}”. Did you mean: "
                + ", ".join(e.term for e in result.suggestions)
                + "?",
                buttons=[Button(e.term, action=f"glossary:{e.slug}") for e in result.suggestions],
            )
        return unknown_term(query)
    return Reply(sections=[entry_section(result.entry, glossary)])


MAX_TERM = 60  # longer than any glossary term; past it we do not offer to add "it"


def unknown_term(query: str) -> Reply:
    """A term we do not have: offer the suggestion only for something that could be one."""
    if len(query) > MAX_TERM:
        return Reply(
            text=f"I don't know “{shorten(query, MAX_TERM)}”. A glossary term is a few "
            "words: try /glossary TERM, or /glossary on its own to browse."
        )
    return Reply(
        text=f"I don't know “{query}” yet. Suggest it with /glossary suggest {query} — an "
        "admin will add it."
    )


def entry_section(entry, glossary) -> Section:
    """A glossary entry: definition, "as of" for policy that is changing, aliases, example,
    related terms, audience, link. The "as of" line comes straight after the definition, so
    nobody reads a sentence about Healthwatch or ICBs without knowing how old it is."""
    from bot.core.glossary_data import when_label

    lines = [entry.definition]
    if entry.as_of:
        lines.append(
            f"As of {when_label(entry.as_of)}: this policy is changing, so check the link."
        )
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
