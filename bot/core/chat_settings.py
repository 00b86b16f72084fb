"""/settings: a chat's time zone, digest hour and glossary notes, shown as they are.

Why the digest hour is read from the subscriptions: it is stored on each subscription (a
digest is per subscription's mode), and ``/settings hour N`` sets it on all of them; a chat
with no digest subscription has no digest to time, and the answer says so instead of
pretending a change was made.
"""

from __future__ import annotations

from bot.core.arguments import not_a_number, parse_int
from bot.core.context import Context, Services
from bot.core.formatting import zone
from bot.core.model import Subscription
from bot.core.replies import Button, Reply, Section

USAGE = (
    "Settings: /settings timezone Europe/London, /settings hour 8 (0 to 23), or tap the buttons."
)
WEEKDAYS = ["Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays"]


def digest_line(subs: list[Subscription], tz: str) -> str:
    """When digests come: the hour(s) of the digest subscriptions, in the chat's zone."""
    digests = [s for s in subs if s.mode in ("daily", "weekly")]
    if not digests:
        return "Digest hour: no daily or weekly subscription here, so no digest to time"
    hours = sorted({s.digest_hour for s in digests})
    shown = ", ".join(f"{h}:00" for h in hours)
    weekly = sorted({s.digest_weekday for s in digests if s.mode == "weekly"})
    days = f"; weekly ones on {', '.join(WEEKDAYS[d % 7] for d in weekly)}" if weekly else ""
    return f"Digest hour{'s' if len(hours) > 1 else ''}: {shown} ({tz}){days}"


async def settings_reply(ctx: Context, services: Services, *, edit: bool, text: str = "") -> Reply:
    async with services.store.unit() as unit:
        subs = await unit.chats.subscriptions(ctx.chat_id)
    chat = ctx.chat
    lines = [
        f"Time zone: {chat.timezone}",
        digest_line(subs, chat.timezone),
        f"Glossary notes in alerts: {'on' if chat.glossary_in_alerts else 'off'}",
        f"Term of the week: {'on' if chat.term_of_week else 'off'}",
        f"Alerts: {'paused — ' + (chat.paused_reason or '') if not chat.active else 'on'}",
    ]
    return Reply(
        text=text or "Settings for this chat",
        sections=[Section(lines=lines)],
        buttons=[
            Button("Glossary notes on/off", action="set:glossary"),
            Button("Term of the week on/off", action="set:tow"),
        ],
        edit=edit,
    )


async def settings(ctx: Context, services: Services, args: str) -> Reply:
    word, _, value = args.partition(" ")
    word, value = word.lower(), value.strip()
    now = services.clock.now()
    if word in ("timezone", "tz") and value:
        if zone(value).key != value:
            return Reply(
                text=f"I don't know the time zone “{value[:40]}”. Use a name like Europe/London."
            )
        async with services.store.unit() as unit:
            ctx.chat = await unit.chats.update_settings(ctx.chat_id, now, timezone=value)
        return await settings_reply(ctx, services, edit=False, text=f"Time zone set to {value}.")
    if word == "hour" and value:
        return await _set_hour(ctx, services, value)
    if word:
        return Reply(text=USAGE)
    return await settings_reply(ctx, services, edit=False)


async def _set_hour(ctx: Context, services: Services, value: str) -> Reply:
    hour = parse_int(value, 0, 23)
    if hour is None:
        return Reply(text=not_a_number(value, "The digest hour is 0 to 23, e.g. /settings hour 8."))
    now = services.clock.now()
    async with services.store.unit() as unit:
        subs = await unit.chats.subscriptions(ctx.chat_id)
        for sub in subs:
            sub.digest_hour = hour
            await unit.chats.update_subscription(sub, now=now)
    if not subs:
        return Reply(
            text="There are no subscriptions here yet, so there is no digest to time. "
            "/subscribe (choose a daily or weekly digest), then /settings hour "
            f"{hour}."
        )
    digests = any(s.mode in ("daily", "weekly") for s in subs)
    said = f"Digests will come at {hour}:00 ({ctx.chat.timezone})."
    if not digests:
        said = (
            f"Saved {hour}:00, but every subscription here is instant: the hour takes effect "
            "when one becomes a daily or weekly digest."
        )
    return await settings_reply(ctx, services, edit=False, text=said)


async def toggle(ctx: Context, services: Services, which: str) -> Reply:
    """A ``set:`` button: glossary notes or term of the week, on/off."""
    field = {"glossary": "glossary_in_alerts", "tow": "term_of_week"}.get(which)
    if field is None:
        return Reply(text="That button has expired.")
    async with services.store.unit() as unit:
        ctx.chat = await unit.chats.update_settings(
            ctx.chat_id, services.clock.now(), **{field: not getattr(ctx.chat, field)}
        )
    return await settings_reply(ctx, services, edit=True)
