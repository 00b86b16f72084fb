"""How dated glossary entries reach people: the "as of" line every transport shows under a
definition, and the admin listing of entries last confirmed more than a year ago
(``bot/core/glossary_admin.py``), on SQLite and PostgreSQL through the ``store`` fixture."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.clock import FrozenClock
from bot.core.commands import Commands
from bot.core.context import Context, Services
from bot.core.glossary import Glossary
from bot.core.glossary_admin import stale_entries
from bot.core.model import Chat
from bot.core.pipeline import Vocabulary
from bot.core.queries import entry_section
from tests.core.test_glossary import SHIPPED, entry


def commands_at(store, when: datetime) -> Commands:
    vocabulary = Vocabulary.load()
    return Commands(Services(store, FrozenClock(when), vocabulary, source_names=list))


async def admin_context(store, when: datetime, *, admin: bool = True) -> Context:
    async with store.unit() as unit:
        chat = await unit.chats.ensure(Chat("console", "glossary-admin"), now=when)
    return Context(chat, "admin-1", can_manage=True, is_admin=admin)


# -- the "as of" line ------------------------------------------------------------------------


def test_an_entry_on_changing_policy_says_as_of_right_after_its_definition():
    healthwatch = entry_section(SHIPPED.get("healthwatch"), SHIPPED)
    assert healthwatch.lines[0].startswith("The statutory champion")
    assert healthwatch.lines[1] == (
        "As of December 2026: this policy is changing, so check the link."
    )
    assert not any(
        line.startswith("As of") for line in entry_section(SHIPPED.get("fec"), SHIPPED).lines
    )


def test_an_as_of_day_is_shown_as_a_day():
    dated = entry("dated", as_of="2026-11-20")
    assert "As of 20 November 2026" in entry_section(dated, Glossary([dated])).lines[1]


# -- which entries are stale -----------------------------------------------------------------


def test_stale_entries_are_those_more_than_a_year_old_oldest_first():
    glossary = Glossary(
        [
            entry("fresh", as_of="2026-06", link_checked="2026-06-01"),
            entry("old-policy", as_of="2025-10"),
            entry("old-link", link_checked="2025-11-30"),
            entry("both-old", as_of="2025-01-15", link_checked="2024-12"),
            entry("undated"),
        ]
    )
    found = stale_entries(glossary, today=date(2026, 12, 4))
    assert [(e.slug, what) for e, what in found] == [
        ("both-old", "as of 15 January 2025; link checked December 2024"),
        ("old-policy", "as of October 2025"),
        ("old-link", "link checked 30 November 2025"),
    ]
    # exactly a year is not yet stale; a day more is
    assert stale_entries(Glossary([entry("edge", as_of="2025-12-04")]), date(2026, 12, 4)) == []
    assert len(stale_entries(Glossary([entry("edge", as_of="2025-12-03")]), date(2026, 12, 4))) == 1


def test_nothing_shipped_is_stale_at_the_review_and_all_dated_entries_are_a_year_later():
    assert stale_entries(SHIPPED, date(2026, 12, 4)) == []
    later = {e.slug for e, _ in stale_entries(SHIPPED, date(2028, 1, 2))}
    dated = {e.slug for e in SHIPPED if e.as_of or e.link_checked}
    assert later == dated and "healthwatch" in later


# -- /glossary stale -------------------------------------------------------------------------


async def test_admins_list_stale_entries_and_unconfirmed_links(store):
    when = datetime(2028, 1, 15, 9, tzinfo=UTC)
    commands = commands_at(store, when)
    reply = await commands.handle(await admin_context(store, when), "/glossary stale")
    assert reply.text.startswith("Glossary entries to re-check: ")
    assert "last confirmed before 15 January 2027" in reply.text
    old, unconfirmed = reply.sections
    assert old.heading == "More than a year old"
    assert "Healthwatch — as of December 2026" in old.lines
    both = "applicant-led and targeted modes — as of December 2026; link checked December 2026"
    assert both in old.lines
    dated = sum(1 for e in SHIPPED if e.as_of or e.link_checked)
    assert old.lines[-1] == f"…and {dated - 40} more"  # a chat message, not the whole report
    count = sum(1 for e in SHIPPED if not e.link_checked)
    assert unconfirmed.heading == f"Links never confirmed ({count})"
    names = unconfirmed.lines[0]
    assert names.startswith("360Giving, 80% rule, beneficiary, CAMHS, ") and "FEC" in names
    assert names.endswith(f" …and {count - 40} more")


async def test_at_the_review_only_the_unconfirmed_links_are_listed(store):
    when = datetime(2026, 12, 4, 9, tzinfo=UTC)
    reply = await commands_at(store, when).handle(
        await admin_context(store, when), "/glossary stale"
    )
    assert [s.heading.split(" (")[0] for s in reply.sections] == ["Links never confirmed"]


async def test_stale_is_for_admins_only(store):
    when = datetime(2028, 1, 15, 9, tzinfo=UTC)
    reply = await commands_at(store, when).handle(
        await admin_context(store, when, admin=False), "/glossary stale"
    )
    assert not reply.text.startswith("Glossary entries to re-check")  # a look-up of "stale"


@pytest.mark.parametrize("link", ["http://www.nihr.ac.uk/x", "www.nihr.ac.uk/x"])
async def test_an_admin_link_must_be_https(store, link):
    when = datetime(2026, 12, 4, 9, tzinfo=UTC)
    reply = await commands_at(store, when).handle(
        await admin_context(store, when), f"/glossary add Backfill | Cover for staff. | {link}"
    )
    assert reply.text == "The link must start with https://"
