"""The platform-neutral command set: answers, permissions, flows, and no crash on any input."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.clock import FrozenClock
from bot.core.commands import Commands, parse_command
from bot.core.context import Context, Services
from bot.core.model import Chat, Opportunity
from bot.core.pipeline import Vocabulary, search_text

NOW = datetime(2025, 3, 28, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def vocabulary() -> Vocabulary:
    return Vocabulary.load()


@pytest.fixture
async def bot(store, vocabulary):
    own = Vocabulary(vocabulary.taxonomy, vocabulary.glossary)  # tests may reload its glossary
    services = Services(store, FrozenClock(NOW), own, source_names=lambda: ["ukri"])
    commands = Commands(services)
    async with store.unit() as unit:
        chat = await unit.chats.ensure(Chat("console", "local"), now=NOW)
        for n, title in enumerate(
            [
                "Youth mental health research",
                "Psychiatric genetics call",
                "Dementia carers",
                "Peer support networks for mental health",
                "Mental health of nurses",
                "Wellbeing at work: mental health",
                "Mental health data science",
            ],
            start=1,
        ):
            item = Opportunity(
                source="t",
                external_id=str(n),
                url=f"https://example.org/{n}",
                title=title,
                funders=["MRC"],
                topics=["dementia"] if "Dementia" in title else ["mental-health"],
                closes_at=datetime(2025, 4, n, 15, tzinfo=UTC),
            )
            await unit.opportunities.upsert(item, now=NOW, search_text=search_text(item, own))
    return commands, Context(chat, "u1", can_manage=True, is_admin=False)


def test_parse_command_strips_bot_names_and_splits_arguments():
    assert parse_command("/calls@SignpostBot mental  health ") == ("calls", "mental  health")
    assert parse_command("/HELP") == ("help", "")
    assert parse_command("hello") is None


async def test_calls_pages_five_at_a_time_with_more(bot):
    commands, ctx = bot
    first = await commands.handle(ctx, "/calls mental health")
    assert first.text.startswith("Open calls for “mental health” (1–5 of")
    assert len(first.sections) == 5
    [more] = first.buttons
    second = await commands.press(ctx, more.action)
    assert second.sections
    assert not {s.heading for s in first.sections} & {s.heading for s in second.sections}


async def test_a_topic_query_finds_items_tagged_with_it_without_the_words(bot):
    """“Psychiatric genetics call” never says “mental health”; its topic tag finds it."""
    commands, ctx = bot
    reply = await commands.handle(ctx, "/calls mental health")
    headings = [s.heading for s in reply.sections]
    page2 = await commands.press(ctx, reply.buttons[0].action)
    headings += [s.heading for s in page2.sections]
    assert "Psychiatric genetics call" in headings
    assert "Dementia carers" not in headings


async def test_irregular_plurals_reach_the_search_engine_as_typed(bot, store):
    commands, ctx = bot
    async with store.unit() as unit:
        await unit.opportunities.upsert(
            Opportunity(
                source="t",
                external_id="w",
                url="https://example.org/w",
                title="Grants for women in science",
                closes_at=datetime(2025, 5, 1, tzinfo=UTC),
            ),
            now=NOW,
        )
    reply = await commands.handle(ctx, "/calls women")
    assert [s.heading for s in reply.sections] == ["Grants for women in science"]


async def test_unknown_command_and_plain_text_point_to_help(bot):
    commands, ctx = bot
    assert "/help" in (await commands.handle(ctx, "/frobnicate")).text
    assert "/help" in (await commands.handle(ctx, "what is this")).text


async def test_admin_commands_are_refused_to_others(bot):
    commands, ctx = bot
    assert "administrators" in (await commands.handle(ctx, "/status")).text


async def test_group_members_who_are_not_admins_cannot_change_subscriptions(bot):
    commands, ctx = bot
    ctx.can_manage = False
    assert "admins" in (await commands.handle(ctx, "/subscribe mental health")).text
    assert "admins" in (await commands.press(ctx, "sub:s:1:any:instant:0")).text
    assert (await commands.handle(ctx, "/calls dementia")).sections


async def test_guided_subscription_saves_topics_role_and_mode(bot, store):
    commands, ctx = bot
    step1 = await commands.handle(ctx, "/subscribe")
    toggle = step1.buttons[0].action
    ticked = await commands.press(ctx, toggle)
    assert ticked.buttons[0].label.startswith("✓ ")
    assert ticked.edit
    role_step = await commands.press(ctx, ticked.buttons[-1].action)
    vcse = next(b for b in role_step.buttons if b.label.startswith("Charity"))
    mode_step = await commands.press(ctx, vcse.action)
    daily = next(b for b in mode_step.buttons if b.label == "Daily digest")
    saved = await commands.press(ctx, daily.action)
    assert saved.text.startswith("Subscribed: Mental health")
    async with store.unit() as unit:
        [sub] = await unit.chats.subscriptions(ctx.chat_id)
    assert (sub.topics, sub.roles, sub.mode) == (["mental-health"], ["vcse"], "daily")


async def test_one_line_subscription_reads_topics_keywords_and_options(bot, store):
    commands, ctx = bot
    reply = await commands.handle(
        ctx,
        "/subscribe mental health, social robots, -genetics, funder:Medical Research "
        "Council, weekly",
    )
    assert reply.text.startswith("Subscribed")
    async with store.unit() as unit:
        [sub] = await unit.chats.subscriptions(ctx.chat_id)
    assert sub.topics == ["mental-health"]
    assert sub.keywords == ["social robots"]
    assert sub.exclude_keywords == ["genetics"]
    assert sub.funders == ["MRC"]
    assert sub.mode == "weekly"


async def test_editing_updates_the_subscription_in_place_when_saved(bot, store):
    commands, ctx = bot
    await commands.handle(ctx, "/subscribe dementia")
    async with store.unit() as unit:
        [old] = await unit.chats.subscriptions(ctx.chat_id)
    editing = await commands.press(ctx, f"edit:{old.id}")
    async with store.unit() as unit:
        assert len(await unit.chats.subscriptions(ctx.chat_id)) == 1
    next_step = await commands.press(ctx, editing.buttons[-1].action)
    mode = await commands.press(ctx, next_step.buttons[-2].action)  # "Any role"
    saved = await commands.press(ctx, mode.buttons[0].action)
    assert saved.text.startswith("Updated")
    async with store.unit() as unit:
        [new] = await unit.chats.subscriptions(ctx.chat_id)
    assert new.id == old.id
    assert new.topics == ["dementia"]


async def test_forget_asks_first_then_deletes(bot, store):
    commands, ctx = bot
    await commands.handle(ctx, "/subscribe dementia")
    ask = await commands.handle(ctx, "/forget")
    assert [b.action for b in ask.buttons] == ["forget:yes", "forget:no"]
    async with store.unit() as unit:
        assert await unit.chats.get(ctx.chat_id) is not None
    await commands.press(ctx, "forget:yes")
    async with store.unit() as unit:
        assert await unit.chats.get(ctx.chat_id) is None


async def test_export_returns_the_chats_data_as_json(bot):
    commands, ctx = bot
    await commands.handle(ctx, "/subscribe dementia")
    reply = await commands.handle(ctx, "/export")
    name, content = reply.attachment
    assert name.endswith(".json")
    assert b'"dementia"' in content


async def test_glossary_exact_fuzzy_and_unknown(bot):
    commands, ctx = bot
    assert (await commands.handle(ctx, "/glossary co-PI")).sections[0].heading == "co-PI"
    assert (await commands.handle(ctx, "/glossary copi")).sections[0].heading == "co-PI"
    assert (await commands.handle(ctx, "/glossary VCSE")).sections[0].heading == "VCSE"
    unknown = await commands.handle(ctx, "/glossary zzqx")
    assert "suggest" in unknown.text


async def test_glossary_suggestions_are_stored_for_admins(bot, store):
    commands, ctx = bot
    reply = await commands.handle(ctx, "/glossary suggest backfill funding")
    assert "saved" in reply.text
    async with store.unit() as unit:
        [suggestion] = await unit.glossary.open_suggestions()
    assert suggestion.text == "backfill funding"


async def test_remind_and_dismiss_buttons_track_the_opportunity(bot, store):
    commands, ctx = bot
    assert "remind you" in (await commands.press(ctx, "remind:1")).text
    async with store.unit() as unit:
        assert await unit.tracking.for_chat(ctx.chat_id) == [1]
    await commands.press(ctx, "dismiss:1")
    async with store.unit() as unit:
        assert await unit.tracking.for_chat(ctx.chat_id) == []


async def test_long_queries_are_capped_and_said_so(bot):
    commands, ctx = bot
    reply = await commands.handle(ctx, "/calls " + "mental health " * 40)
    assert "first 200 characters" in reply.text


@pytest.mark.parametrize(
    "action",
    [
        "",
        "sub:",
        "sub:t:zz:-:-:0",
        "sub:t:ffffffffff:-:-:0",
        "more:call:x:",
        "remind:abc",
        "unsub:",
        "set:x",
        "??",
    ],
)
async def test_bad_button_data_gets_a_clear_answer(bot, action):
    commands, ctx = bot
    reply = await commands.press(ctx, action)
    assert "expired" in reply.text or "no longer" in reply.text


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    text=st.one_of(
        st.text(max_size=300),
        st.builds(
            lambda c, a: f"/{c} {a}",
            st.sampled_from(
                [
                    "calls",
                    "events",
                    "internships",
                    "glossary",
                    "subscribe",
                    "unsubscribe",
                    "settings",
                    "start",
                    "deadlines",
                    "mysubs",
                    "help",
                    "export",
                    "pause",
                    "resume",
                    "forget",
                ]
            ),
            st.text(max_size=250),
        ),
    )
)
async def test_no_input_crashes_a_command(bot, text):
    commands, ctx = bot
    reply = await commands.handle(ctx, text)
    assert reply.text or reply.sections
    assert "something went wrong" not in reply.text


async def test_calendar_is_an_icalendar_file_of_followed_deadlines(bot):
    from icalendar import Calendar

    commands, ctx = bot
    empty = await commands.handle(ctx, "/calendar")
    assert empty.attachment is None
    await commands.handle(ctx, "/subscribe dementia")
    reply = await commands.handle(ctx, "/calendar")
    name, content = reply.attachment
    assert name == "signpost-deadlines.ics"
    events = Calendar.from_ical(content).walk("VEVENT")
    assert [str(e["summary"]) for e in events] == ["Deadline: Dementia carers"]
    assert events[0].decoded("dtstart") == datetime(2025, 4, 3, 15, tzinfo=UTC)
    assert len(events[0].walk("VALARM")) == 2


async def test_deadlines_lists_what_the_chat_follows(bot):
    commands, ctx = bot
    assert "no subscriptions" in (await commands.handle(ctx, "/deadlines")).text
    await commands.handle(ctx, "/subscribe dementia")
    reply = await commands.handle(ctx, "/deadlines")
    assert [s.heading for s in reply.sections] == ["Dementia carers"]


async def test_admins_add_glossary_terms_without_a_release(bot, store):
    commands, ctx = bot
    usage = await commands.handle(ctx, "/glossary add backfill")
    assert "/glossary" in usage.text  # not an admin: treated as a lookup
    ctx.is_admin = True
    assert "Usage" in (await commands.handle(ctx, "/glossary add backfill")).text
    saved = await commands.handle(
        ctx,
        "/glossary add Backfill funding | Money that pays for a charity worker's usual "
        "duties while they work on a research project. | https://www.nihr.ac.uk/ | vcse",
    )
    assert saved.text == "Saved “Backfill funding”."
    answer = await commands.handle(ctx, "/glossary backfill funding")
    assert answer.sections[0].heading == "Backfill funding"
    replaced = await commands.handle(
        ctx,
        "/glossary add co-PI | A researcher who leads a project jointly with the PI. | "
        "https://www.ukri.org/",
    )
    assert "replacing" in replaced.text
    assert (
        (await commands.handle(ctx, "/glossary copi"))
        .sections[0]
        .lines[0]
        .startswith("A researcher who leads")
    )
    async with store.unit() as unit:
        assert {t["slug"] for t in await unit.glossary.terms()} == {"backfill-funding", "co-pi"}


async def test_topics_are_offered_a_page_at_a_time(bot):
    commands, ctx = bot
    first = await commands.handle(ctx, "/subscribe")
    labels = [b.label for b in first.buttons]
    assert len(labels) <= 14
    assert labels[-2:] == ["More topics ›", "Next ›"]
    ticked = await commands.press(ctx, first.buttons[0].action)
    second = await commands.press(ctx, ticked.buttons[-2].action)
    assert "page 2" in second.text
    assert "1 chosen" in second.text  # the tick survives paging
    assert second.buttons[-3].label == "‹ Fewer"


# --------------------------------------------------------------- reminders and permissions
async def _add(store, external_id: str, title: str, closes_at, **fields) -> int:
    async with store.unit() as unit:
        await unit.opportunities.upsert(
            Opportunity(
                source="t",
                external_id=external_id,
                url=f"https://example.org/{external_id}",
                title=title,
                closes_at=closes_at,
                **fields,
            ),
            now=NOW,
        )
        [item] = [
            o
            for o in await unit.opportunities.listing(statuses=(), limit=100)
            if o.external_id == external_id
        ]
        return item.id


async def test_a_reminder_for_a_call_closed_by_the_clock_is_refused(bot, store):
    """The stored status still says open (no poll since): the clock decides."""
    commands, ctx = bot
    closed = await _add(
        store, "old", "Mental health call of 2024", datetime(2024, 6, 3, 16, tzinfo=UTC)
    )
    reply = await commands.press(ctx, f"remind:{closed}")
    assert reply.text == (
        "“Mental health call of 2024” closed on 3 Jun 2024, 5:00pm, so there is nothing to "
        "remind you of."
    )
    async with store.unit() as unit:
        assert await unit.tracking.for_chat(ctx.chat_id) == []


async def test_a_reminder_promises_only_the_reminders_still_ahead(bot, store):
    commands, ctx = bot
    far = await _add(store, "far", "Far call", datetime(2025, 6, 1, 15, tzinfo=UTC))
    near = await _add(store, "near", "Near call", datetime(2025, 4, 5, 15, tzinfo=UTC))
    soon = await _add(store, "soon", "Soon call", datetime(2025, 3, 30, 15, tzinfo=UTC))
    rolling = await _add(store, "rolling", "Rolling call", None)
    assert "remind you 14 and 3 days before" in (await commands.press(ctx, f"remind:{far}")).text
    assert "remind you 3 days before" in (await commands.press(ctx, f"remind:{near}")).text
    assert "too soon for a reminder" in (await commands.press(ctx, f"remind:{soon}")).text
    assert "no closing date yet" in (await commands.press(ctx, f"remind:{rolling}")).text


async def test_group_members_who_are_not_admins_cannot_press_remind_or_calendar(bot, store):
    commands, ctx = bot
    await commands.handle(ctx, "/subscribe dementia")
    ctx.can_manage = False
    for action in ("remind:1", "calendar:"):
        reply = await commands.press(ctx, action)
        assert "admins" in reply.text and reply.attachment is None
    async with store.unit() as unit:
        assert await unit.tracking.for_chat(ctx.chat_id) == []


async def test_export_holds_everything_forget_would_delete(bot, store):
    from sqlalchemy import update

    from storage.models import OutboxItem

    commands, ctx = bot
    await commands.handle(ctx, "/subscribe dementia")
    await commands.handle(ctx, "/glossary suggest backfill funding")
    await commands.press(ctx, "remind:3")
    await commands.handle(ctx, "/pause")
    async with store.unit() as unit:
        await unit.outbox.enqueue(
            chat_id=ctx.chat_id,
            opportunity_id=3,
            reason="new",
            dedupe_key="new:3",
            payload={"why": "topic: Dementia"},
            now=NOW,
        )
        await unit.session.execute(
            update(OutboxItem).values(error="403: bot was blocked", platform_message_id="77")
        )
    reply = await commands.handle(ctx, "/export")
    assert reply.text == "Everything stored about this chat (1 subscription), as JSON."
    data = json.loads(reply.attachment[1])
    assert data["chat"]["paused_at"] == NOW.isoformat()
    assert data["chat"]["updated_at"] == NOW.isoformat()
    assert data["chat"]["paused_reason"] == "paused with /pause"
    [message] = data["messages"]
    assert message["payload"] == {"why": "topic: Dementia"}
    assert (message["error"], message["platform_message_id"]) == ("403: bot was blocked", "77")
    [suggestion] = data["glossary_suggestions"]
    assert (suggestion["text"], suggestion["user_id"]) == ("backfill funding", "u1")
    [tracked] = data["tracked"]
    assert tracked["opportunity_id"] == 3 and tracked["requested"] is True
    assert "created_at" in tracked and "platform_message_id" in tracked
    [sub] = data["subscriptions"]
    assert sub["topics"] == ["dementia"] and "created_at" in sub


# --------------------------------------------------------------------------- words
async def test_counts_are_said_with_the_right_noun(bot):
    commands, ctx = bot
    await commands.handle(ctx, "/subscribe dementia")
    assert (await commands.handle(ctx, "/unsubscribe all")).text == (
        "Removed the one subscription here."
    )
    assert (
        "no subscriptions here to remove" in (await commands.handle(ctx, "/unsubscribe all")).text
    )
    await commands.handle(ctx, "/subscribe dementia")
    calendar = await commands.handle(ctx, "/calendar")
    assert calendar.text.startswith("1 deadline as a calendar file")


async def test_admin_words_for_one_failure_and_one_chat(bot, store):
    commands, ctx = bot
    ctx.is_admin = True
    async with store.unit() as unit:
        await unit.polling.record_failure(
            "ukri", now=NOW, error="HTTP 503", next_poll_at=NOW, duration_ms=5
        )
    sources = await commands.handle(ctx, "/sources")
    assert sources.sections[0].lines[0].startswith("ukri: 1 failure in a row;")
    broadcast = await commands.handle(ctx, "/broadcast hello")
    assert broadcast.text == "Broadcast queued for 1 chat."


async def test_the_empty_answer_hint_fits_the_question(bot):
    commands, ctx = bot
    bare = await commands.handle(ctx, "/internships")
    assert bare.text == "No open internships right now. /subscribe to hear when one appears."
    worded = await commands.handle(ctx, "/internships zzqx")
    assert "Try fewer or broader words" in worded.text


async def test_a_long_unknown_glossary_query_is_not_echoed_whole(bot):
    commands, ctx = bot
    reply = await commands.handle(ctx, "/glossary " + "zq " * 2000)
    assert len(reply.text) < 260
    assert "suggest" not in reply.text
    short = await commands.handle(ctx, "/glossary zzqx")
    assert "/glossary suggest zzqx" in short.text


# --------------------------------------------------------------------------- queries
async def test_quotes_in_calls_look_for_the_phrase_not_the_quotes(bot):
    commands, ctx = bot
    phrase = await commands.handle(ctx, '/calls "peer support"')
    assert [s.heading for s in phrase.sections] == ["Peer support networks for mental health"]
    assert phrase.text.startswith("Open calls for “peer support” (1–1 of 1)")  # quoted once
    apart = await commands.handle(ctx, '/calls "support peer"')
    assert apart.sections == []  # the words, but not in that order
    assert apart.text.startswith("No open calls for “support peer” right now")
    mixed = await commands.handle(ctx, '/calls "peer support" networks')
    assert mixed.text.startswith('Open calls for “"peer support" networks”')


async def test_lists_say_how_they_are_ordered_and_keep_to_it(bot):
    commands, ctx = bot
    reply = await commands.handle(ctx, "/calls")
    assert reply.text.endswith("soonest closing first, no closing date last")
    headings = [s.heading for s in reply.sections]
    assert headings[:2] == ["Youth mental health research", "Psychiatric genetics call"]


async def test_deadlines_takes_a_number_of_days(bot, store):
    commands, ctx = bot
    await _add(
        store, "may", "Dementia in May", datetime(2025, 5, 20, tzinfo=UTC), topics=["dementia"]
    )
    await commands.handle(ctx, "/subscribe dementia")
    thirty = await commands.handle(ctx, "/deadlines")
    assert [s.heading for s in thirty.sections] == ["Dementia carers"]
    sixty = await commands.handle(ctx, "/deadlines 60")
    assert sixty.text.startswith("Closing in the next 60 days")
    assert [s.heading for s in sixty.sections] == ["Dementia carers", "Dementia in May"]


# ---------------------------------------------------------------- settings, subscribing
async def test_settings_show_the_digest_hour_and_a_change_to_it(bot):
    commands, ctx = bot
    none = await commands.handle(ctx, "/settings hour 9")
    assert "no subscriptions here yet" in none.text
    await commands.handle(ctx, "/subscribe dementia, daily")
    before = await commands.handle(ctx, "/settings")
    assert "Digest hour: 9:00 (Europe/London)" in before.sections[0].lines
    after = await commands.handle(ctx, "/settings hour 7")
    assert after.text == "Digests will come at 7:00 (Europe/London)."
    assert "Digest hour: 7:00 (Europe/London)" in after.sections[0].lines


async def test_one_line_subscribe_stops_at_a_near_miss_of_a_topic(bot, store):
    commands, ctx = bot
    reply = await commands.handle(ctx, "/subscribe mentl helth, daily")
    assert reply.text.startswith("Nothing saved yet: “mentl helth” looks like the topic Mental")
    assert "/subscribe mental health, daily" in reply.text
    async with store.unit() as unit:
        assert await unit.chats.subscriptions(ctx.chat_id) == []
    quoted = await commands.handle(ctx, '/subscribe "mentl helth"')
    assert quoted.text.startswith("Subscribed")
    async with store.unit() as unit:
        [sub] = await unit.chats.subscriptions(ctx.chat_id)
    assert sub.keywords == ["mentl helth"] and sub.topics == []


@pytest.mark.parametrize(
    ("phrase", "role"),
    [
        ("for charity staff", "vcse"),
        ("for early-career researchers", "early_career"),
        ("for students", "student"),
        ("role:charity staff", "vcse"),
        ("role:established_researcher", "established_researcher"),
    ],
)
async def test_one_line_subscribe_reads_a_role_in_words(bot, store, phrase, role):
    commands, ctx = bot
    reply = await commands.handle(ctx, f"/subscribe dementia, {phrase}")
    assert reply.text.startswith("Subscribed")
    async with store.unit() as unit:
        [sub] = await unit.chats.subscriptions(ctx.chat_id)
    assert (sub.topics, sub.roles, sub.keywords) == (["dementia"], [role], [])


async def test_one_line_subscribe_names_an_unknown_role_or_kind(bot, store):
    commands, ctx = bot
    reply = await commands.handle(ctx, "/subscribe dementia, role:wizards, kind:parties")
    assert "“role:wizards”" in reply.text and "“kind:parties”" in reply.text
    async with store.unit() as unit:
        assert await unit.chats.subscriptions(ctx.chat_id) == []


async def test_help_documents_the_one_line_forms(bot):
    commands, ctx = bot
    reply = await commands.handle(ctx, "/help")
    forms = "\n".join(reply.sections[1].lines)
    for form in ("role:", "funder:", "kind:", "for charity staff", "daily"):
        assert form in forms
