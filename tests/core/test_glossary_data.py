"""Glossary data: loading, override files, extra (admin) entries, entries as JSON and
database rows, and the content rules (``bot/core/glossary_data.py``)."""

from __future__ import annotations

import json
from datetime import date

import pytest

from bot.core import glossary as glossary_module
from bot.core.glossary import Glossary, GlossaryEntry, GlossaryError
from bot.core.glossary_data import when_date, when_label
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
url = "https://www.gov.uk/government/publications/test-and-learn"
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
        ("[[terms]]\nslug = 'fec'\nlink_checked = 'last week'\n", "link_checked must be a date"),
        ("[[terms]]\nslug = 'fec'\nas_of = '2026-13'\n", "as_of must be a date"),
        ("[[terms]]\nslug = 'fec'\nas_of = 2026-11-01T10:00:00\n", "as_of must be a date"),
        ("[link_owners]\nukri = 'ukri.org'\n", "link_owners.ukri must be a list"),
        ("link_owners = 3\n", "link_owners must be a table"),
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


def test_dates_are_read_as_toml_dates_or_months_and_round_trip(tmp_path):
    override = tmp_path / "dated.toml"
    override.write_text(
        '[[terms]]\nslug = "fec"\nlink_checked = 2026-11-20\nas_of = "2026-12"\n'
        '[[terms]]\nslug = "pi"\nlink_checked = ""\n'
    )
    glossary = Glossary.load(override=override)
    fec = glossary.get("fec")
    assert (fec.link_checked, fec.as_of) == ("2026-11-20", "2026-12")
    assert GlossaryEntry.from_mapping(json.loads(json.dumps(fec.to_json()))) == fec
    assert glossary.get("pi").link_checked == ""
    assert when_date("2026-12") == date(2026, 12, 1)  # a month counts from its first day
    assert (when_label("2026-12"), when_label("2026-11-20"), when_label("")) == (
        "December 2026",
        "20 November 2026",
        "",
    )


def test_link_rules_homepage_foreign_host_and_owner_list(tmp_path):
    override = tmp_path / "links.toml"
    override.write_text(
        '[link_owners]\nour_council = ["leeds.gov.uk", "leedsccg.example"]\n'
        '[[terms]]\nslug = "fec"\nurl = "https://www.ukri.org/"\n'
        '[[terms]]\nslug = "pi"\nurl = "https://blog.example.org/pi"\n'
        '[[terms]]\nslug = "trac"\nurl = "https://leedsccg.example/trac"\n'
        '[[terms]]\nslug = "co-pi"\nurl = "https://www.learningforinvolvement.org.uk/?opportunity=x"\n'
    )
    glossary = Glossary.load(override=override)
    problems = glossary.validate()
    homepage = "fec: link 'https://www.ukri.org/' is a homepage, not the page about the term"
    assert homepage in problems
    assert "pi: link host 'blog.example.org' is not in [link_owners]" in problems
    # trac's host is an owner the override added; co-pi's link is a page behind a query
    assert not [p for p in problems if p.startswith(("trac:", "co-pi:"))]
    assert "ukri" in glossary.link_owners and "our_council" in glossary.link_owners


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
