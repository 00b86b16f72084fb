"""Past awards end to end on both databases: a 360Giving file imported in one transaction,
then /funders and /funder through the console's Commands path."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.clock import FrozenClock
from bot.core.commands import HELP, Commands
from bot.core.context import Context, Services
from bot.core.funders_import import ThreeSixtyError, import_grants
from bot.core.model import Chat, Opportunity
from bot.core.pipeline import Vocabulary, search_text

NOW = datetime(2025, 3, 28, 12, tzinfo=UTC)
FIXTURES = Path(__file__).parents[1] / "fixtures" / "threesixty"
SAMPLE = FIXTURES / "360giving-grantnav-sample-package.json"


@pytest.fixture(scope="module")
def vocabulary() -> Vocabulary:
    return Vocabulary.load()


def welsh_package(path: Path) -> Path:
    """Constructed: the real Effervescent record given to a made-up Welsh funder, awarded
    in Cardiff, so that "near" has two funders to order."""
    record = json.loads(SAMPLE.read_text(encoding="utf-8"))["grants"][0]
    record = {
        **record,
        "id": "360G-constructed-wales-1",
        "amountAwarded": 5000,
        "fundingOrganization": [{"id": "GB-CONSTRUCTED-1", "name": "Constructed Wales Trust"}],
        "beneficiaryLocation": [{"name": "Cardiff", "geoCode": "W06000015"}],
        "additional_data": {},
    }
    path.write_text(json.dumps({"grants": [record], "license": "CC-BY-4.0"}))
    return path


async def count(store) -> int:
    async with store.unit() as unit:
        return await unit.grants.count()


@pytest.fixture
async def bot(store, vocabulary, tmp_path):
    await import_grants(
        store,
        SAMPLE,
        vocabulary.taxonomy,
        now=NOW,
        licence="CC BY 4.0",
        publisher="Esmée Fairbairn Foundation",
    )
    await import_grants(store, welsh_package(tmp_path / "wales.json"), vocabulary.taxonomy, now=NOW)
    async with store.unit() as unit:
        chat = await unit.chats.ensure(Chat("console", "local"), now=NOW)
        call = Opportunity(
            source="t",
            external_id="esmee-1",
            url="https://example.org/esmee",
            title="Esmée open fund",
            funders=["Esmée Fairbairn Foundation"],
            closes_at=datetime(2025, 5, 1, tzinfo=UTC),
        )
        await unit.opportunities.upsert(call, now=NOW, search_text=search_text(call, vocabulary))
    services = Services(store, FrozenClock(NOW), vocabulary)
    return Commands(services), Context(chat, "u1")


async def test_a_file_imports_tagged_with_its_attribution(store, vocabulary):
    result = await import_grants(store, SAMPLE, vocabulary.taxonomy, now=NOW, licence="CC BY 4.0")
    assert (result.grants, result.funders, result.licence) == (5, 1, "CC BY 4.0")
    async with store.unit() as unit:
        grants = await unit.grants.matching(topics=["children-young-people"])
    assert sorted(g.grant_id for g in grants) == ["360G-EFF-16-3315", "360G-EFF-16-3353"]
    assert {g.licence for g in grants} == {"CC BY 4.0"}
    # Importing again updates the same grants instead of adding copies.
    await import_grants(store, SAMPLE, vocabulary.taxonomy, now=NOW.replace(hour=13))
    assert await count(store) == 5
    async with store.unit() as unit:
        again = await unit.grants.matching(topics=["children-young-people"])
    assert {g.licence for g in again} == {"CC BY 4.0"}  # not forgotten by a file without one


async def test_a_bad_record_anywhere_imports_nothing_of_that_file(store, vocabulary, tmp_path):
    await import_grants(store, welsh_package(tmp_path / "wales.json"), vocabulary.taxonomy, now=NOW)
    grants = json.loads(SAMPLE.read_text(encoding="utf-8"))["grants"]
    grants[3]["amountAwarded"] = "a lot"  # constructed: a real file broken in its 4th record
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"grants": grants}))
    with pytest.raises(ThreeSixtyError, match="360G-EFF-16-3357"):
        await import_grants(store, bad, vocabulary.taxonomy, now=NOW)
    assert await count(store) == 1  # the earlier file only: none of the bad file's 3 good ones


async def test_funders_lists_counts_amounts_examples_calls_and_attribution(bot):
    commands, ctx = bot
    text = (await commands.handle(ctx, "/funders young people")).plain()
    assert "Esmée Fairbairn Foundation" in text
    assert "2 grants, the latest awarded 21 Nov 2017" in text
    assert "Typical award £558k (median), ranging £116k–£1m" in text
    assert "https://grantnav.threesixtygiving.org/grant/360G-EFF-16-3315" in text
    assert "Open calls in Signpost: Esmée open fund" in text
    # Each shown funder's data is credited with its own licence.
    assert "published by Esmée Fairbairn Foundation (CC BY 4.0); " in text
    assert "Constructed Wales Trust (CC-BY-4.0) in the 360Giving format" in text
    assert "“Median” is the typical award" in text


async def test_near_puts_the_nearest_funder_first(bot):
    commands, ctx = bot
    near_cardiff = (await commands.handle(ctx, "/funders children near Cardiff")).plain()
    near_plymouth = (await commands.handle(ctx, "/funders children near Plymouth")).plain()
    assert near_cardiff.index("Constructed Wales Trust") < near_cardiff.index("Esmée")
    assert near_plymouth.index("Esmée") < near_plymouth.index("Constructed Wales Trust")
    assert "Nearest grant: in Cardiff" in near_cardiff
    in_wales = (await commands.handle(ctx, "/funders children near Wales")).plain()
    assert in_wales.index("Constructed Wales Trust") < in_wales.index("Esmée")


async def test_it_says_plainly_when_it_has_no_award_data(bot, store, vocabulary):
    commands, ctx = bot
    assert (await commands.handle(ctx, "/funders zebra")).plain() == (
        "I have no award data for “zebra” yet."
    )
    scotland = (await commands.handle(ctx, "/funders young people near Scotland")).plain()
    assert scotland.startswith("I have no award data for “young people” near Scotland yet.")
    nobody = (await commands.handle(ctx, "/funder Nobody Foundation")).plain()
    assert nobody == "I have no award data for a funder called “Nobody Foundation” yet."


async def test_an_empty_database_says_how_award_data_gets_in(store, vocabulary):
    async with store.unit() as unit:
        chat = await unit.chats.ensure(Chat("console", "local"), now=NOW)
    commands = Commands(Services(store, FrozenClock(NOW), vocabulary))
    reply = (await commands.handle(Context(chat, "u1"), "/funders mental health")).plain()
    assert "I have no award data yet" in reply and "signpost funders import" in reply


async def test_funder_profile_says_what_where_how_much_and_how_often(bot):
    commands, ctx = bot
    text = (await commands.handle(ctx, "/funder esmée fairbairn")).plain()
    assert "5 grants, the latest awarded 21 Nov 2017" in text
    assert "Funds: Children and young people" in text
    assert "Where: England" in text
    assert "How often: 5 grants in 2017" in text
    assert "Open calls in Signpost: Esmée open fund" in text


def test_both_commands_are_in_help_and_so_in_the_telegram_menu():
    names = [name for name, _ in HELP]
    assert "funders" in names and "funder" in names


async def test_like_wildcards_in_a_query_are_matched_literally(bot):
    commands, ctx = bot
    for query in ("%", "_", "%%"):
        reply = (await commands.handle(ctx, f"/funders {query}")).plain()
        assert reply == f"I have no award data for “{query}” yet."
