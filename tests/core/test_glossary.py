"""The glossary: shipped content rules, look-ups, browsing, the term of the week, and
robustness on arbitrary input. Detection in text is in ``test_glossary_detect.py``; loading,
overrides and content rules in ``test_glossary_data.py``, mirroring the modules."""

from __future__ import annotations

import ast
import itertools
import json
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlparse

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core import glossary as glossary_module
from bot.core import glossary_data, glossary_detect
from bot.core.glossary import (
    GROUPS,
    MAX_DEFINITION_WORDS,
    Glossary,
    GlossaryEntry,
    LookupResult,
    fold,
)

SHIPPED = Glossary.load()


@pytest.fixture
def glossary() -> Glossary:
    return SHIPPED


def slugs(entries: list[GlossaryEntry]) -> list[str]:
    return [e.slug for e in entries]


def entry(slug: str, **changes) -> GlossaryEntry:
    """A valid entry to build small glossaries from."""
    values = {
        "slug": slug,
        "term": slug.replace("-", " "),
        "group": "research",
        "definition": "A short plain definition.",
        "example": "An example sentence.",
        "url": "https://www.ukri.org/",
    }
    return GlossaryEntry.from_mapping(values | changes)


# -- the shipped glossary ---------------------------------------------------------------------


def test_shipped_glossary_meets_every_content_rule(glossary):
    assert glossary.validate() == []
    assert len(glossary) >= 162
    groups = glossary.groups()
    assert list(groups) == list(GROUPS)
    assert all(len(groups[g]) >= 20 for g in GROUPS)


def test_shipped_definitions_are_short_and_links_authoritative(glossary):
    owners = glossary.link_owners
    assert {"ukri", "nihr", "hra", "uk_government", "nhs", "ncvo"} <= set(owners)
    hosts = {h for group in owners.values() for h in group}
    for item in glossary:
        assert len(item.definition.split()) <= MAX_DEFINITION_WORDS, item.slug
        link = urlparse(item.url)
        assert link.scheme == "https", item.url
        host = (link.hostname or "").removeprefix("www.")
        assert any(host == h or host.endswith("." + h) for h in hosts), item.url
        assert link.path not in ("", "/") or link.query, f"{item.slug}: homepage {item.url}"


def test_no_link_is_one_the_review_found_wrong(glossary):
    """The 2026-12 review's wrong-topic, homepage and closed-call links are all gone."""
    wrong = [
        "https://www.ukri.org/apply-for-funding/how-we-make-decisions/",  # for modes, resubmission
        "https://www.ukri.org/opportunity/mental-health-platform-hubs/",  # closed 2023 call
        "https://www.ukri.org/opportunity/ukri-translation-impact-acceleration-accounts-2027/",
        "https://www.gov.uk/government/publications/what-makes-a-charity-cc4/what-makes-a-charity-cc4",
        "https://www.england.nhs.uk/north-east-yorkshire/our-work/preparing-for-winter/mental-health-support",
    ]
    by_slug = {e.slug: e.url for e in glossary}
    for slug in ("responsive-mode", "managed-call", "resubmission", "expression-of-interest",
                 "impact-acceleration-account", "cio", "crisis-cafe"):  # fmt: skip
        assert by_slug[slug] not in wrong, slug
    assert by_slug["responsive-mode"] == "https://www.ukri.org/apply-for-funding/funding-modes/"


def test_link_checked_dates_are_the_reviews_and_never_guessed(glossary):
    """A link is dated only when it was confirmed: by the review (to the month: 2026-12), or
    as a live link in the NIHR pages saved in July 2026; the rest are marked unverified, so
    nobody mistakes a guess for a check."""
    dates = {e.link_checked for e in glossary}
    assert dates <= {"", "2026-12", "2026-07"}
    assert {e.slug for e in glossary if e.link_checked == "2026-07"} == {
        "nihr",
        "nihr-arc",
        "research-delivery-network",
    }
    assert sum(bool(e.link_checked) for e in glossary) >= 30
    assert glossary.get("funding-modes").link_checked == "2026-12"
    assert glossary.get("civic-university-agreement").link_checked == ""


def test_entries_on_changing_policy_carry_an_as_of_date(glossary):
    for slug in ("healthwatch", "icb", "ics", "dtp", "cdt", "doctoral-awards", "tender",
                 "provider-selection-regime", "research-delivery-network", "je-s"):  # fmt: skip
        assert glossary.get(slug).as_of == "2026-12", slug
    assert glossary.get("fec").as_of == ""


def test_the_terms_the_brief_names_are_all_there(glossary):
    wanted = [
        "co-PI", "FEC", "80% rule", "responsive mode", "managed call", "expression of interest",
        "outline stage", "full stage", "REF", "PPIE", "HRA", "Je-S", "Gantt chart",
        "Gateway to Research", "VCSE", "third sector", "VSO", "CIC", "charitable objects",
        "full cost recovery", "commissioning", "statutory services", "ICB", "ICS",
        "social prescribing", "lived experience", "co-production", "crisis café", "IAPT",
        "CMHT", "primary care network", "link worker", "UKRI", "MRC", "ESRC", "AHRC", "EPSRC",
        "NIHR", "UKPRP", "Network Plus", "Wellcome", "MQ", "Mental Health Research UK",
        "Medical Research Foundation", "Innovate UK", "Research England", "RfPB", "PHR", "HS&DR",
        "The National Lottery Community Fund",
        # the 20 the 2026-12 review found missing
        "Charity Research Support Fund", "payment for involvement", "honorarium",
        "benefits advice", "service evaluation", "clinical audit", "UK GDPR", "lawful basis",
        "DPIA", "data-sharing agreement", "research passport", "letter of access",
        "honorary research contract", "consortium agreement", "collaboration agreement",
        "subcontractor", "collaborator", "VAT on research funding",
        "independent research organisation", "UKRI due diligence", "applicant-led mode",
        "targeted mode", "doctoral landscape award",
        "doctoral focal award", "KTP", "civic university agreement", "excess treatment costs",
        "SoECAT", "AcoRD", "NIHR Research Delivery Network", "Provider Selection Regime",
        "Gift Aid", "peer researcher", "co-researcher", "Researchfish", "grant offer",
        "terms and conditions of grant",
    ]  # fmt: skip
    missing = [term for term in wanted if glossary.lookup(term).match not in ("exact", "alias")]
    assert missing == []


# -- look-up ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "slug", "match"),
    [
        ("co-PI", "co-pi", "exact"),
        ("co pi", "co-pi", "exact"),
        ("CoPI", "co-pi", "exact"),
        ("copi", "co-pi", "exact"),
        ("VCSE", "vcse", "exact"),
        ("fec", "fec", "exact"),
        ("Full Economic Cost", "fec", "alias"),
        ("Co-I", "co-pi", "alias"),
        ("co-investigators", "co-pi", "alias"),
        ("principal investigator", "pi", "alias"),
        ("IAPT", "nhs-talking-therapies", "alias"),
        ("national lottery community fund", "tnlcf", "exact"),  # "The" is folded away
        ("the national lottery community fund", "tnlcf", "exact"),
        ("crisis cafe", "crisis-cafe", "exact"),  # so are accents
        ("Crisis Café", "crisis-cafe", "exact"),
        ("social-prescribing", "social-prescribing", "exact"),
    ],
)
def test_lookup_exact_and_alias(glossary, query, slug, match):
    result = glossary.lookup(query)
    assert (result.entry.slug, result.match) == (slug, match)


@pytest.mark.parametrize(
    ("query", "slug"),
    [
        ("social perscribing", "social-prescribing"),
        ("comissioning", "commissioning"),
        ("Safegaurding", "safeguarding"),
        ("Wellcom", "wellcome"),
        ("pathway to impact", "pathways-to-impact"),
    ],
)
def test_lookup_forgives_typos(glossary, query, slug):
    result = glossary.lookup(query)
    assert result.match == "fuzzy"
    assert result.entry.slug == slug


@pytest.mark.parametrize(
    ("query", "suggested"),
    [("prescribing", "social-prescribing"), ("NIHT", "nihr"), ("lottery", "tnlcf")],
)
def test_lookup_without_an_answer_says_did_you_mean(glossary, query, suggested):
    result = glossary.lookup(query)
    assert result.entry is None and result.match == "none"
    assert suggested in slugs(list(result.suggestions))
    assert len(result.suggestions) <= 3


@pytest.mark.parametrize("query", ["banana", "xyz", "asdfghjkl", "", "   ", "!!!", "a"])
def test_lookup_of_nothing_close_gives_nothing(glossary, query):
    result = glossary.lookup(query)
    assert result == LookupResult(result.query, None, "none", result.score, ())


def test_lookup_result_is_plain_json(glossary):
    data = json.loads(json.dumps(glossary.lookup("copi").to_json()))
    assert data["entry"]["slug"] == "co-pi" and data["match"] == "exact"


# -- browsing and the term of the week ------------------------------------------------------


def test_browse_by_group_and_letter(glossary):
    funders = glossary.browse(group="funders")
    assert funders and {e.group for e in funders} == {"funders"}
    assert [fold(e.term) for e in funders] == sorted(fold(e.term) for e in funders)
    under_n = slugs(glossary.browse(letter="n"))
    assert "tnlcf" in under_n and "nihr" in under_n  # a leading "The" is ignored
    assert slugs(glossary.browse(letter="N")) == under_n
    assert slugs(glossary.browse(letter="#")) == ["360giving", "eighty-percent-rule"]
    assert len(glossary.browse()) == len(glossary)
    with pytest.raises(ValueError, match="known groups: research, vcse, funders"):
        glossary.browse(group="nonsense")
    with pytest.raises(ValueError):
        glossary.browse(letter="ab")


def test_term_of_week_is_fixed_and_covers_every_entry_in_a_cycle(glossary):
    first = date.fromisocalendar(2026, 1, 1)
    weeks = [(first + timedelta(weeks=n)).isocalendar()[:2] for n in range(len(glossary))]
    chosen = [glossary.term_of_week(year, week).slug for year, week in weeks]
    assert sorted(chosen) == sorted(e.slug for e in glossary)  # each exactly once
    assert glossary.term_of_week(2026, 10) == Glossary.load().term_of_week(2026, 10)
    assert all(a != b for a, b in itertools.pairwise(chosen))
    with pytest.raises(ValueError):
        glossary.term_of_week(2026, 54)


def test_term_of_week_on_tiny_and_empty_glossaries():
    assert Glossary([entry("only")]).term_of_week(2026, 5).slug == "only"
    with pytest.raises(LookupError):
        Glossary([]).term_of_week(2026, 5)
    assert Glossary([]).find_in_text("anything at all") == []


# -- robustness and purity -----------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_lookup_never_raises(query):
    result = SHIPPED.lookup(query)
    assert isinstance(result, LookupResult)
    assert len(result.suggestions) <= 3
    assert result.entry is None or result.match in ("exact", "alias", "fuzzy")


GLOSSARY_MODULES = (glossary_module, glossary_data, glossary_detect)


@pytest.mark.parametrize("module", GLOSSARY_MODULES, ids=lambda m: m.__name__)
def test_glossary_module_imports_no_platform_library(module):
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    imported = {
        (node.module or "") if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    imported -= {m.__name__ for m in GLOSSARY_MODULES}  # the glossary's own modules
    roots = {name.split(".")[0] for name in imported}
    assert roots <= {"__future__", "re", "tomllib", "unicodedata", "collections", "dataclasses",
                     "datetime", "math", "pathlib", "typing", "urllib", "rapidfuzz"}  # fmt: skip
