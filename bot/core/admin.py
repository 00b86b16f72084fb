"""Commands for Signpost's administrators (``SIGNPOST_ADMINS``): health, polling, broadcast."""

from __future__ import annotations

import hashlib
import re

from bot.core.context import Context, Services
from bot.core.formatting import plural, when
from bot.core.replies import Reply, Section


async def status(ctx: Context, services: Services, args: str) -> Reply:
    now = services.clock.now()
    async with services.store.unit() as unit:
        health = await unit.polling.all()
        depth, oldest = await unit.outbox.depth(now)
        outbox = await unit.outbox.counts()
        by_status = await unit.opportunities.count_by_status(now)
        subs = await unit.chats.count_by_platform()
        suggestions = await unit.glossary.open_suggestions()
    failing = [h for h in health if h.consecutive_failures]
    suspect = [h for h in health if h.markup_suspect]
    held = [h for h in health if h.held_at is not None]
    lines = [
        f"Opportunities: {', '.join(f'{k} {v}' for k, v in sorted(by_status.items())) or 'none'}",
        f"Subscriptions: {', '.join(f'{k} {v}' for k, v in sorted(subs.items())) or 'none'}",
        f"Queue: {depth} waiting, oldest {oldest:.0f} s; dead letters {outbox.get('dead', 0)}",
        f"Sources: {len(health)} polled, {len(failing)} failing, {len(suspect)} maybe changed"
        + (f", {len(held)} held after a flood" if held else ""),
        f"Glossary suggestions waiting: {len(suggestions)}",
    ]
    sections = [Section(heading="Signpost status", lines=lines)]
    for h in failing + suspect:
        sections.append(Section(heading=h.name, lines=[h.last_error or "no items parsed"]))
    for h in held:
        lines = [h.held_reason or "flooded", f"/sources release {h.name}"]
        sections.append(Section(heading=f"{h.name} (held)", lines=lines))
    return Reply(sections=sections)


async def sources(ctx: Context, services: Services, args: str) -> Reply:
    verb, _, rest = args.strip().partition(" ")
    if verb.lower() == "discover":
        return await discover_sources(services, rest.strip())
    if verb.lower() == "release":
        return await release(services, rest.split())
    if verb:
        return Reply(text="Usage: /sources, /sources release NAME or /sources discover URL")
    async with services.store.unit() as unit:
        health = {h.name: h for h in await unit.polling.all()}
    lines = []
    for name in services.source_names():
        h = health.get(name)
        if h is None:
            lines.append(f"{name}: not polled yet")
            continue
        failures = h.consecutive_failures
        state = "ok" if not failures else plural(failures, "failure") + " in a row"
        if h.markup_suspect:
            state = "markup may have changed"
        if h.held_at is not None:
            state = f"HELD since {when(h.held_at)} ({h.held_reason}); /sources release {name}"
        last = when(h.last_success_at) if h.last_success_at else "never"
        lines.append(f"{name}: {state}; last success {last}; items {h.items_last_parsed}")
    return Reply(text="Sources", sections=[Section(lines=lines or ["none configured"])])


async def release(services: Services, names: list[str]) -> Reply:
    """Let a source held after a flood alert again, from its next poll on."""
    if len(names) != 1:
        return Reply(text="Usage: /sources release NAME")
    [name] = names
    known = set(services.source_names())
    async with services.store.unit() as unit:
        health = await unit.polling.get(name)
        if name not in known and health is None:
            listed = ", ".join(sorted(known)) or "none"
            return Reply(text=f"Unknown source {name}; known: {listed}")
        released = await unit.polling.release(name)
    if not released:
        return Reply(text=f"{name} is not held.")
    return Reply(
        text=f"Released {name}: alerts resume from its next poll. What it brought while held "
        "stays stored (search finds it) but is not alerted."
    )


async def poll(ctx: Context, services: Services, args: str) -> Reply:
    if services.poll_now is None:
        return Reply(text="Polling on demand is not available in this process.")
    names = args.split()
    known = set(services.source_names())
    unknown = [n for n in names if n not in known]
    if unknown:
        return Reply(text=f"Unknown source {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return Reply(text=await services.poll_now(names))


async def broadcast(ctx: Context, services: Services, args: str) -> Reply:
    text = args.strip()
    if not text:
        return Reply(text="Usage: /broadcast MESSAGE")
    now = services.clock.now()
    key = "broadcast:" + hashlib.sha256(f"{now.date()}|{text}".encode()).hexdigest()[:16]
    queued = 0
    async with services.store.unit() as unit:
        for chat_id in await unit.chats.active_chat_ids():
            queued += await unit.outbox.enqueue(
                chat_id=chat_id,
                reason="broadcast",
                dedupe_key=key,
                now=now,
                payload={"text": text[:3000]},
            )
    return Reply(text=f"Broadcast queued for {plural(queued, 'chat')}.")


async def discover_sources(services: Services, url: str) -> Reply:
    """``/sources discover URL``: the machine-readable listings one page offers, each tried
    once through the shared polite fetcher (the CLI's ``sources discover`` answers the same)."""
    if not re.match(r"^https?://\S+$", url):
        return Reply(text="Usage: /sources discover URL (an http or https address)")
    if services.fetcher is None:
        return Reply(text="Discovery is not available in this process.")
    from sources.discover import discover

    found = await discover(url, services.fetcher)
    return discovery_reply(found, services.clock.now().date())


def discovery_reply(found, checked_on) -> Reply:
    """One section per listing tried: its item count or why none, and a ready entry."""
    from sources.discover import entry_toml

    if found.error:
        return Reply(text=f"Could not read {found.url}: {found.error}")
    sections = []
    for finding in found.findings:
        c = finding.candidate
        state = plural(finding.items, "item") if finding.items else "nothing"
        lines = [f"{c.how}: {state}" + (f" ({finding.error})" if finding.error else "")]
        if finding.usable:
            lines += ["Catalogue entry:", *entry_toml(found, finding, checked_on).splitlines()]
        sections.append(Section(heading=c.url, lines=lines))
    usable = len(found.usable())
    summary = f"{found.url}: {plural(usable, 'listing')} with items, {len(sections)} tried."
    return Reply(text=summary, sections=sections)
