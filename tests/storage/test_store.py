"""Storage operations round-trip on SQLite and PostgreSQL (the ``store`` fixture runs both)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from bot.core.model import Chat, Opportunity, Subscription
from storage.db import head_revision

NOW = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)


def call(external_id: str = "1", **overrides) -> Opportunity:
    values = dict(
        source="ukri",
        external_id=external_id,
        url=f"https://www.ukri.org/opportunity/call-{external_id}/",
        title=f"Mental health research call {external_id}",
        funders=["MRC"],
        closes_at=datetime(2026, 6, 16, 15, 0, tzinfo=UTC),
        award_max_pence=5_000_000_00,
        summary="Research into youth mental health with charity partners.",
        topics=["mental-health"],
    )
    values.update(overrides)
    return Opportunity(**values)


async def test_upgrade_is_idempotent(store):
    first = await store.upgrade()
    assert first == await store.upgrade()
    assert first == head_revision()  # the newest migration


async def test_opportunity_round_trip_keeps_aware_datetimes_and_lists(store):
    async with store.unit() as unit:
        result = await unit.opportunities.upsert(call(), now=NOW)
    assert result.outcome == "new"
    async with store.unit() as unit:
        loaded = await unit.opportunities.get(result.id)
    assert loaded is not None
    assert loaded.closes_at == datetime(2026, 6, 16, 15, 0, tzinfo=UTC)
    assert loaded.closes_at.tzinfo is not None
    assert loaded.funders == ["MRC"]
    assert loaded.award_max_pence == 500_000_000
    assert loaded.to_json()["award_max_gbp"] == 5_000_000


async def test_upsert_reports_unchanged_then_the_fields_that_moved(store):
    async with store.unit() as unit:
        first = await unit.opportunities.upsert(call(status="upcoming"), now=NOW)
        same = await unit.opportunities.upsert(call(status="upcoming"), now=NOW)
        moved = await unit.opportunities.upsert(
            call(status="open", closes_at=datetime(2026, 7, 1, 15, tzinfo=UTC)), now=NOW
        )
    assert (first.outcome, same.outcome, moved.outcome) == ("new", "unchanged", "updated")
    assert moved.changes == ["closes_at", "status:upcoming->open"]
    assert moved.id == first.id


async def test_a_repost_from_another_source_is_a_duplicate_of_the_original(store):
    async with store.unit() as unit:
        original = await unit.opportunities.upsert(call(), now=NOW)
        repost = await unit.opportunities.upsert(
            call(
                source="charity-feed",
                url="https://www.ukri.org/opportunity/call-1/?utm_source=newsletter",
            ),
            now=NOW,
        )
        listed = await unit.opportunities.listing()
    assert repost.duplicate_of_id == original.id
    assert [o.id for o in listed] == [original.id]


async def test_naive_datetimes_are_refused(store):
    with pytest.raises(Exception, match="naive datetime"):
        async with store.unit() as unit:
            await unit.opportunities.upsert(
                call(closes_at=datetime(2026, 6, 16, 15, 0)),
                now=NOW,
            )


async def test_chat_subscriptions_pause_export_and_forget(store):
    async with store.unit() as unit:
        chat = await unit.chats.ensure(Chat("telegram", "-100123", thread_id="7"), now=NOW)
        again = await unit.chats.ensure(Chat("telegram", "-100123", thread_id="7"), now=NOW)
        other_topic = await unit.chats.ensure(Chat("telegram", "-100123"), now=NOW)
        sub = await unit.chats.add_subscription(
            Subscription(chat_id=chat.id, topics=["mental-health"], roles=["vcse"]), now=NOW
        )
    assert chat.id == again.id != other_topic.id
    assert sub.reminder_days == [14, 3]

    async with store.unit() as unit:
        await unit.chats.pause(chat.id, "blocked by the user", NOW)
        paused = await unit.chats.get(chat.id)
        active = await unit.chats.active_subscriptions()
        exported = await unit.chats.export(chat.id)
    assert not paused.active and paused.paused_reason == "blocked by the user"
    assert active == []
    assert exported["subscriptions"][0]["topics"] == ["mental-health"]

    async with store.unit() as unit:
        assert await unit.chats.forget(chat.id)
        assert await unit.chats.get(chat.id) is None
        assert await unit.chats.subscriptions(chat.id) == []


async def test_group_migration_moves_every_topic_of_the_chat(store):
    async with store.unit() as unit:
        await unit.chats.ensure(Chat("telegram", "-42", kind="group"), now=NOW)
        moved = await unit.chats.migrate("telegram", "-42", "-100942", NOW)
        found = await unit.chats.find("telegram", "-100942")
    assert found is not None and found.id == moved and found.kind == "supergroup"


async def test_chat_address_is_unique(store):
    with pytest.raises(IntegrityError):
        async with store.unit() as unit:
            await unit.chats.ensure(Chat("slack", "C1"), now=NOW)
            from storage.models import Chat as ChatRow

            unit.session.add(
                ChatRow(
                    platform="slack",
                    platform_chat_id="C1",
                    thread_id="",
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
            await unit.session.flush()


async def test_poll_state_success_failure_and_markup_suspect(store):
    later = NOW + timedelta(hours=6)
    async with store.unit() as unit:
        await unit.polling.record_success(
            "ukri", now=NOW, items=10, next_poll_at=later, duration_ms=120
        )
        failed = await unit.polling.record_failure(
            "ukri", now=NOW, error="HTTP 500", next_poll_at=later, duration_ms=50
        )
        assert failed.consecutive_failures == 1
        empty = await unit.polling.record_success(
            "ukri", now=NOW, items=0, next_poll_at=later, duration_ms=80
        )
        unchanged = await unit.polling.record_success(
            "ukri", now=NOW, items=None, next_poll_at=later, duration_ms=10
        )
        await unit.polling.save_validators("https://x/", '"abc"', None, NOW)
        validators = await unit.polling.validators("https://x/")
    assert empty.consecutive_failures == 0
    assert empty.markup_suspect and "markup" in empty.last_error
    assert unchanged.items_last_parsed == 0
    assert validators == ('"abc"', None)
