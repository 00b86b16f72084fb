"""Status as of now wherever it is shown: /calls and /events, alerts and digests, and the rule.

The stored ``status`` is written at ingest and corrected only by the close-expired job; these
tests move the clock without running that job, as happens after an offline replay or in the
half hour between two runs of it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import FrozenClock
from bot.console import render
from bot.core.commands import Commands
from bot.core.context import Context, Services
from bot.core.model import Chat, Opportunity
from bot.core.pipeline import Vocabulary, search_text
from bot.core.status import status_at
from bot.delivery.compose import Obsolete, compose
from storage.repos.outbox import QueuedMessage

NOW = datetime(2025, 3, 28, 12, tzinfo=UTC)
A_YEAR_ON = datetime(2026, 4, 28, 9, tzinfo=UTC)


def call(n: int, title: str, **fields) -> Opportunity:
    return Opportunity(
        source="t",
        external_id=str(n),
        url=f"https://example.org/{n}",
        title=title,
        funders=["MRC"],
        topics=["mental-health"],
        **fields,
    )


def event(n: int, title: str, starts: datetime, ends: datetime | None = None) -> Opportunity:
    return Opportunity(
        source="t",
        external_id=f"e{n}",
        url=f"https://example.org/e{n}",
        title=title,
        kind="event",
        starts_at=starts,
        ends_at=ends,
    )


@pytest.fixture(scope="module")
def vocabulary() -> Vocabulary:
    return Vocabulary.load()


@pytest.fixture
async def bot(store, vocabulary):
    clock = FrozenClock(NOW)
    services = Services(store, clock, vocabulary, source_names=lambda: ["ukri"])
    items = [
        call(1, "Mental health of nurses", closes_at=NOW + timedelta(days=2)),
        call(2, "Youth mental health research", closes_at=NOW + timedelta(days=40)),
        call(
            3,
            "Mental health data science",
            opens_at=A_YEAR_ON,
            closes_at=A_YEAR_ON + timedelta(days=60),
        ),
        event(1, "Peer support webinar", NOW - timedelta(days=560)),  # September 2023
        event(2, "Lived experience conference", NOW - timedelta(hours=2), NOW + timedelta(hours=6)),
        event(3, "Research cafe", NOW + timedelta(days=9)),
    ]
    async with store.unit() as unit:
        chat = await unit.chats.ensure(Chat("console", "local"), now=NOW)
        for item in items:  # stored as parsed: nothing here has been closed by a job
            item.status = "upcoming" if item.opens_at else "open"
            await unit.opportunities.upsert(
                item, now=NOW, search_text=search_text(item, vocabulary)
            )
    return Commands(services), Context(chat, "u1", can_manage=True, is_admin=False), clock


def titles(reply) -> list[str]:
    return [s.heading for s in reply.sections if s.url]


async def test_a_call_past_its_deadline_is_not_listed_by_search_or_listing(bot):
    commands, ctx, clock = bot
    clock.advance(timedelta(days=3))  # call 1 closed a day ago; its row still says "open"
    found = await commands.handle(ctx, "/calls mental health")
    listed = await commands.handle(ctx, "/calls")
    assert "Mental health of nurses" not in titles(found) + titles(listed)
    assert (
        titles(found)
        == titles(listed)
        == [
            "Youth mental health research",
            "Mental health data science",
        ]
    )


async def test_an_upcoming_call_says_when_it_opens_in_its_own_section(bot):
    commands, ctx, _ = bot
    for text in ("/calls mental health", "/calls"):
        reply = await commands.handle(ctx, text)
        headings = [s.heading for s in reply.sections]
        assert headings[0] == "Open now"
        later = headings.index("Opening later")
        assert headings[later + 1 :] == ["Mental health data science"]
        assert "Mental health data science" not in headings[:later]
        shown = render(reply)
        assert "Opens 28 Apr 2026, 10:00am · Closes 27 Jun 2026, 10:00am" in shown
        assert "opens soon" not in shown.lower()
    assert reply.text == "Calls (1–3), soonest closing first, no closing date last"


async def test_only_upcoming_results_are_headed_as_such(bot):
    commands, ctx, _ = bot
    reply = await commands.handle(ctx, "/calls data science")
    assert reply.text == (
        "Calls opening later for “data science” (1–1 of 1), soonest closing first, "
        "no closing date last"
    )
    assert [s.heading for s in reply.sections] == ["Opening later", "Mental health data science"]


async def test_once_its_opening_date_passes_an_upcoming_call_is_open(bot):
    commands, ctx, clock = bot
    clock.set(A_YEAR_ON + timedelta(days=1))
    reply = await commands.handle(ctx, "/calls data science")
    assert reply.text == (
        "Open calls for “data science” (1–1 of 1), soonest closing first, no closing date last"
    )
    assert "Opens" not in render(reply)


async def test_events_that_have_happened_are_not_listed(bot):
    commands, ctx, _ = bot
    reply = await commands.handle(ctx, "/events")
    assert titles(reply) == ["Lived experience conference", "Research cafe"]
    found = await commands.handle(ctx, "/events peer support")
    assert titles(found) == []


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"status": "open", "closes_at": NOW - timedelta(minutes=1)}, "closed"),
        ({"status": "upcoming", "opens_at": NOW - timedelta(days=1)}, "open"),
        ({"status": "open", "opens_at": NOW + timedelta(days=1)}, "upcoming"),
        ({"status": "upcoming"}, "upcoming"),  # the page said so and gives no date
        ({"status": "closed", "closes_at": NOW + timedelta(days=9)}, "closed"),  # paused
        ({"kind": "event", "starts_at": NOW - timedelta(hours=1)}, "closed"),
        (
            {
                "kind": "event",
                "starts_at": NOW - timedelta(hours=1),
                "ends_at": NOW + timedelta(hours=1),
            },
            "open",
        ),
        ({"kind": "call", "starts_at": NOW - timedelta(days=1)}, "open"),
    ],
)
def test_status_at_follows_the_clock(fields, expected):
    assert status_at(Opportunity("s", "1", "https://x.example/", "T", **fields), NOW) == expected


def queued(reason: str, opportunity_id: int | None, chat_id: int, **payload) -> QueuedMessage:
    return QueuedMessage(1, chat_id, opportunity_id, reason, payload, 0, NOW)


async def test_alerts_and_digests_apply_the_clock_when_sent(bot, store, vocabulary):
    _, ctx, _ = bot
    async with store.unit() as unit:
        nurses = (await unit.opportunities.find("t", "1")).id
        youth = (await unit.opportunities.find("t", "2")).id
        science = (await unit.opportunities.find("t", "3")).id
        later = NOW + timedelta(days=3)
        with pytest.raises(Obsolete):
            await compose(unit, queued("new", nurses, ctx.chat_id), ctx.chat, vocabulary, later)
        digest = await compose(
            unit,
            queued("digest", None, ctx.chat_id, ids=[nurses, youth, science], whys={}),
            ctx.chat,
            vocabulary,
            later,
        )
        alert = await compose(unit, queued("new", science, ctx.chat_id), ctx.chat, vocabulary, NOW)
    assert [s.heading for s in digest.sections] == [
        "Youth mental health research",
        "Mental health data science",
    ]
    assert "Opens 28 Apr 2026" in render(alert)
    assert "opens soon" not in render(alert).lower()
