"""The glossary: shipped content rules, look-ups, detection in real page text, overrides, the
term of the week, and robustness on arbitrary input."""

from __future__ import annotations

import ast
import itertools
import json
import time
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlparse

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core import glossary as glossary_module
from bot.core.glossary import (
    GROUPS,
    MAX_DEFINITION_WORDS,
    Glossary,
    GlossaryEntry,
    GlossaryError,
    LookupResult,
    fold,
)

TEXT = Path(__file__).parent.parent / "fixtures" / "text"

# Hosts of public bodies and established sector organisations; a new link elsewhere should be a
# deliberate choice, so this list is changed on purpose rather than by accident.
AUTHORITATIVE_HOSTS = (
    "ukri.org",
    "rcuk.ac.uk",
    "ref.ac.uk",
    "nihr.ac.uk",
    "gov.uk",
    "nhs.uk",
    "ncvo.org.uk",
    "navca.org.uk",
    "acf.org.uk",
    "socialenterprise.org.uk",
    "wellcome.org",
    "tnlcommunityfund.org.uk",
    "mqmentalhealth.org",
    "mentalhealthresearchuk.org.uk",
    "medicalresearchfoundation.org.uk",
    "ukprp.org",
    "healthandcareresearchwales.org",
    "hscni.net",
    "nice.org.uk",
    "healthwatch.co.uk",
    "learningforinvolvement.org.uk",
    "mind.org.uk",
    "rethink.org",
    "youngminds.org.uk",
    "thinknpc.org",
    "threesixtygiving.org",
)


SHIPPED = Glossary.load()
NAMES = [name for item in SHIPPED for name in item.names]


@pytest.fixture
def glossary() -> Glossary:
    return SHIPPED


def page_texts() -> dict[str, str]:
    """Real page text: the shared excerpts by address, plus the extracted UKRI/NIHR pages."""
    data = json.loads((TEXT / "pages-text-excerpts.json").read_text(encoding="utf-8"))
    texts = {e["url"]: e["text_excerpt"] for e in data["entries"]}
    for path in sorted(TEXT.glob("*.txt")):
        texts[path.stem] = path.read_text(encoding="utf-8")
    return texts


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
    assert len(glossary) >= 90
    groups = glossary.groups()
    assert list(groups) == list(GROUPS)
    assert all(len(groups[g]) >= 20 for g in GROUPS)


def test_shipped_definitions_are_short_and_links_authoritative(glossary):
    for item in glossary:
        assert len(item.definition.split()) <= MAX_DEFINITION_WORDS, item.slug
        host = urlparse(item.url).hostname or ""
        assert any(host == h or host.endswith("." + h) for h in AUTHORITATIVE_HOSTS), item.url


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


# -- detection in text ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        (
            "https://www.ukri.org/opportunity/mental-health-platform-hubs/",
            ["research-organisation", "expression-of-interest", "eighty-percent-rule",
             "funding-service", "co-pi", "mrc"],
        ),
        (
            "https://www.ukri.org/opportunity/neurosciences-and-mental-health-partnership/",
            ["responsive-mode", "research-organisation", "mrc", "ukri", "funding-service"],
        ),
        (
            "https://www.nihr.ac.uk/funding/22555-public-health-research-programme-researcher-led/32109",
            ["nihr", "nihr-phr", "responsive-mode", "research-support-service", "outline-stage",
             "highlight-notice"],
        ),
        (
            "https://www.mentalhealthresearchuk.org.uk/phd-funding",
            ["mhruk", "studentship", "peer-review", "public-contributor", "trustee"],
        ),
        (
            "https://blogs.ncl.ac.uk/icmresearchfunding/?p=176",
            ["network-plus", "esrc", "fec", "research-organisation"],
        ),
        (
            "https://www.medicalresearchfoundation.org.uk/guidance-for-applicants-mental-health-launchpad-grant",
            ["mrf", "mid-career-researcher", "rebuttal"],
        ),
        (
            "ukri-opportunity-flf-round11",
            ["future-leaders-fellowships", "ukri", "fellowship", "eighty-percent-rule", "fec"],
        ),
        (
            "nihr-detail-phr-commissioned-nice-rolling",
            ["nihr-phr", "nihr", "nice", "outline-stage", "co-production", "ppie"],
        ),
    ],
)  # fmt: skip
def test_terms_found_in_real_page_text(glossary, key, expected):
    found = slugs(glossary.find_in_text(page_texts()[key], limit=None))
    assert [s for s in found if s in expected] == expected  # all of them, in page order
    assert len(found) == len(set(found))


def test_word_boundaries_hold_in_real_page_text(glossary):
    nihr = page_texts()["nihr-detail-phr-commissioned-nice-rolling"]
    assert "PICO tables" in nihr and "should reference the NICE" in nihr
    found = slugs(glossary.find_in_text(nihr, limit=None))
    assert "pi" not in found  # not in PICO / PICOST
    assert "ref" not in found  # not in reference / referencing


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The PIPELINE is full.", []),
        ("ask the pi about it", []),
        ("The PI and the co-PI agree.", ["pi", "co-pi"]),
        ("Both PIs signed.", ["pi"]),
        ("A reference list, then REF 2029.", ["ref"]),
        ("preferred referee", ["peer-review"]),
        ("an ICBM, not an ICB", ["icb"]),
        ("ICBs and PCNs", ["icb", "pcn"]),
        ("costed at 100%fEC", ["fec"]),
        ("EOI first, then a full proposal", ["expression-of-interest", "full-stage"]),
        ("COI declared", []),
        ("NIHR RfPB, then NIHR", ["nihr-rfpb", "nihr"]),
        ("social-prescribing link workers", ["link-worker"]),
        ("Coproduction and co produced work", ["co-production"]),
        ("SOCIAL PRESCRIBING", ["social-prescribing"]),
        ("a panel of experts, a scope, its objects", []),
    ],
)
def test_detection_case_and_boundary_rules(glossary, text, expected):
    assert slugs(glossary.find_in_text(text, limit=None)) == expected


def test_detection_orders_by_first_appearance_and_honours_the_limit(glossary):
    text = "Wellcome, then the ICB, then Wellcome again, then CMHT and REF."
    assert slugs(glossary.find_in_text(text)) == ["wellcome", "icb", "cmht"]
    assert slugs(glossary.find_in_text(text, limit=1)) == ["wellcome"]
    assert glossary.find_in_text(text, limit=0) == []
    assert slugs(glossary.find_in_text(text, limit=None))[-1] == "ref"


def test_detection_can_leave_out_groups(glossary):
    text = "UKRI and MRC ask for a co-PI and 80% of FEC; the ICB commissions it."
    assert slugs(glossary.find_in_text(text, limit=None))[:3] == ["ukri", "mrc", "co-pi"]
    assert slugs(glossary.find_in_text(text, groups=["research", "vcse"])) == [
        "co-pi",
        "eighty-percent-rule",
        "icb",
    ]


def test_detection_is_one_precompiled_pattern_and_fast(glossary):
    assert isinstance(glossary._pattern, type(glossary_module.re.compile("")))
    long_page = page_texts()["nihr-detail-phr-commissioned-nice-rolling"]
    assert len(long_page) > 15_000
    glossary.find_in_text(long_page, limit=None)
    started = time.perf_counter()
    for _ in range(10):
        glossary.find_in_text(long_page, limit=None)
    per_page = (time.perf_counter() - started) / 10
    # about 10 ms on the CI machine; a loop of one regex per entry takes over half a second
    assert per_page < 0.15


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


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.one_of(st.text(max_size=40), st.sampled_from(NAMES)), max_size=12),
    st.one_of(st.none(), st.integers(min_value=0, max_value=5)),
)
def test_find_in_text_never_raises(pieces, limit):
    found = SHIPPED.find_in_text(" ".join(pieces), limit=limit)
    assert len(found) == len({e.slug for e in found})
    assert limit is None or len(found) <= limit


def test_glossary_module_imports_no_platform_library():
    tree = ast.parse(Path(glossary_module.__file__).read_text(encoding="utf-8"))
    imported = {
        (node.module or "") if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    roots = {name.split(".")[0] for name in imported}
    assert roots <= {"__future__", "re", "tomllib", "unicodedata", "collections", "dataclasses",
                     "datetime", "math", "pathlib", "typing", "rapidfuzz"}  # fmt: skip
