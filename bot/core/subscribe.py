"""Subscribing: guided (topics, then role, then mode) or in one line, and managing them.

The guided flow keeps its draft in the button data itself — a bit mask of chosen topics,
then the role, then the mode — so no server-side state is needed and any replica can take
the next tap. Every step edits the same message.
"""

from __future__ import annotations

from bot.core.arguments import DB_INT_MAX, parse_id, parse_int
from bot.core.context import MAX_INPUT, Context, Services
from bot.core.formatting import money, shorten
from bot.core.model import MODES, ROLES, Subscription
from bot.core.replies import Button, Reply, Section
from bot.core.subscribe_line import KIND_NAMES, ONE_LINE_FORMS, parse_line

__all__ = ["KIND_NAMES", "MODE_NAMES", "ONE_LINE_FORMS", "ROLE_NAMES", "parse_one_line"]

ROLE_NAMES = {
    "vcse": "Charity / VCSE staff",
    "early_career": "Early-career researcher",
    "established_researcher": "Established researcher",
    "student": "Student / young professional",
}
MODE_NAMES = {"instant": "As they appear", "daily": "Daily digest", "weekly": "Weekly digest"}


def _topics(services: Services) -> list:
    return list(services.vocabulary.taxonomy.topics)


def _mask_topics(mask: int, services: Services) -> list[str]:
    return [t.slug for i, t in enumerate(_topics(services)) if mask >> i & 1]


def _action(step: str, mask: int, role: str = "-", mode: str = "-", edit: int = 0) -> str:
    """``sub:<step>:<topic mask>:<role>:<mode>:<subscription being edited or 0>`` — under
    Telegram's 64-byte limit for every topic count we ship."""
    return f"sub:{step}:{mask:x}:{role}:{mode}:{edit}"


TOPICS_PER_PAGE = 12


def topics_step(
    mask: int, services: Services, *, edit: bool, editing: int = 0, page: int = 0
) -> Reply:
    """One page of topic toggles (a phone screen's worth), then paging and Next."""
    topics = _topics(services)
    pages = max(1, -(-len(topics) // TOPICS_PER_PAGE))
    page = min(max(page, 0), pages - 1)
    first = page * TOPICS_PER_PAGE
    buttons = []
    for i, topic in enumerate(topics[first : first + TOPICS_PER_PAGE], start=first):
        label = ("✓ " if mask >> i & 1 else "") + topic.label
        buttons.append(Button(label, action=_action(f"t{page}", mask ^ (1 << i), edit=editing)))
    if page > 0:
        buttons.append(Button("‹ Fewer", action=_action(f"p{page - 1}", mask, edit=editing)))
    if page < pages - 1:
        buttons.append(Button("More topics ›", action=_action(f"p{page + 1}", mask, edit=editing)))
    buttons.append(Button("Next ›", action=_action("r", mask, edit=editing)))
    chosen = len(_mask_topics(mask, services))
    return Reply(
        text=f"Step 1 of 3 — which topics? Tap to tick, then Next (page {page + 1} of {pages})."
        + (f" {chosen} chosen." if chosen else " None chosen means all topics."),
        buttons=buttons,
        edit=edit,
    )


def role_step(mask: int, editing: int) -> Reply:
    buttons = [
        Button(name, action=_action("m", mask, role, edit=editing))
        for role, name in ROLE_NAMES.items()
    ]
    buttons.append(Button("Any role", action=_action("m", mask, "any", edit=editing)))
    buttons.append(Button("‹ Back", action=_action("t", mask, edit=editing)))
    return Reply(
        text="Step 2 of 3 — who should the opportunities suit?", buttons=buttons, edit=True
    )


def mode_step(mask: int, role: str, editing: int) -> Reply:
    buttons = [
        Button(name, action=_action("s", mask, role, mode, editing))
        for mode, name in MODE_NAMES.items()
    ]
    buttons.append(Button("‹ Back", action=_action("r", mask, edit=editing)))
    return Reply(text="Step 3 of 3 — how often?", buttons=buttons, edit=True)


def describe(sub: Subscription, services: Services) -> str:
    taxonomy = services.vocabulary.taxonomy
    parts = []
    topics = [taxonomy.get(t).label if taxonomy.get(t) else t for t in sub.topics]
    parts.append(", ".join(topics) if topics else "all topics")
    if sub.keywords:
        parts.append("words: " + ", ".join(f"“{k}”" for k in sub.keywords))
    if sub.exclude_keywords:
        parts.append("not: " + ", ".join(f"“{k}”" for k in sub.exclude_keywords))
    if sub.roles:
        parts.append("for " + ", ".join(ROLE_NAMES.get(r, r).lower() for r in sub.roles))
    if sub.kinds:
        parts.append(", ".join(KIND_NAMES.get(k, k) for k in sub.kinds) + " only")
    if sub.funders:
        parts.append("from " + ", ".join(sub.funders))
    if sub.min_amount_pence:
        parts.append(f"at least {money(sub.min_amount_pence)}")
    parts.append(MODE_NAMES.get(sub.mode, sub.mode).lower())
    return " · ".join(parts)


async def save(ctx: Context, services: Services, sub: Subscription, replaces: int = 0) -> Reply:
    """Store a new subscription, or, when editing, update the old one in place (its id,
    and so any button that names it, stays valid)."""
    now = services.clock.now()
    async with services.store.unit() as unit:
        existing = {s.id: s for s in await unit.chats.subscriptions(ctx.chat_id)}
        if replaces and replaces in existing:
            old = existing[replaces]
            sub.id = replaces
            sub.keywords, sub.exclude_keywords = old.keywords, old.exclude_keywords
            sub.funders, sub.kinds = old.funders, old.kinds
            sub.min_amount_pence, sub.reminder_days = old.min_amount_pence, old.reminder_days
            sub.digest_hour, sub.digest_weekday = old.digest_hour, old.digest_weekday
            stored = await unit.chats.update_subscription(sub, now=now)
        else:
            replaces = 0
            stored = await unit.chats.add_subscription(sub, now=now)
    return Reply(
        text=("Updated: " if replaces else "Subscribed: ")
        + describe(stored, services)
        + ". You'll get alerts here; /mysubs lists your subscriptions.",
        edit=True,
    )


EXPIRED = Reply(text="That button has expired; type /subscribe to start again.")


async def press(ctx: Context, services: Services, parts: list[str]) -> Reply:
    """Handle a ``sub:`` button: t (toggle topics), r (role step), m (mode step), s (save)."""
    try:
        step, raw_mask, role, mode, raw_edit = parts
        mask, editing = int(raw_mask, 16), parse_int(raw_edit, 0, DB_INT_MAX)
    except ValueError:
        return EXPIRED
    if editing is None:
        return EXPIRED
    if mask >= 1 << len(_topics(services)) or (role not in ("-", "any") and role not in ROLES):
        return EXPIRED
    # "t<page>" toggles a topic on that page; "p<page>" turns the page (so transports can
    # lay toggles out differently from navigation).
    page = 0 if step == "t" else parse_int(step[1:], 0, 99) if step[:1] in ("t", "p") else None
    if page is not None:
        return topics_step(mask, services, edit=True, editing=editing, page=page)
    if step == "r":
        return role_step(mask, editing)
    if step == "m" and role != "-":
        return mode_step(mask, role, editing)
    if step != "s" or mode not in MODES or role == "-":
        return EXPIRED
    sub = Subscription(
        chat_id=ctx.chat_id,
        topics=_mask_topics(mask, services),
        roles=[] if role == "any" else [role],
        mode=mode,
    )
    return await save(ctx, services, sub, replaces=editing)


def parse_one_line(args: str, services: Services, chat_id: int) -> Subscription:
    """``/subscribe mental health, peer support`` as a subscription (see ``subscribe_line``)."""
    return parse_line(args, services.vocabulary.taxonomy, chat_id).subscription


async def one_line(ctx: Context, services: Services, args: str) -> Reply:
    parsed = parse_line(args, services.vocabulary.taxonomy, ctx.chat_id)
    sub = parsed.subscription
    if parsed.unknown:
        return Reply(
            text="Nothing saved: I don't know "
            + ", ".join(f"“{shorten(u, 40)}”" for u in parsed.unknown)
            + ". Roles are vcse, early_career, established_researcher and student; kinds "
            "are calls, internships and events. /help shows every form."
        )
    if parsed.near_misses:
        corrected = args[:MAX_INPUT]
        for phrase, (name, _) in parsed.near_misses.items():
            corrected = corrected.replace(phrase, name, 1)
        misses = "; ".join(
            f"“{shorten(p, 40)}” looks like the topic {label}"
            for p, (_, label) in parsed.near_misses.items()
        )
        return Reply(
            text=f"Nothing saved yet: {misses}. Did you mean /subscribe {corrected} ? "
            'To look for the words exactly as typed, put them in quotes: /subscribe "'
            + shorten(next(iter(parsed.near_misses)), 40)
            + '"'
        )
    if not (sub.topics or sub.keywords or sub.funders or sub.kinds or sub.roles):
        return Reply(
            text="I couldn't read any topic or word there. Try /subscribe on its own "
            "to choose with buttons, or e.g. /subscribe mental health, peer support"
        )
    reply = await save(ctx, services, sub)
    reply.edit = False
    return reply


async def list_subscriptions(ctx: Context, services: Services) -> Reply:
    async with services.store.unit() as unit:
        subs = await unit.chats.subscriptions(ctx.chat_id)
    if not subs:
        return Reply(text="No subscriptions here yet. /subscribe to choose topics.")
    sections = [
        Section(
            heading=f"{n}. {describe(sub, services)}",
            buttons=[
                Button("Delete", action=f"unsub:{sub.id}"),
                Button("Edit", action=f"edit:{sub.id}"),
            ],
        )
        for n, sub in enumerate(subs, start=1)
    ]
    return Reply(text=f"Subscriptions here ({len(subs)}):", sections=sections)


async def unsubscribe(ctx: Context, services: Services, args: str) -> Reply:
    word = args.strip().lower()
    async with services.store.unit() as unit:
        subs = await unit.chats.subscriptions(ctx.chat_id)
        if not word:
            pass
        elif word == "all":
            for sub in subs:
                await unit.chats.delete_subscription(ctx.chat_id, sub.id)
            if not subs:
                return Reply(text="There were no subscriptions here to remove.")
            if len(subs) == 1:
                return Reply(text="Removed the one subscription here.")
            return Reply(text=f"Removed all {len(subs)} subscriptions.")
        elif (number := parse_int(word, 1, max(len(subs), 1))) is not None and subs:
            await unit.chats.delete_subscription(ctx.chat_id, subs[number - 1].id)
            return Reply(text=f"Removed subscription {number}.")
        else:
            return Reply(
                text=f"There is no subscription “{shorten(args, 40)}”: use a number from "
                "/mysubs, or /unsubscribe all."
            )
    return await list_subscriptions(ctx, services)


async def delete_pressed(ctx: Context, services: Services, sub_id: str) -> Reply:
    number = parse_id(sub_id)
    if number is None:
        return Reply(text="That button has expired.")
    async with services.store.unit() as unit:
        removed = await unit.chats.delete_subscription(ctx.chat_id, number)
    reply = await list_subscriptions(ctx, services)
    reply.text = ("Removed. " if removed else "Already removed. ") + reply.text
    reply.edit = True
    return reply


async def edit_pressed(ctx: Context, services: Services, sub_id: str) -> Reply:
    """Editing is choosing again with the old topics ticked; the old subscription is
    replaced only when the new one is saved, so abandoning the edit loses nothing."""
    number = parse_id(sub_id)
    if number is None:
        return Reply(text="That button has expired.")
    async with services.store.unit() as unit:
        subs = {s.id: s for s in await unit.chats.subscriptions(ctx.chat_id)}
    old = subs.get(number)
    if old is None:
        return Reply(text="That subscription no longer exists.", edit=True)
    slugs = [t.slug for t in _topics(services)]
    mask = sum(1 << slugs.index(t) for t in old.topics if t in slugs)
    reply = topics_step(mask, services, edit=True, editing=old.id)
    reply.text = "Editing — " + reply.text
    return reply
