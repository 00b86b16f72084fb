"""Glossary data: loading, override files, extra (admin) entries, entries as JSON and
database rows, and the content rules (``bot/core/glossary_data.py``)."""

from __future__ import annotations

import json

import pytest

from bot.core import glossary as glossary_module
from bot.core.glossary import Glossary, GlossaryEntry, GlossaryError
from tests.core.test_glossary import SHIPPED, entry, slugs


@pytest.fixture
def glossary() -> Glossary:
    return SHIPPED


# -- loading, overrides, extra entries --------------------------------------------------------


def test_override_file_replaces_a_definition_and_adds_a_term(tmp_path):
    override = tmp_path / "glossary-override.toml"
    override.write_text(
        """
[[terms]]
slug = "fec"
definition = "Our own wording for full economic cost."

[[terms]]
slug = "test-and-learn"
term = "test and learn"
group = "vcse"
aliases = ["test-and-learn pilot"]
audience = "researchers"
definition = "Trying a service on a small scale and changing it as you go."
example = "The council funds a test and learn phase."
related = ["feasibility-study"]
url = "https://www.gov.uk/"
""",
        encoding="utf-8",
    )
    shipped, changed = Glossary.load(), Glossary.load(override=override)
    assert changed.get("fec").definition == "Our own wording for full economic cost."
    assert changed.get("fec").aliases == shipped.get("fec").aliases  # only what was given
    assert len(changed) == len(shipped) + 1
    assert changed.lookup("test and learn pilot").entry.slug == "test-and-learn"
    assert "test-and-learn" in slugs(changed.find_in_text("A Test and Learn phase", limit=None))
    assert changed.validate() == []


def test_extra_entries_replace_by_slug_and_come_last(tmp_path):
    override = tmp_path / "o.toml"
    override.write_text('[[terms]]\nslug = "pi"\ndefinition = "From the file."\n')
    admin = Glossary.load().get("pi")
    admin = GlossaryEntry.from_mapping(admin.to_json() | {"definition": "From an admin."})
    glossary = Glossary.load(override=override, extra=[admin])
    assert glossary.get("pi").definition == "From an admin."


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[[terms]]\nslug = 'x'\nterm = 'X'\n", "missing group, definition"),
        ("[[terms]]\nterm = 'X'\n", "needs a slug"),
        ("[[terms]]\nslug = 'fec'\ndefinitoin = 'typo'\n", "unknown fields definitoin"),
        ("[[terms]]\nslug = 'fec'\naliases = 'one'\n", "aliases must be a list"),
        ("this is not toml =", "cannot read glossary file"),
    ],
)
def test_a_broken_override_is_a_clear_error(tmp_path, content, message):
    override = tmp_path / "broken.toml"
    override.write_text(content)
    with pytest.raises(GlossaryError, match=message):
        Glossary.load(override=override)


def test_a_missing_override_file_is_a_clear_error(tmp_path):
    with pytest.raises(GlossaryError, match="cannot read glossary file"):
        Glossary.load(override=tmp_path / "absent.toml")


def test_entries_round_trip_through_json(glossary):
    for item in glossary:
        assert GlossaryEntry.from_mapping(json.loads(json.dumps(item.to_json()))) == item


def test_a_database_row_without_optional_fields_becomes_an_entry():
    row = {
        "slug": "local-term",
        "term": "local term",
        "aliases": None,
        "group": "vcse",
        "definition": "Something admins added.",
        "audience": "",
        "example": "",
        "related": [],
        "url": "",
    }
    item = GlossaryEntry.from_mapping(row)
    assert (item.aliases, item.audience, item.skip_in_text) == ((), "everyone", ())


# -- content rules -------------------------------------------------------------------------------


def test_validate_reports_each_kind_of_problem():
    bad = Glossary(
        [
            entry("long", definition="word " * 61),
            entry("no-link", url=""),
            entry("plain-http", url="http://example.org/"),
            entry("first", aliases=["shared name"]),
            entry("second", aliases=["Shared-Name"]),
            entry("lonely", related=["nowhere", "lonely"]),
            entry("odd-group", group="misc", audience="funders"),
            entry("quiet", skip_in_text=["not a name"]),
            entry("Bad_Slug"),
        ]
    )
    problems = "\n".join(bad.validate())
    for expected in [
        "long: definition has 61 words",
        "no-link: link missing",
        "plain-http: link 'http://example.org/' is not https",
        "duplicate alias 'Shared-Name': it belongs to first and second",
        "lonely: related slug 'nowhere' is unknown",
        "lonely: related to itself",
        "odd-group: group 'misc'",
        "odd-group: audience 'funders'",
        "quiet: skip_in_text 'not a name' is not one of its names",
        "Bad_Slug: slug must be",
    ]:
        assert expected in problems


def test_a_slug_defined_twice_in_the_data_file_is_reported(tmp_path, monkeypatch):
    data = tmp_path / "glossary.toml"
    table = '[[terms]]\nslug = "twice"\nterm = "twice"\ngroup = "research"\ndefinition = "d"\n'
    data.write_text(table + table.replace('"d"', '"e"'))
    monkeypatch.setattr(glossary_module, "DATA_FILE", data)
    glossary = Glossary.load()
    assert glossary.get("twice").definition == "e"
    assert "twice: defined twice in glossary.toml" in glossary.validate()
