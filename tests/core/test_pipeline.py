"""The Ingestor, end to end on both databases: parsed items in, outbox and tracking rows out."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import FrozenClock
from bot.core.model import Opportunity
from bot.core.pipeline import Ingestor, Vocabulary
from sources.base import ParseResult, Source, SourceConfig
from tests.helpers.builders import add_chat, chat, opportunity, outbox_rows, subscription

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
DEADLINE = datetime(2026, 4, 16, 15, 0, tzinfo=UTC)  # 4pm UK time (BST)
MOVED = datetime(2026, 4, 30, 15, 0, tzinfo=UTC)
MOVED_AGAIN = datetime(2026, 5, 14, 15, 0, tzinfo=UTC)
PEER = "peer-support"


class StubSource(Source):
    """A source whose items the test hands to the Ingestor directly."""

    type_name = "stub"

    def parse(self, body: bytes, url: str) -> ParseResult:
        return ParseResult()


SOURCE = StubSource(SourceConfig(name="stub", type="stub", url="https://funder.example/calls"))
MIRROR = StubSource(SourceConfig(name="mirror", type="stub", url="https://mirror.example/"))


def call(external_id: str = "call-1", **overrides) -> Opportunity:
    """A fresh copy each time: the Ingestor normalises and tags items in place."""
    values = {
        "title": "Peer support networks research call",
        "summary": "Funding for research into how peer support networks help people recover.",
        "closes_at": DEADLINE,
        "funders": ["MRC"],
    }
    values.update(overrides)
    return opportunity(external_id, **values)


@pytest.fixture(scope="module")
def vocabulary() -> Vocabulary:
    return Vocabulary.load()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def ingest(store, clock, vocabulary) -> Ingestor:
    return Ingestor(store, clock, vocabulary)


async def stored(store, source: str = "stub", external_id: str = "call-1") -> Opportunity:
    async with store.unit() as unit:
        item = await unit.opportunities.find(source, external_id)
    assert item is not None
    return item


async def tracked(store, chat_id: int) -> dict[int, list[int]]:
    """{opportunity id: reminder days} tracked for a chat."""
    async with store.unit() as unit:
        export = await unit.chats.export(chat_id)
    return {t["opportunity_id"]: t["reminder_days"] for t in export["tracked"]}


# ------------------------------------------------------------------ new items
async def test_a_new_match_queues_one_alert_per_chat_with_why_and_tracks_it(store, ingest):
    two_subs, _ = await add_chat(
        store,
        chat("1"),
        subscription(topics=[PEER]),
        subscription(keywords=["recover"], reminder_days=[7]),
    )
    by_funder, _ = await add_chat(
        store, chat("2"), subscription(funders=["Medical Research Council"])
    )
    unrelated, _ = await add_chat(store, chat("3"), subscription(topics=["dementia"]))

    stats = await ingest(SOURCE, [call()])

    item = await stored(store)
    assert item.topics == [PEER]
    assert (stats.new, stats.updated, stats.unchanged) == (1, 0, 0)
    (row,) = await outbox_rows(store, two_subs.id)
    assert (row.reason, row.status, row.opportunity_id) == ("new", "pending", item.id)
    assert row.dedupe_key == f"new:{item.id}"
    assert row.payload == {"why": "Peer support · “recover”"}
    (row,) = await outbox_rows(store, by_funder.id)
    assert (row.reason, row.payload) == ("new", {"why": "MRC"})
    assert await outbox_rows(store, unrelated.id) == []
    assert len(await outbox_rows(store)) == 2

    assert await tracked(store, two_subs.id) == {item.id: [14, 7, 3]}
    assert await tracked(store, by_funder.id) == {item.id: [14, 3]}
    assert await tracked(store, unrelated.id) == {}


async def test_a_replay_queues_nothing_and_reports_unchanged(store, clock, vocabulary, ingest):
    subscriber, _ = await add_chat(store, chat(), subscription(topics=[PEER]))
    await ingest(SOURCE, [call()])
    before = await outbox_rows(store)

    again = await ingest(SOURCE, [call()])
    after_restart = await Ingestor(store, clock, vocabulary)(SOURCE, [call()])

    assert (again.new, again.updated, again.unchanged) == (0, 0, 1)
    assert (after_restart.new, after_restart.updated, after_restart.unchanged) == (0, 0, 1)
    assert await outbox_rows(store) == before
    assert len(before) == 1

    # Even queueing the same new item again directly is absorbed by the unique key.
    item = await stored(store)
    async with store.unit() as unit:
        matches = (await ingest.index(unit)).match(item)
        assert [m.subscription.chat_id for m in matches] == [subscriber.id]
        assert await ingest.queue_new(unit, item, matches) == 0
    assert await outbox_rows(store) == before


async def test_a_paused_chat_gets_nothing(store, clock, ingest):
    paused, _ = await add_chat(store, chat(), subscription(topics=[PEER]))
    async with store.unit() as unit:
        await unit.chats.pause(paused.id, "blocked the bot", clock.now())
    await ingest(SOURCE, [call()])
    assert await outbox_rows(store) == []
    assert await tracked(store, paused.id) == {}


async def test_a_subscription_added_later_is_seen_by_the_same_ingestor(store, ingest):
    await ingest(SOURCE, [call()])
    assert await outbox_rows(store) == []
    late, _ = await add_chat(store, chat(), subscription(topics=[PEER]))
    await ingest(SOURCE, [call(external_id="call-2", url="https://funder.example/calls/2")])
    (row,) = await outbox_rows(store)
    assert row.chat_id == late.id
    assert row.opportunity_id == (await stored(store, external_id="call-2")).id


# ------------------------------------------------------------------ digests and urgency
@pytest.mark.parametrize(
    ("modes", "status"),
    [
        pytest.param(["daily"], "held", id="daily"),
        pytest.param(["weekly"], "held", id="weekly"),
        pytest.param(["weekly", "daily"], "held", id="both-digests"),
        pytest.param(["daily", "instant"], "pending", id="one-instant-is-enough"),
    ],
)
async def test_digest_mode_holds_the_alert(store, ingest, modes, status):
    subscriber, _ = await add_chat(
        store, chat(), *(subscription(topics=[PEER], mode=mode) for mode in modes)
    )
    await ingest(SOURCE, [call()])
    (row,) = await outbox_rows(store, subscriber.id)
    assert (row.reason, row.status) == ("new", status)


@pytest.mark.parametrize(
    ("left", "reason", "status"),
    [
        pytest.param(timedelta(hours=2), "urgent", "pending", id="hours"),
        pytest.param(timedelta(days=7), "urgent", "pending", id="exactly-7-days"),
        pytest.param(timedelta(days=7, minutes=1), "new", "held", id="just-over-7-days"),
        pytest.param(timedelta(days=30), "new", "held", id="a-month"),
    ],
)
async def test_a_deadline_within_a_week_is_urgent_and_never_held(
    store, ingest, left, reason, status
):
    subscriber, _ = await add_chat(store, chat(), subscription(topics=[PEER], mode="weekly"))
    await ingest(SOURCE, [call(closes_at=NOW + left)])
    (row,) = await outbox_rows(store, subscriber.id)
    assert (row.reason, row.status) == (reason, status)


# ------------------------------------------------------------------ updates
async def test_a_moved_deadline_is_told_once_to_tracking_chats_only(store, clock, ingest):
    told, _ = await add_chat(store, chat("1"), subscription(topics=[PEER]))
    dismissed, _ = await add_chat(store, chat("2"), subscription(funders=["MRC"]))
    await ingest(SOURCE, [call()])
    item = await stored(store)
    async with store.unit() as unit:
        await unit.tracking.dismiss(dismissed.id, item.id, now=clock.now())
    late, _ = await add_chat(store, chat("3"), subscription(topics=[PEER]))
    clock.advance(timedelta(days=1))

    stats = await ingest(SOURCE, [call(closes_at=MOVED)])

    assert (stats.new, stats.updated, stats.unchanged) == (0, 1, 0)
    updates = [r for r in await outbox_rows(store) if r.reason == "update"]
    assert [(r.chat_id, r.opportunity_id, r.status) for r in updates] == [
        (told.id, item.id, "pending")
    ]
    assert updates[0].payload == {"changes": ["closes_at"]}
    assert updates[0].dedupe_key.startswith(f"update:{item.id}:")
    assert await outbox_rows(store, late.id) == []

    # The same state again, or a new summary, is not news.
    await ingest(SOURCE, [call(closes_at=MOVED)])
    summary = await ingest(SOURCE, [call(closes_at=MOVED, summary="Peer support networks.")])
    assert summary.updated == 1
    assert len([r for r in await outbox_rows(store) if r.reason == "update"]) == 1

    # A second, different move is a distinct change.
    await ingest(SOURCE, [call(closes_at=MOVED_AGAIN)])
    updates = [r for r in await outbox_rows(store) if r.reason == "update"]
    assert [r.chat_id for r in updates] == [told.id, told.id]
    assert len({r.dedupe_key for r in updates}) == 2
    assert (await stored(store)).closes_at == MOVED_AGAIN


async def test_a_summary_change_alone_queues_nothing(store, ingest):
    await add_chat(store, chat(), subscription(topics=[PEER]))
    await ingest(SOURCE, [call()])
    before = await outbox_rows(store)
    stats = await ingest(SOURCE, [call(summary="Peer support networks: new guidance notes.")])
    assert (stats.new, stats.updated, stats.unchanged) == (0, 1, 0)
    assert await outbox_rows(store) == before
    assert (await stored(store)).summary == "Peer support networks: new guidance notes."


async def test_an_opening_is_told_to_those_who_heard_it_was_coming(store, clock, ingest):
    told, _ = await add_chat(store, chat(), subscription(topics=[PEER]))
    opens = NOW + timedelta(days=2)
    await ingest(SOURCE, [call(opens_at=opens)])
    assert (await stored(store)).status == "upcoming"
    (new,) = await outbox_rows(store, told.id)
    assert new.reason == "new"

    clock.set(opens + timedelta(hours=1))
    await ingest(SOURCE, [call(opens_at=opens)])

    assert (await stored(store)).status == "open"
    rows = await outbox_rows(store, told.id)
    assert [r.reason for r in rows] == ["new", "update"]
    assert rows[1].payload == {"changes": ["status:upcoming->open"]}


async def test_a_call_closing_early_queues_nothing(store, clock, ingest):
    await add_chat(store, chat(), subscription(topics=[PEER]))
    await ingest(SOURCE, [call()])
    clock.advance(timedelta(days=1))
    stats = await ingest(SOURCE, [call(closes_at=NOW + timedelta(hours=12))])
    assert stats.updated == 1
    assert (await stored(store)).status == "closed"
    assert [r.reason for r in await outbox_rows(store)] == ["new"]


# ------------------------------------------------------------------ what is never alerted
@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"closes_at": NOW - timedelta(minutes=1)}, id="deadline-passed"),
        pytest.param({"closes_at": NOW}, id="deadline-now"),
        pytest.param({"closes_at": None, "status": "closed"}, id="page-says-closed"),
    ],
)
async def test_a_closed_item_is_stored_closed_and_queues_nothing(store, ingest, overrides):
    subscriber, _ = await add_chat(store, chat(), subscription(topics=[PEER]))
    stats = await ingest(SOURCE, [call(**overrides)])
    assert stats.new == 1
    assert (await stored(store)).status == "closed"
    assert await outbox_rows(store) == []
    assert await tracked(store, subscriber.id) == {}


@pytest.mark.parametrize(
    ("stated", "opens_at", "closes_at", "status"),
    [
        pytest.param("open", None, NOW - timedelta(seconds=1), "closed", id="past-close"),
        pytest.param("open", NOW + timedelta(days=1), DEADLINE, "upcoming", id="future-open"),
        pytest.param("open", NOW - timedelta(days=1), DEADLINE, "open", id="opened"),
        pytest.param("closed", NOW - timedelta(days=1), DEADLINE, "closed", id="page-says"),
        pytest.param("open", None, None, "open", id="no-dates"),
    ],
)
async def test_status_is_derived_from_the_clock(store, ingest, stated, opens_at, closes_at, status):
    await ingest(SOURCE, [call(status=stated, opens_at=opens_at, closes_at=closes_at)])
    assert (await stored(store)).status == status


@pytest.mark.parametrize(
    "copy",
    [
        pytest.param(
            {"url": "https://mirror.example/peer-support-call"}, id="same-title-and-closing-day"
        ),
        pytest.param(
            {
                "title": "Peer support: research call (reposted)",
                "url": "https://funder.example/calls/call-1/?utm_source=newsletter",
            },
            id="same-canonical-url",
        ),
    ],
)
async def test_a_repost_from_another_source_queues_nothing(store, ingest, copy):
    subscriber, _ = await add_chat(store, chat(), subscription(topics=[PEER]))
    await ingest(SOURCE, [call()])
    original = await stored(store)

    stats = await ingest(MIRROR, [call(source="mirror", external_id="m-1", **copy)])
    moved = await ingest(
        MIRROR, [call(source="mirror", external_id="m-1", closes_at=MOVED, **copy)]
    )

    assert (stats.new, moved.updated) == (1, 1)
    assert (await stored(store, "mirror", "m-1")).closes_at == MOVED
    async with store.unit() as unit:
        originals = await unit.opportunities.listing(statuses=())
    assert [item.id for item in originals] == [original.id]
    (row,) = await outbox_rows(store)
    assert (row.chat_id, row.opportunity_id, row.reason) == (subscriber.id, original.id, "new")


async def test_a_call_first_seen_closed_that_reopens_reaches_its_subscribers(store, ingest):
    subscriber, _ = await add_chat(store, chat(), subscription(topics=[PEER]))
    await ingest(SOURCE, [call(closes_at=NOW - timedelta(days=30))])
    assert (await stored(store)).status == "closed"
    assert await outbox_rows(store) == []

    stats = await ingest(SOURCE, [call(closes_at=DEADLINE)])

    item = await stored(store)
    assert (stats.updated, item.status) == (1, "open")
    rows = await outbox_rows(store, subscriber.id)
    assert [row.opportunity_id for row in rows] == [item.id]
    assert await tracked(store, subscriber.id) == {item.id: [14, 3]}


@pytest.mark.parametrize(
    ("opens_at", "moved_to", "changes"),
    [
        pytest.param(
            NOW + timedelta(days=10), NOW + timedelta(days=12), ["opens_at"], id="not-open-yet"
        ),
        pytest.param(NOW - timedelta(days=10), NOW - timedelta(days=12), None, id="already-open"),
    ],
)
async def test_a_new_opening_date_matters_only_before_opening(
    store, ingest, opens_at, moved_to, changes
):
    told, _ = await add_chat(store, chat(), subscription(topics=[PEER]))
    await ingest(SOURCE, [call(opens_at=opens_at)])
    await ingest(SOURCE, [call(opens_at=moved_to)])
    assert (await stored(store)).opens_at == moved_to
    updates = [
        r.payload["changes"] for r in await outbox_rows(store, told.id) if r.reason == "update"
    ]
    assert updates == ([changes] if changes else [])


# ------------------------------------------------------------------ one bad item
async def test_a_bad_item_is_skipped_counted_and_its_siblings_stored(store, ingest, caplog):
    unstorable = call("call-2", title="Peer support call two")
    unstorable.kind = None  # NOT NULL in both databases: the INSERT itself fails
    items = [call("call-1"), unstorable, call("call-3", title="Peer support call three")]
    stats = await ingest(SOURCE, items)
    assert (stats.new, stats.skipped) == (2, 1)
    assert stats.first_error.startswith("item 'call-2': IntegrityError")
    assert (await stored(store, external_id="call-3")).title == "Peer support call three"
    async with store.unit() as unit:
        assert await unit.opportunities.find("stub", "call-2") is None
    assert caplog.text.count("1 of 3 items skipped") == 1
    again = await ingest(SOURCE, [call("call-1")])  # the transaction was left usable
    assert (again.unchanged, again.skipped) == (1, 0)


async def test_unstorable_text_and_implausible_amounts_are_dropped_not_fatal(store, ingest):
    items = [
        call("call-1", title="Peer\x00 support \ud800call", award_max_pence=10**30),
        call("call-2", summary="Nul\x00 here", award_min_pence=5_000_00, extra={"k\x00": "v\x00"}),
    ]
    stats = await ingest(SOURCE, items)
    assert (stats.new, stats.skipped) == (2, 0)
    first, second = await stored(store), await stored(store, external_id="call-2")
    assert (first.title, first.award_max_pence) == ("Peer support call", None)
    assert (second.summary, second.award_min_pence) == ("Nul here", 500000)
    assert second.extra == {"k": "v"}


async def test_items_are_isolated_but_the_batch_stays_one_transaction(store, ingest):
    """Savepoints must nest inside the batch's transaction: on SQLite the driver's own BEGIN
    handling made the first RELEASE commit, so a poll cancelled mid-batch kept half of it."""
    store_one = ingest._store

    async def cancelled_on_the_second(unit, item, *args):
        if item.external_id == "call-2":
            raise asyncio.CancelledError  # a shutdown mid-batch: not an item's fault
        return await store_one(unit, item, *args)

    ingest._store = cancelled_on_the_second
    with pytest.raises(asyncio.CancelledError):
        await ingest(SOURCE, [call("call-1"), call("call-2", title="Peer support call two")])
    async with store.unit() as unit:
        assert await unit.opportunities.find("stub", "call-1") is None


# ------------------------------------------------------------------ floods
ADMIN = ("telegram", "900")


def event(n: int, batch: str = "") -> Opportunity:
    """A calendar entry; ``batch`` changes its guid, as a feed regenerating its ids does."""
    return opportunity(
        f"event-{batch}{n}",
        title=f"Community drop-in session {n}",
        kind="event",
        closes_at=DEADLINE + timedelta(days=n % 60),
    )


@pytest.fixture
def guarded(store, clock, vocabulary) -> Ingestor:
    return Ingestor(store, clock, vocabulary, admins=[ADMIN])


async def source_state(store, name: str = "stub"):
    async with store.unit() as unit:
        return await unit.polling.get(name)


async def notices(store) -> list[str]:
    return [r.payload["text"] for r in await outbox_rows(store) if r.reason == "notice"]


async def admin_says(store, clock, vocabulary, text: str) -> str:
    from bot.core.commands import Commands
    from bot.core.context import Context, Services

    services = Services(
        store, clock, vocabulary, admins=frozenset({ADMIN}), source_names=lambda: ["stub"]
    )
    async with store.unit() as unit:
        where = await unit.chats.ensure(chat(ADMIN[1]), now=NOW)
    reply = await Commands(services).handle(Context(where, ADMIN[1], is_admin=True), text)
    return reply.plain()


async def test_a_chat_gets_ten_instant_alerts_from_one_poll_and_the_rest_in_one_digest(
    store, guarded
):
    instant, _ = await add_chat(store, chat("1"), subscription())
    daily, _ = await add_chat(store, chat("2"), subscription(mode="daily"))

    stats = await guarded(SOURCE, [event(n) for n in range(25)])

    assert stats.new == 25
    rows = await outbox_rows(store, instant.id)
    alerts = [r for r in rows if r.reason == "new"]
    assert [r.status for r in alerts] == ["pending"] * 10 + ["digested"] * 15
    [digest] = [r for r in rows if r.reason == "digest"]
    assert digest.status == "pending"
    assert digest.payload["ids"] == [r.opportunity_id for r in alerts[10:]]
    assert digest.payload["title"] == "More from stub"
    # A digest-mode chat's matches wait for its own digest, as before: no cap needed.
    assert {r.status for r in await outbox_rows(store, daily.id)} == {"held"}
    assert len(await outbox_rows(store, daily.id)) == 25
    assert (await source_state(store)).held_at is None
    assert await notices(store) == []


async def test_a_calendar_of_thousands_of_events_is_held_stored_and_admins_told_once(
    store, clock, vocabulary, guarded
):
    """The calendar in the field had 20,000 events; 1,000 cross the same line (500 on a
    first poll) at a twentieth of the time."""
    subscriber, _ = await add_chat(store, chat("1"), subscription())

    stats = await guarded(SOURCE, [event(n) for n in range(1_000)])

    assert stats.new == 1_000
    async with store.unit() as unit:
        assert await unit.opportunities.find("stub", "event-999") is not None  # stored
    assert await outbox_rows(store, subscriber.id) == []  # and not alerted
    state = await source_state(store)
    assert state.held_at == NOW
    assert "1000 new items in one poll, where up to 500 were expected" in state.held_reason
    [told] = await notices(store)
    assert "Source stub is held" in told and "/sources release stub" in told

    # Still held on the next poll, whatever it brings, and admins are not told again.
    await guarded(SOURCE, [event(20_000)])
    assert await outbox_rows(store, subscriber.id) == []
    assert len(await notices(store)) == 1

    listing = await admin_says(store, clock, vocabulary, "/sources")
    assert "HELD since" in listing and "/sources release stub" in listing
    answer = await admin_says(store, clock, vocabulary, "/sources release stub")
    assert answer.startswith("Released stub: alerts resume from its next poll.")
    assert await admin_says(store, clock, vocabulary, "/sources release stub") == (
        "stub is not held."
    )
    await guarded(SOURCE, [event(20_001)])
    [alert] = [r for r in await outbox_rows(store, subscriber.id) if r.reason == "new"]
    assert alert.status == "pending"
    assert (await source_state(store)).held_at is None


async def test_a_feed_whose_guids_change_every_poll_is_held_from_its_second_poll(store, guarded):
    subscriber, _ = await add_chat(store, chat("1"), subscription())
    await guarded(SOURCE, [event(n, "a") for n in range(50)])  # its first poll: the backlog
    first = await outbox_rows(store, subscriber.id)
    assert len([r for r in first if r.status == "pending"]) == 10 + 1  # ten, and a digest

    await guarded(SOURCE, [event(n, "b") for n in range(50)])
    await guarded(SOURCE, [event(n, "c") for n in range(50)])

    assert await outbox_rows(store, subscriber.id) == first  # nothing more queued
    state = await source_state(store)
    assert "50 new items in one poll, where up to 30 were expected" in state.held_reason
    assert "its recent polls found at most 0" in state.held_reason
    assert len(await notices(store)) == 1


async def test_a_source_that_usually_brings_many_is_judged_by_its_own_history(store, guarded):
    await add_chat(store, chat("1"), subscription())
    await guarded(SOURCE, [event(n, "first") for n in range(5)])
    await guarded(SOURCE, [event(n, "burst") for n in range(40)])  # after a quiet history
    assert (await source_state(store)).held_at is not None

    busy = StubSource(SourceConfig(name="busy", type="stub", url="https://busy.example/"))
    await guarded(busy, [event(n, "x") for n in range(40)])  # first poll
    for batch in ("y", "z"):
        await guarded(busy, [event(n, batch) for n in range(25)])  # 25 ≤ 30: usual
    await guarded(busy, [event(n, "w") for n in range(120)])  # ≤ 5 × 25
    assert (await source_state(store, "busy")).held_at is None
    await guarded(busy, [event(n, "v") for n in range(601)])  # > 5 × 120
    assert (await source_state(store, "busy")).held_at is not None
