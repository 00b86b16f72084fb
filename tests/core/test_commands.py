"""The platform-neutral command set: answers, permissions, flows, and no crash on any input."""

from __future__ import annotations

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
