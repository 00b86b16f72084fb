"""``/funders QUERY [near PLACE]`` and ``/funder NAME``: who has funded work like this.

Answers come from past awards imported from 360Giving files (``signpost funders import``),
grouped by funder: how many grants, the typical (median) amount and the range, the latest
award, two examples, and the funder's open calls in Signpost. With a place, funders whose
grants went nearest come first: the same local authority, then region, nation, UK-wide.
Every answer names the data's publisher and licence, as 360Giving's licences ask.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from statistics import median

from bot.core.context import Context, Services
from bot.core.formatting import money, money_range, plural, shorten
from bot.core.replies import Reply, Section
from sources.funders import funder_matches
from sources.threesixty_places import nation_named, region_named
from storage.models import Grant

__all__ = ["funder_command", "funders_command"]

GRANTNAV = "https://grantnav.threesixtygiving.org/grant/"
SHOWN = 5
MEDIAN = "“Median” is the typical award: half the grants were smaller, half larger."
NO_DATA = (
    "I have no award data yet. An administrator can add 360Giving files with "
    "`signpost funders import FILE`."
)
_NEAR = re.compile(r"\s+near\s+", re.IGNORECASE)
_CLOSENESS = ("in {place}", "in the same region", "in the same nation", "UK-wide", "elsewhere")


@dataclass(frozen=True, slots=True)
class Place:
    """What a user's PLACE names: a nation (or "UK"), an English region, or a local area."""

    text: str
    nation: str = ""
    region: str = ""
    area: str = ""


def place_named(text: str) -> Place:
    if nation := nation_named(text):
        return Place(text, nation=nation)
    if region := region_named(text):
        return Place(text, nation="England", region=region)
    return Place(text, area=text.strip().casefold())


def closeness(grant: Grant, place: Place) -> int:
    """0 same local area, 1 same region, 2 same nation, 3 UK-wide, 4 elsewhere."""
    best = 4
    for loc in grant.locations or []:
        area = f"{loc.get('area', '')} {loc.get('name', '')}".casefold()
        if place.area and place.area in area:
            return 0
        if place.region and loc.get("region") == place.region:
            best = min(best, 1)
        elif place.nation and place.nation != "UK" and loc.get("nation") == place.nation:
            best = min(best, 2)
        elif loc.get("nation") == "UK" or place.nation == "UK":
            best = min(best, 3)
    return best


def _attribution(grants: list[Grant]) -> str:
    pairs = Counter(
        (g.publisher or g.funder_name, g.licence or "licence not given") for g in grants
    )
    named = "; ".join(f"{who} ({licence})" for (who, licence), _ in pairs.most_common())
    return (
        f"Award data published by {named} in the 360Giving format (an open standard for "
        "publishing who funded what)."
    )


def _example(grant: Grant) -> str:
    amount = money(grant.amount_pence) if grant.currency == "GBP" else grant.currency
    to = f" to {grant.recipient_name}" if grant.recipient_name else ""
    link = grant.url or GRANTNAV + grant.grant_id
    return f"• {shorten(grant.title, 80)} — {amount}{to}, {grant.award_date:%b %Y} {link}"


async def _open_calls(services: Services, names: set[str]) -> dict[str, list[str]]:
    """Open calls in Signpost per funder name (by the same funder matching as /subscribe)."""
    async with services.store.unit() as unit:
        live = await unit.opportunities.listing(
            kinds=("call",), now=services.clock.now(), limit=500
        )
    return {name: [o.title for o in live if funder_matches(name, o.funders)][:2] for name in names}


def _summary(grants: list[Grant]) -> list[str]:
    gbp = sorted(g.amount_pence for g in grants if g.currency == "GBP" and g.amount_pence)
    latest = max(g.award_date for g in grants)
    lines = [f"{plural(len(grants), 'grant')}, the latest awarded {latest.day} {latest:%b %Y}"]
    if gbp:
        lines.append(
            f"Typical award {money(int(median(gbp)))} (median), "
            f"ranging {money_range(gbp[0], gbp[-1])}"
            if gbp[0] != gbp[-1]
            else f"Award {money(gbp[0])}"
        )
    return lines


def _by_funder(grants: list[Grant]) -> dict[str, list[Grant]]:
    groups: dict[str, list[Grant]] = {}
    for grant in grants:
        groups.setdefault(grant.funder_id, []).append(grant)
    return groups


async def funders_command(ctx: Context, services: Services, args: str) -> Reply:
    """The funders who gave most for this kind of work, nearest first with a place."""
    parts = _NEAR.split(args.strip(), maxsplit=1)
    query, where = parts[0].strip(), (parts[1].strip() if len(parts) > 1 else "")
    if not query:
        return Reply(text="Tell me the kind of work, e.g. /funders mental health near Wales")
    topics = services.vocabulary.taxonomy.resolve(query)
    async with services.store.unit() as unit:
        if not await unit.grants.count():
            return Reply(text=NO_DATA)
        grants = await unit.grants.matching(topics=topics, words=query)
    if not grants:
        return Reply(text=f"I have no award data for “{query}” yet.")
    place = place_named(where) if where else None
    groups = _by_funder(grants)

    def rank(item: tuple[str, list[Grant]]) -> tuple:
        near = min(closeness(g, place) for g in item[1]) if place else 0
        return (near, -len(item[1]), -sum(g.amount_pence or 0 for g in item[1]))

    ranked = sorted(groups.items(), key=rank)[:SHOWN]
    calls = await _open_calls(services, {group[0].funder_name for _, group in ranked})
    text = f"Funders of “{query}” in past awards"
    if place:
        text += f", nearest to {where} first"
        if all(closeness(g, place) == 4 for g in grants):
            text = f"I have no award data for “{query}” near {where} yet. Funders of it elsewhere:"
    sections = []
    for _, group in ranked:
        name = group[0].funder_name
        lines = _summary(group)
        if place:
            near = min(closeness(g, place) for g in group)
            lines.append("Nearest grant: " + _CLOSENESS[near].format(place=where))
        lines += ["For example:"] + [_example(g) for g in group[:2]]
        if calls.get(name):
            lines.append("Open calls in Signpost: " + "; ".join(calls[name]))
        sections.append(Section(heading=name, lines=lines))
    more = len(groups) - len(ranked)
    footer = f"{plural(more, 'more funder')} — narrow the search to see them. " if more else ""
    shown = [grant for _, group in ranked for grant in group]
    sections.append(Section(note=f"{footer}{MEDIAN} {_attribution(shown)}"))
    return Reply(text=text, sections=sections)


async def funder_command(ctx: Context, services: Services, args: str) -> Reply:
    """One funder's profile: what it funds, where, how much and how often."""
    name = args.strip()
    if not name:
        return Reply(text="Tell me the funder, e.g. /funder Esmée Fairbairn Foundation")
    async with services.store.unit() as unit:
        grants = await unit.grants.of_funder(name)
    if not grants:
        return Reply(text=f"I have no award data for a funder called “{name}” yet.")
    funders = _by_funder(grants)
    if len(funders) > 1:
        names = sorted({group[0].funder_name for group in funders.values()})
        return Reply(text="Which funder? " + "; ".join(names[:10]))
    vocabulary = services.vocabulary.taxonomy
    topics = Counter(topic for g in grants for topic in g.topics)
    places = Counter(
        loc.get("region") or loc.get("nation") for g in grants for loc in g.locations or []
    )
    years = Counter(g.award_date.year for g in grants)
    lines = _summary(grants)
    if topics:
        lines.append(
            "Funds: "
            + ", ".join(
                (vocabulary.get(t).label if vocabulary.get(t) else t)
                for t, _ in topics.most_common(5)
            )
        )
    if places := [p for p, _ in places.most_common(5) if p]:
        lines.append("Where: " + ", ".join(places))
    lines.append(
        "How often: "
        + ", ".join(
            f"{plural(count, 'grant')} in {year}" for year, count in sorted(years.items())[-3:]
        )
    )
    lines += ["Recent grants:"] + [_example(g) for g in grants[:2]]
    calls = await _open_calls(services, {grants[0].funder_name})
    if calls[grants[0].funder_name]:
        lines.append("Open calls in Signpost: " + "; ".join(calls[grants[0].funder_name]))
    return Reply(
        text=f"{grants[0].funder_name} in past awards",
        sections=[
            Section(heading=grants[0].funder_name, lines=lines),
            Section(note=f"{MEDIAN} {_attribution(grants)}"),
        ],
    )
