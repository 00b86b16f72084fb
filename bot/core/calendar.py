"""A chat's deadlines as an iCalendar file, for Outlook, Google or Apple calendars.

Each opportunity the chat follows (alerted about, or asked to be reminded of, or matching its
subscriptions) that closes in the next 120 days becomes an event at its closing time, with
the two default reminders as alarms, so the deadline sits where charity staff plan their week.
"""

from __future__ import annotations

from datetime import timedelta

from icalendar import Alarm, Calendar, Event

from bot.core.context import Context, Services
from bot.core.formatting import plural
from bot.core.matching import SubscriptionIndex
from bot.core.model import Opportunity
from bot.core.replies import Reply

HORIZON = timedelta(days=120)
PRODID = "-//Signpost//UK research funding deadlines//EN"


def deadlines_calendar(items: list[Opportunity], *, name: str, now) -> bytes:
    """An RFC 5545 calendar with one event per closing date."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", name)
    for item in items:
        if item.closes_at is None:
            continue
        event = Event()
        event.add("uid", f"signpost-{item.source}-{item.external_id}@signpost")
        event.add("dtstamp", now)
        event.add("dtstart", item.closes_at)
        event.add("dtend", item.closes_at + timedelta(minutes=30))
        event.add("summary", f"Deadline: {item.title}")
        funders = ", ".join(item.funders)
        event.add("description", f"{funders}\n{item.url}".strip())
        event.add("url", item.url)
        for days in (14, 3):
            alarm = Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("description", f"{item.title} closes in {days} days")
            alarm.add("trigger", timedelta(days=-days))
            event.add_component(alarm)
        calendar.add_component(event)
    return calendar.to_ical()


async def chat_deadlines(ctx: Context, services: Services) -> list[Opportunity]:
    """What this chat follows that closes within the horizon, soonest first."""
    now = services.clock.now()
    async with services.store.unit() as unit:
        tracked = set(await unit.tracking.for_chat(ctx.chat_id))
        dismissed = await unit.tracking.dismissed_for_chat(ctx.chat_id)
        subscriptions = await unit.chats.subscriptions(ctx.chat_id)
        soon = await unit.opportunities.listing(
            kinds=["call", "internship"],
            closing_after=now,
            closing_before=now + HORIZON,
            limit=1000,
        )
    index = SubscriptionIndex(subscriptions, services.vocabulary.topic_labels())
    return [o for o in soon if o.id not in dismissed and (o.id in tracked or index.match(o))]


async def calendar_command(ctx: Context, services: Services, args: str) -> Reply:
    items = await chat_deadlines(ctx, services)
    if not items:
        return Reply(
            text="Nothing you follow closes in the next 120 days, so the calendar "
            "would be empty. /subscribe first, or tap “Remind me” on an alert."
        )
    content = deadlines_calendar(items, name="Signpost deadlines", now=services.clock.now())
    return Reply(
        text=f"{plural(len(items), 'deadline')} as a calendar file: open it to add "
        f"{'it' if len(items) == 1 else 'them'} to your "
        "calendar (each with reminders 14 and 3 days before).",
        attachment=("signpost-deadlines.ics", content),
    )
