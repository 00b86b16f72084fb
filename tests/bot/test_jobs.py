"""Scheduled jobs on both databases with a frozen clock: reminders across the change to BST,
digests at the chat's local hour, the term of the week, admin reports and closing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot import jobs
from bot.clock import FrozenClock
from bot.core.model import Chat, Opportunity
from bot.core.pipeline import Vocabulary
from tests.helpers.builders import (
    add_chat,
    add_opportunity,
    chat,
    opportunity,
    outbox_rows,
    subscription,
)

LONDON = ZoneInfo("Europe/London")

# The clocks go forward at 01:00 UTC on Sunday 29 March 2026.
DEADLINE = datetime(2026, 4, 2, 15, 0, tzinfo=UTC)  # 4pm BST
FOURTEEN_DAYS = datetime(2026, 3, 19, 15, 0, tzinfo=UTC)  # 14 x 24 h before: 3pm GMT
THREE_DAYS = datetime(2026, 3, 30, 15, 0, tzinfo=UTC)  # 4pm BST
TOLD = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


async def tracked_call(
    store,
    chat_id: int,
    *,
    closes_at: datetime = DEADLINE,
    since: datetime = TOLD,
    external_id: str = "1",
    **overrides,
) -> int:
    """An opportunity that ``chat_id`` was told about at ``since``."""
    item = opportunity(external_id, closes_at=closes_at, **overrides)
    opportunity_id = await add_opportunity(store, item, now=since)
    async with store.unit() as unit:
        await unit.tracking.track(chat_id, opportunity_id, now=since)
    return opportunity_id


async def reminders(store) -> list[tuple[int, int, str]]:
    """(opportunity id, days, closes_at) of every reminder queued, oldest first."""
    return [
        (row.opportunity_id, row.payload["days"], row.payload["closes_at"])
        for row in await outbox_rows(store)
        if row.reason == "reminder"
    ]


# ------------------------------------------------------------------ reminders
async def test_reminders_open_on_time_across_the_clock_change_and_only_once(store):
    # The 14-day window opens in GMT, the 3-day one and the deadline in BST.
    assert FOURTEEN_DAYS.astimezone(LONDON).utcoffset() == timedelta(0)
    assert THREE_DAYS.astimezone(LONDON).hour == DEADLINE.astimezone(LONDON).hour == 16
    told, _ = await add_chat(store, chat())
    item_id = await tracked_call(store, told.id)
    clock = FrozenClock(TOLD)
    timeline = [
        (datetime(2026, 3, 18, 15, 0, tzinfo=UTC), 0),
        (FOURTEEN_DAYS - MINUTE, 0),
        (FOURTEEN_DAYS, 1),
        (FOURTEEN_DAYS + timedelta(minutes=30), 0),
        (datetime(2026, 3, 29, 0, 30, tzinfo=UTC), 0),  # the last half hour of GMT
        (datetime(2026, 3, 29, 1, 30, tzinfo=UTC), 0),  # the first half hour of BST
        (THREE_DAYS - MINUTE, 0),
        (THREE_DAYS, 1),
        (THREE_DAYS + timedelta(minutes=30), 0),
        (DEADLINE - MINUTE, 0),
        (DEADLINE + MINUTE, 0),
    ]
    for at, expected in timeline:
        clock.set(at)
        assert await jobs.queue_reminders(store, clock) == expected, at

    closes = "2026-04-02T15:00:00+00:00"
    assert await reminders(store) == [(item_id, 14, closes), (item_id, 3, closes)]
    rows = await outbox_rows(store, told.id)
    assert [row.dedupe_key for row in rows] == [
        f"reminder:{item_id}:14:{closes}",
        f"reminder:{item_id}:3:{closes}",
    ]
    assert {row.status for row in rows} == {"pending"}


async def test_a_late_first_run_sends_only_the_most_urgent_reminder(store):
    told, _ = await add_chat(store, chat())
    item_id = await tracked_call(store, told.id)
    clock = FrozenClock(THREE_DAYS + timedelta(hours=5))
    assert await jobs.queue_reminders(store, clock) == 1
    assert [days for _, days, _ in await reminders(store)] == [3]
    assert (await reminders(store))[0][0] == item_id


@pytest.mark.parametrize(
    ("since", "expected"),
    [
        pytest.param(TOLD, [14, 3], id="told-weeks-before"),
        pytest.param(FOURTEEN_DAYS, [14, 3], id="told-as-the-14-day-window-opened"),
        pytest.param(datetime(2026, 3, 25, 9, 0, tzinfo=UTC), [3], id="told-within-14-days"),
        pytest.param(THREE_DAYS + timedelta(hours=1), [], id="told-within-3-days"),
    ],
)
async def test_no_reminder_for_a_window_already_open_when_the_chat_first_heard(
    store, since, expected
):
    told, _ = await add_chat(store, chat())
    await tracked_call(store, told.id, since=since)
    clock = FrozenClock(since)
    while clock.now() < DEADLINE:  # the job, every six hours until the deadline
        await jobs.queue_reminders(store, clock)
        clock.advance(timedelta(hours=6))
    assert [days for _, days, _ in await reminders(store)] == expected


async def test_a_moved_deadline_gets_fresh_reminders(store):
    told, _ = await add_chat(store, chat())
    item_id = await tracked_call(store, told.id)
    clock = FrozenClock(FOURTEEN_DAYS)
    assert await jobs.queue_reminders(store, clock) == 1

    moved = DEADLINE + timedelta(days=14)  # 16 April, 4pm BST
    await add_opportunity(store, opportunity("1", closes_at=moved), now=FOURTEEN_DAYS + MINUTE)
    for at, expected in [
        (THREE_DAYS, 0),  # the old deadline's 3-day window: nothing any more
        (moved - timedelta(days=14) - MINUTE, 0),
        (moved - timedelta(days=14), 1),
        (moved - timedelta(days=14) + MINUTE, 0),
        (moved - timedelta(days=3), 1),
    ]:
        clock.set(at)
        assert await jobs.queue_reminders(store, clock) == expected, at

    old, new = "2026-04-02T15:00:00+00:00", "2026-04-16T15:00:00+00:00"
    assert await reminders(store) == [(item_id, 14, old), (item_id, 14, new), (item_id, 3, new)]


@pytest.mark.parametrize("how", ["closed-early", "expired", "dismissed", "paused"])
async def test_no_reminders_for_what_is_closed_dismissed_or_paused(store, how):
    told, _ = await add_chat(store, chat())
    item_id = await tracked_call(store, told.id)
    clock = FrozenClock(FOURTEEN_DAYS - timedelta(hours=1))
    async with store.unit() as unit:
        if how == "closed-early":
            await unit.opportunities.upsert(
                opportunity("1", closes_at=DEADLINE, status="closed"), now=clock.now()
            )
        elif how == "expired":
            await unit.opportunities.upsert(
                opportunity("1", closes_at=clock.now() - MINUTE), now=clock.now()
            )
        elif how == "dismissed":
            await unit.tracking.dismiss(told.id, item_id, now=clock.now())
        else:
            await unit.chats.pause(told.id, "blocked", clock.now())
    for at in (FOURTEEN_DAYS, THREE_DAYS, DEADLINE - MINUTE):
        clock.set(at)
        assert await jobs.queue_reminders(store, clock) == 0
    assert await outbox_rows(store) == []


async def test_each_chat_gets_its_own_reminder(store):
    first, _ = await add_chat(store, chat("1"))
    second, _ = await add_chat(store, chat("2"))
    item_id = await tracked_call(store, first.id)
    async with store.unit() as unit:
        await unit.tracking.track(second.id, item_id, now=TOLD, reminder_days=[7])
    clock = FrozenClock(FOURTEEN_DAYS)
    assert await jobs.queue_reminders(store, clock) == 1
    clock.set(DEADLINE - timedelta(days=7))
    assert await jobs.queue_reminders(store, clock) == 1
    rows = await outbox_rows(store)
    assert [(r.chat_id, r.payload["days"]) for r in rows] == [(first.id, 14), (second.id, 7)]


# ------------------------------------------------------------------ closing
async def test_close_expired_closes_what_has_passed_its_deadline(store):
    early = await add_opportunity(store, opportunity("1", closes_at=DEADLINE))
    later = await add_opportunity(store, opportunity("2", closes_at=DEADLINE + timedelta(days=1)))
    undated = await add_opportunity(store, opportunity("3"))
    clock = FrozenClock(DEADLINE - MINUTE)
    assert await jobs.close_expired(store, clock) == 0
    clock.set(DEADLINE)
    assert await jobs.close_expired(store, clock) == 1
    assert await jobs.close_expired(store, clock) == 0
    async with store.unit() as unit:
        statuses = [(await unit.opportunities.get(i)).status for i in (early, later, undated)]
    assert statuses == ["closed", "open", "open"]


# ------------------------------------------------------------------ digests
async def hold(store, chat_id: int, external_id: str, *, now: datetime) -> int:
    """A matched opportunity held for ``chat_id``'s digest; returns the opportunity id."""
    opportunity_id = await add_opportunity(store, opportunity(external_id), now=now)
    async with store.unit() as unit:
        queued = await unit.outbox.enqueue(
            chat_id=chat_id,
            opportunity_id=opportunity_id,
            reason="new",
            dedupe_key=f"new:{opportunity_id}",
            payload={"why": f"why {external_id}"},
            now=now,
            held=True,
        )
    assert queued
    return opportunity_id


def digests(rows) -> list:
    return [row for row in rows if row.reason == "digest"]


@pytest.mark.parametrize(
    ("timezone", "day", "utc_hour"),
    [
        pytest.param("Europe/London", datetime(2026, 1, 14, tzinfo=UTC), 9, id="london-winter"),
        pytest.param("Europe/London", datetime(2026, 7, 15, tzinfo=UTC), 8, id="london-summer"),
        pytest.param("America/New_York", datetime(2026, 1, 14, tzinfo=UTC), 14, id="new-york"),
    ],
)
async def test_held_rows_become_one_daily_digest_at_the_chats_local_hour(
    store, timezone, day, utc_hour
):
    reader, _ = await add_chat(
        store, chat(timezone=timezone), subscription(mode="daily", digest_hour=9)
    )
    other, _ = await add_chat(store, chat("2"), subscription(mode="daily", digest_hour=18))
    first = await hold(store, reader.id, "a", now=day)
    second = await hold(store, reader.id, "b", now=day)
    await hold(store, other.id, "c", now=day)
    clock = FrozenClock(day)
    other_hour = 18 if day.month == 1 else 17  # 6pm in London

    for hour in range(24):
        clock.set(day + timedelta(hours=hour))
        queued = await jobs.queue_digests(store, clock)
        assert queued == (hour == utc_hour) + (hour == other_hour), hour
        if hour == utc_hour:
            assert clock.now().astimezone(ZoneInfo(timezone)).hour == 9

    rows = await outbox_rows(store, reader.id)
    assert [r.status for r in rows if r.reason == "new"] == ["digested", "digested"]
    (digest,) = digests(rows)
    assert digest.status == "pending"
    assert digest.opportunity_id is None
    assert digest.dedupe_key == f"digest:{day.date().isoformat()}"
    assert digest.payload == {
        "ids": [first, second],
        "whys": {str(first): "why a", str(second): "why b"},
        "title": "Your daily digest",
    }
    # The other chat's row went into its own digest at its own hour, not into this one.
    assert [r.status for r in await outbox_rows(store, other.id)] == ["digested", "pending"]


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        pytest.param(datetime(2026, 1, 13, 9, 0, tzinfo=UTC), 0, id="tuesday-9am"),
        pytest.param(datetime(2026, 1, 19, 8, 0, tzinfo=UTC), 0, id="monday-8am"),
        pytest.param(datetime(2026, 1, 19, 9, 0, tzinfo=UTC), 1, id="monday-9am-gmt"),
        pytest.param(datetime(2026, 7, 20, 8, 0, tzinfo=UTC), 1, id="monday-9am-bst"),
        pytest.param(datetime(2026, 7, 20, 9, 0, tzinfo=UTC), 0, id="monday-10am-bst"),
        pytest.param(datetime(2026, 7, 19, 8, 0, tzinfo=UTC), 0, id="sunday-9am-bst"),
    ],
)
async def test_a_weekly_digest_goes_out_on_its_weekday_only(store, at, expected):
    reader, _ = await add_chat(store, chat(), subscription(mode="weekly", digest_weekday=0))
    held = await hold(store, reader.id, "a", now=at - timedelta(days=3))
    clock = FrozenClock(at)
    assert await jobs.queue_digests(store, clock) == expected
    rows = await outbox_rows(store, reader.id)
    if expected:
        (digest,) = digests(rows)
        iso = at.astimezone(LONDON).isocalendar()
        assert digest.dedupe_key == f"digest:{iso.year}-W{iso.week:02d}"
        assert digest.payload["title"] == "Your weekly digest"
        assert digest.payload["ids"] == [held]
        assert rows[0].status == "digested"
    else:
        assert [r.status for r in rows] == ["held"]


async def test_a_daily_subscription_sets_the_digest_over_a_weekly_one(store):
    reader, _ = await add_chat(
        store,
        chat(),
        subscription(mode="weekly", digest_weekday=0, digest_hour=9),
        subscription(mode="daily", digest_hour=18),
    )
    await hold(store, reader.id, "a", now=datetime(2026, 1, 13, tzinfo=UTC))
    clock = FrozenClock(datetime(2026, 1, 14, 9, 0, tzinfo=UTC))  # a Wednesday
    assert await jobs.queue_digests(store, clock) == 0
    clock.set(datetime(2026, 1, 14, 18, 0, tzinfo=UTC))
    assert await jobs.queue_digests(store, clock) == 1
    (digest,) = digests(await outbox_rows(store))
    assert digest.payload["title"] == "Your daily digest"


async def test_a_paused_chat_keeps_its_held_rows(store):
    reader, _ = await add_chat(store, chat(), subscription(mode="daily"))
    await hold(store, reader.id, "a", now=datetime(2026, 1, 14, tzinfo=UTC))
    async with store.unit() as unit:
        await unit.chats.pause(reader.id, "kicked", datetime(2026, 1, 14, tzinfo=UTC))
    clock = FrozenClock(datetime(2026, 1, 14, 9, 0, tzinfo=UTC))
    assert await jobs.queue_digests(store, clock) == 0
    assert [r.status for r in await outbox_rows(store)] == ["held"]


async def test_running_the_digest_job_twice_queues_one_digest(store):
    reader, _ = await add_chat(store, chat(), subscription(mode="daily"))
    await hold(store, reader.id, "a", now=datetime(2026, 1, 14, tzinfo=UTC))
    clock = FrozenClock(datetime(2026, 1, 14, 9, 0, tzinfo=UTC))
    assert await jobs.queue_digests(store, clock) == 1
    clock.advance(timedelta(minutes=20))
    assert await jobs.queue_digests(store, clock) == 0
    assert len(digests(await outbox_rows(store))) == 1


async def test_a_match_held_after_the_digest_went_out_is_not_lost(store):
    reader, _ = await add_chat(store, chat(), subscription(mode="daily"))
    day = datetime(2026, 1, 14, tzinfo=UTC)
    await hold(store, reader.id, "a", now=day)
    clock = FrozenClock(day + timedelta(hours=9))
    assert await jobs.queue_digests(store, clock) == 1
    late = await hold(store, reader.id, "b", now=day + timedelta(hours=9, minutes=5))
    clock.advance(timedelta(minutes=10))  # a second replica, or a restart, in the same hour
    await jobs.queue_digests(store, clock)

    rows = await outbox_rows(store, reader.id)
    (late_row,) = [r for r in rows if r.opportunity_id == late]
    in_a_digest = any(late in d.payload["ids"] for d in digests(rows))
    assert late_row.status == "held" or in_a_digest


# ------------------------------------------------------------------ term of the week
@pytest.fixture(scope="module")
def vocabulary() -> Vocabulary:
    return Vocabulary.load()


async def test_term_of_the_week_once_per_iso_week_to_opted_in_chats(store, vocabulary):
    opted_in, _ = await add_chat(store, chat("1", term_of_week=True))
    await add_chat(store, chat("2", term_of_week=False))
    paused, _ = await add_chat(store, chat("3", term_of_week=True))
    monday = datetime(2026, 3, 30, 8, 0, tzinfo=UTC)  # 9am BST, ISO week 14
    async with store.unit() as unit:
        await unit.chats.pause(paused.id, "blocked", monday)
    clock = FrozenClock(monday)

    assert await jobs.queue_term_of_week(store, clock, vocabulary) == 1
    for later in (timedelta(hours=1), timedelta(days=3), timedelta(days=6, hours=14)):
        clock.set(monday + later)  # up to Sunday 10:00 BST, still week 14
        assert await jobs.queue_term_of_week(store, clock, vocabulary) == 0
    # Sunday 23:30 UTC is already Monday 00:30 in London: week 15.
    clock.set(datetime(2026, 4, 5, 22, 30, tzinfo=UTC))
    assert await jobs.queue_term_of_week(store, clock, vocabulary) == 0
    clock.set(datetime(2026, 4, 5, 23, 30, tzinfo=UTC))
    assert await jobs.queue_term_of_week(store, clock, vocabulary) == 1

    rows = await outbox_rows(store)
    assert [(r.chat_id, r.reason, r.dedupe_key) for r in rows] == [
        (opted_in.id, "glossary", "glossary:2026-W14"),
        (opted_in.id, "glossary", "glossary:2026-W15"),
    ]
    week14 = vocabulary.glossary.term_of_week(2026, 14).slug
    week15 = vocabulary.glossary.term_of_week(2026, 15).slug
    assert [r.payload for r in rows] == [{"slug": week14}, {"slug": week15}]
    assert week14 != week15


async def test_term_of_the_week_with_nobody_opted_in_queues_nothing(store, vocabulary):
    await add_chat(store, chat())
    clock = FrozenClock(datetime(2026, 3, 30, 8, 0, tzinfo=UTC))
    assert await jobs.queue_term_of_week(store, clock, vocabulary) == 0
    assert await outbox_rows(store) == []


# ------------------------------------------------------------------ admin reports
ADMINS = frozenset({("telegram", "111"), ("slack", "U222")})
REPORT_AT = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)


async def source_states(store, *, failing: int = 0, suspect: bool = False, silent: bool = False):
    """A healthy "ukri", and "nihr" failing ``failing`` times, "tnlcf" parsing to nothing
    after having had items, "ical" last working three days ago, as asked."""
    now = REPORT_AT - timedelta(minutes=10)
    later = now + timedelta(hours=6)
    async with store.unit() as unit:
        await unit.polling.record_success(
            "ukri", now=now, items=12, next_poll_at=later, duration_ms=300
        )
        for _ in range(failing):
            await unit.polling.record_failure(
                "nihr", now=now, error="HTTP 503", next_poll_at=later, duration_ms=100
            )
        if suspect:
            for items in (8, 0):
                await unit.polling.record_success(
                    "tnlcf", now=now, items=items, next_poll_at=later, duration_ms=200
                )
        if silent:
            await unit.polling.record_success(
                "ical",
                now=REPORT_AT - timedelta(days=3),
                items=4,
                next_poll_at=later,
                duration_ms=200,
            )


async def admin_chats(store) -> dict[int, tuple[str, str]]:
    found = {}
    async with store.unit() as unit:
        for platform, user_id in ADMINS:
            admin = await unit.chats.find(platform, user_id)
            if admin is not None:
                found[admin.id] = (admin.platform, admin.platform_chat_id)
    return found


async def test_report_tells_admins_about_failing_and_suspect_sources(store):
    await add_opportunity(store, opportunity("1"))
    await add_opportunity(store, opportunity("2", status="closed"))
    await source_states(store, failing=3, suspect=True, silent=True)
    clock = FrozenClock(REPORT_AT)

    text = await jobs.source_health_report(store, clock, ADMINS, daily=False)

    assert text == (
        "Signpost report\n"
        "failing: nihr (3×): HTTP 503\n"
        "markup may have changed: tnlcf\n"
        "silent for 2+ days: ical\n"
        "opportunities: closed 1, open 1"
    )
    admins = await admin_chats(store)
    assert sorted(admins.values()) == [("slack", "U222"), ("telegram", "111")]
    rows = await outbox_rows(store)
    assert sorted(r.chat_id for r in rows) == sorted(admins)
    assert {(r.reason, r.status) for r in rows} == {("notice", "pending")}
    assert all(r.payload == {"text": text} for r in rows)
    assert len({r.dedupe_key for r in rows}) == 1

    # The same report again within the hour is not sent twice.
    clock.advance(timedelta(minutes=20))
    assert await jobs.source_health_report(store, clock, ADMINS, daily=False) == text
    assert len(await outbox_rows(store)) == 2


@pytest.mark.parametrize(
    ("failing", "expected"),
    [
        pytest.param(2, "", id="two-failures-is-not-yet-failing"),
        pytest.param(3, "failing: nihr (3×): HTTP 503", id="three-failures"),
        pytest.param(5, "failing: nihr (5×): HTTP 503", id="five-failures"),
    ],
)
async def test_a_source_is_failing_from_three_failures(store, failing, expected):
    await source_states(store, failing=failing)
    text = await jobs.source_health_report(store, FrozenClock(REPORT_AT), ADMINS, daily=False)
    assert text.split("\n")[1:2] == ([expected] if expected else [])
    assert len(await outbox_rows(store)) == (2 if expected else 0)


async def test_a_healthy_day_is_silent_unless_daily(store):
    await add_opportunity(store, opportunity("1"))
    await source_states(store)
    clock = FrozenClock(REPORT_AT)

    assert await jobs.source_health_report(store, clock, ADMINS, daily=False) == ""
    assert await outbox_rows(store) == []
    assert await admin_chats(store) == {}

    daily = await jobs.source_health_report(store, clock, ADMINS, daily=True)
    assert daily == "Signpost report\nopportunities: open 1"
    rows = await outbox_rows(store)
    assert len(rows) == 2
    assert {r.payload["text"] for r in rows} == {daily}


async def test_dead_letters_are_reported(store):
    await source_states(store)
    reader, _ = await add_chat(store, chat())
    async with store.unit() as unit:
        await unit.outbox.enqueue(
            chat_id=reader.id, reason="notice", dedupe_key="n", payload={}, now=REPORT_AT
        )
        (claimed,) = await unit.outbox.claim(owner="t", now=REPORT_AT, lease=timedelta(minutes=1))
        await unit.outbox.mark_dead(claimed.id, "t", error="400 Bad Request")
    text = await jobs.source_health_report(store, FrozenClock(REPORT_AT), ADMINS, daily=False)
    assert "dead-lettered alerts: 1" in text.split("\n")


async def test_notify_admins_reuses_an_admins_existing_chat(store):
    existing, _ = await add_chat(store, Chat("telegram", "111", title="Alex"))
    clock = FrozenClock(REPORT_AT)
    assert await jobs.notify_admins(store, clock, ADMINS, "hello", key="k1") == 2
    assert await jobs.notify_admins(store, clock, ADMINS, "hello", key="k1") == 0
    rows = await outbox_rows(store)
    assert existing.id in {r.chat_id for r in rows}
    assert len(await admin_chats(store)) == 2
    assert [r.payload for r in rows] == [{"text": "hello"}, {"text": "hello"}]


async def test_a_held_match_goes_out_at_once_when_its_deadline_nears(store):
    """Digest mode waits, but not past the point where waiting would miss the deadline."""
    start = datetime(2026, 3, 1, 9, tzinfo=UTC)
    clock = FrozenClock(start)
    async with store.unit() as unit:
        chat_row = await unit.chats.ensure(Chat("console", "held"), now=start)
        result = await unit.opportunities.upsert(
            Opportunity(
                source="t",
                external_id="held",
                url="https://example.org/h",
                title="Held call",
                closes_at=start + timedelta(days=10),
            ),
            now=start,
        )
        await unit.outbox.enqueue(
            chat_id=chat_row.id,
            opportunity_id=result.id,
            reason="new",
            dedupe_key=f"new:{result.id}",
            now=start,
            held=True,
        )
        await unit.tracking.track(chat_row.id, result.id, now=start)
    assert await jobs.release_urgent_held(store, clock) == 0
    clock.advance(timedelta(days=4))
    assert await jobs.release_urgent_held(store, clock) == 1
    async with store.unit() as unit:
        assert await unit.outbox.counts() == {"pending": 1}
