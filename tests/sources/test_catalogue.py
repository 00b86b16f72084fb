"""The sources file and the registry: the default catalogue, overrides, and clear errors."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from sources.base import Source, SourceConfig
from sources.catalogue import (
    DEFAULT_SOURCES_FILE,
    CatalogueError,
    SourceNotFoundError,
    load_catalogue,
)
from sources.html import HtmlListingSource, SelectorConfigError
from sources.ical import IcalSource
from sources.registry import (
    _TYPE_PATHS,
    SOURCE_TYPES,
    UnknownSourceError,
    build_source,
    known_types,
    source_type,
)
from sources.rss import RssSource

DEFAULT = load_catalogue(None)


def module_exists(type_name: str) -> bool:
    """Site-specific source modules are written alongside; their entries wait for them."""
    return importlib.util.find_spec(_TYPE_PATHS[type_name].split(":")[0]) is not None


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.toml"
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------- registry


def test_registry_names_every_type():
    expected = ["html", "ical", "jsonld", "nihr", "rss", "squarespace", "tnlcf", "ukri"]
    assert known_types() == expected
    assert set(SOURCE_TYPES) == set(known_types())
    assert SOURCE_TYPES["rss"] is RssSource
    assert SOURCE_TYPES["ical"] is IcalSource
    assert SOURCE_TYPES["html"] is HtmlListingSource


@pytest.mark.parametrize("name", sorted(_TYPE_PATHS))
def test_each_registered_class_is_a_source_of_its_name(name):
    if not module_exists(name):
        pytest.skip(f"{_TYPE_PATHS[name]} is not written yet")
    cls = source_type(name)
    assert issubclass(cls, Source)
    assert cls.type_name == name


def test_unknown_type_lists_the_known_ones():
    with pytest.raises(UnknownSourceError) as error:
        source_type("atom")
    assert isinstance(error.value, ValueError)
    assert str(error.value) == (
        "unknown source type 'atom'; known types: "
        "html, ical, jsonld, nihr, rss, squarespace, tnlcf, ukri"
    )
    with pytest.raises(UnknownSourceError):
        build_source(SourceConfig(name="x", type="atom", url="https://example.org/"))


# ---------------------------------------------------------------- the default catalogue


def test_default_catalogue_loads_from_the_package():
    assert DEFAULT.path == DEFAULT_SOURCES_FILE
    assert len(DEFAULT) >= 15
    for name in ("ukri", "ukri-feed", "mrc", "esrc", "nihr", "tnlcf"):
        assert name in DEFAULT
    kinds = {config.kind for config in DEFAULT}
    assert {"call", "event", "internship", "news"} <= kinds
    types = {config.type for config in DEFAULT}
    assert {"rss", "ical", "html"} <= types


def test_default_catalogue_contract_urls():
    assert DEFAULT.get("ukri").url == (
        "https://www.ukri.org/opportunity/?filter_status%5B%5D=open"
        "&filter_status%5B%5D=upcoming&filter_order=closing_date"
    )
    assert DEFAULT.get("ukri-feed").url == "https://www.ukri.org/opportunity/feed/"
    assert DEFAULT.get("nihr").url == (
        "https://www.nihr.ac.uk/funding-opportunities?status%5BOpen%5D=Open&page=0"
    )
    assert DEFAULT.get("tnlcf").url == (
        "https://www.tnlcommunityfund.org.uk/funding/funding-programmes?status=open"
    )


def test_councils_are_views_of_ukri_and_not_polled():
    for name, council in (("mrc", "mrc"), ("esrc", "esrc")):
        config = DEFAULT.get(name)
        assert config.type == "ukri"
        assert config.view_of == "ukri"
        assert config.options == {"council": council}
    polled = {config.name for config in DEFAULT.polled()}
    assert {"mrc", "esrc"}.isdisjoint(polled)
    assert {"ukri", "nihr", "tnlcf"} <= polled
    # every source polled by default rests on a real saved page; the UKRI feed has none yet
    assert "ukri-feed" not in polled
    assert {config.name for config in DEFAULT.views_of("ukri")} == {"mrc", "esrc"}


def test_disabled_entries_are_not_polled():
    disabled = {config.name for config in DEFAULT if not config.enabled}
    assert disabled
    assert disabled.isdisjoint(config.name for config in DEFAULT.polled())


def test_unverified_entries_say_why():
    for config in DEFAULT:
        if not config.verified:
            assert config.notes, f"{config.name} is unverified without a note"


@pytest.mark.parametrize("name", DEFAULT.names())
def test_every_default_entry_builds_through_the_registry(name):
    config = DEFAULT.get(name)
    if not module_exists(config.type):
        pytest.skip(f"{_TYPE_PATHS[config.type]} is not written yet")
    source = build_source(config)
    assert isinstance(source, SOURCE_TYPES[config.type])
    assert source.name == name
    assert source.start_urls()


def test_get_unknown_name_lists_known_names():
    with pytest.raises(SourceNotFoundError) as error:
        DEFAULT.get("ukrii")
    assert str(error.value).startswith("no source named 'ukrii'; known: ukri, ukri-feed, mrc")


# ---------------------------------------------------------------- override files


OVERRIDE = """
[sources.local-feed]
type = "rss"
url = "https://charity.example.org.uk/feed/"
kind = "news"
topics = ["mental-health", "children-young-people"]
interval_minutes = 60

[sources.local-events]
type = "ical"
url = "https://charity.example.org.uk/events/?ical=1"
kind = "event"
"""


def test_override_file_replaces_the_default(tmp_path):
    catalogue = load_catalogue(write(tmp_path, OVERRIDE))
    assert catalogue.names() == ["local-feed", "local-events"]
    feed = catalogue.get("local-feed")
    assert feed.interval_minutes == 60
    assert feed.topics == ["mental-health", "children-young-people"]
    assert feed.verified is True
    assert feed.max_pages == 5
    assert isinstance(build_source(feed), RssSource)


def test_override_can_lay_itself_over_the_default(tmp_path):
    text = "include_default = true\n" + OVERRIDE + "\n[sources.mind]\nenabled = false\n"
    catalogue = load_catalogue(write(tmp_path, text))
    assert len(catalogue) == len(DEFAULT) + 2
    assert catalogue.get("mind").enabled is False
    assert catalogue.get("mind").url == DEFAULT.get("mind").url
    assert "mind" not in {config.name for config in catalogue.polled()}


# ---------------------------------------------------------------- errors, one line each


GOOD = '[sources.{name}]\ntype = "rss"\nurl = "https://example.org/feed/"\n'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[sources.broken]\ntype = "rss"\n', "entry 'broken', field 'url': required field missing"),
        (
            GOOD.format(name="slow") + "interval_minutes = 1\n",
            "entry 'slow', field 'interval_minutes': Input should be greater than or equal to 5",
        ),
        (
            GOOD.format(name="typo") + "intervall_minutes = 60\n",
            "entry 'typo', field 'intervall_minutes': unknown field (a typo?)",
        ),
        (
            GOOD.format(name="kinds") + 'kind = "grant"\n',
            "entry 'kinds', field 'kind': kind 'grant' is not one of call, internship",
        ),
        (
            GOOD.format(name="topics") + 'topics = ["Mental Health"]\n',
            "entry 'topics', field 'topics': topic 'Mental Health' is not a slug",
        ),
        (
            '[sources.atom]\ntype = "atom"\nurl = "https://example.org/feed/"\n',
            "entry 'atom', field 'type': unknown source type 'atom'; "
            "known types: html, ical, jsonld, nihr, rss, squarespace, tnlcf, ukri",
        ),
        (
            '[sources.ftp]\ntype = "rss"\nurl = "ftp://example.org/feed"\n',
            "entry 'ftp', field 'url': String should match pattern",
        ),
        (
            GOOD.format(name="view") + 'view_of = "nowhere"\n',
            "entry 'view', field 'view_of': 'nowhere' is not a polled entry",
        ),
        (
            GOOD.format(name="Bad_Name"),
            "entry 'Bad_Name': names are lower-case letters, digits and hyphens",
        ),
        ("[sources.x\n", "not valid TOML"),
        ('[feeds.x]\ntype = "rss"\n', "unknown top-level key(s) feeds"),
        ("sources = 3\n", "'sources' must be tables"),
    ],
)
def test_invalid_file_gives_one_line_naming_entry_and_field(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(CatalogueError) as error:
        load_catalogue(path)
    message = str(error.value)
    assert expected in message
    assert message.startswith(str(path))
    assert "\n" not in message


def test_several_problems_are_counted(tmp_path):
    path = write(tmp_path, '[sources.many]\ntype = "nope"\nkind = "grant"\n')
    with pytest.raises(CatalogueError, match=r"\(and 2 more problems\)"):
        load_catalogue(path)


def test_view_must_share_the_type_of_what_it_views(tmp_path):
    text = GOOD.format(name="feed") + '\n[sources.v]\ntype = "ical"\nurl = "https://e.org/"\n'
    path = write(tmp_path, text + 'view_of = "feed"\n')
    with pytest.raises(CatalogueError, match="a view must have the type of 'feed'"):
        load_catalogue(path)


def test_missing_file(tmp_path):
    with pytest.raises(CatalogueError, match="sources file not found"):
        load_catalogue(tmp_path / "absent.toml")


def test_html_entry_without_selectors_fails_when_built_naming_it(tmp_path):
    path = write(tmp_path, '[sources.page]\ntype = "html"\nurl = "https://example.org/calls"\n')
    config = load_catalogue(path).get("page")
    with pytest.raises(SelectorConfigError, match="source 'page' \\(type html\\)"):
        build_source(config)


def test_default_catalogue_topics_are_taxonomy_topics():
    """A source's topics are copied onto its items, so they must be real topic slugs."""
    from bot.core.taxonomy import Taxonomy

    slugs = set(Taxonomy.load().slugs)
    for config in load_catalogue():
        assert set(config.topics) <= slugs, config.name


# ---------------------------------------------------------------- evidence (issue 15, point 6)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.mark.parametrize("config", list(DEFAULT), ids=lambda c: c.name)
def test_every_default_entry_states_its_evidence_and_audience(config):
    assert config.evidence in ("confirmed", "inferred", "guess")
    assert config.evidence_note and "\n" not in config.evidence_note
    assert config.audiences and set(config.audiences) <= {"vcse", "research", "students"}
    if config.enabled:
        assert config.evidence != "guess" and not config.blocked


def test_blocked_and_script_rendered_entries_are_off_with_their_reason():
    for name, reason in [
        ("mq-mental-health", "captcha"),
        ("medical-research-foundation", "script-rendered"),
        ("wellcome-schemes", "script-rendered"),
    ]:
        config = DEFAULT.get(name)
        assert not config.enabled and config.blocked.startswith(reason)


def test_the_sources_md_corrections_are_in_the_catalogue():
    assert DEFAULT.get("wellcome-schemes").url == "https://wellcome.org/grant-funding/schemes"
    assert "format=rss" not in DEFAULT.get("march-network").url
    assert DEFAULT.get("jobs-ac-uk-mental-health-phds").type == "html"
    assert "format=rss" not in DEFAULT.get("jobs-ac-uk-mental-health-phds").url
    henry = DEFAULT.get("henry-smith-foundation")
    assert henry.url.startswith("https://henrysmith.foundation/")
    assert henry.funders == ["Henry Smith Foundation"]


def test_a_guess_is_off_unless_the_file_turns_it_on(tmp_path):
    path = write(
        tmp_path,
        """
[sources.a]
type = "rss"
url = "https://example.org/feed/"
evidence = "guess"

[sources.b]
type = "rss"
url = "https://example.org/feed/"
evidence = "inferred"

[sources.c]
type = "rss"
url = "https://example.org/feed/"
evidence = "guess"
enabled = true
""",
    )
    catalogue = load_catalogue(path)
    assert [c.name for c in catalogue.polled()] == ["b", "c"]


def test_a_blocked_entry_cannot_be_turned_on_by_an_override(tmp_path):
    path = write(tmp_path, "include_default = true\n[sources.mq-mental-health]\nenabled = true\n")
    with pytest.raises(CatalogueError, match=r"mq-mental-health.*blocked entry cannot be enabled"):
        load_catalogue(path)


def test_evidence_and_audiences_are_checked(tmp_path):
    base = '[sources.a]\ntype = "rss"\nurl = "https://example.org/feed/"\n'
    with pytest.raises(CatalogueError, match="'evidence'"):
        load_catalogue(write(tmp_path, base + 'evidence = "likely"\n'))
    with pytest.raises(CatalogueError, match="'audiences"):
        load_catalogue(write(tmp_path, base + 'audiences = ["charities"]\n'))


def test_phf_open_funds_parse_from_the_saved_page():
    source = build_source(DEFAULT.get("phf-open"))
    body = (FIXTURES / "phf" / "phf-funding-open-trimmed.html").read_bytes()
    items = source.parse(body, "https://www.phf.org.uk/funding").items
    # the open list only: Arts Fund (not accepting) and Awards for Artists (invitation) are out
    assert [i.title for i in items] == ["Teacher Development Fund", "Migration Fund", "India Fund"]
    first = items[0]
    assert first.url == "https://www.phf.org.uk/funding/teacher-development-fund"
    assert first.closes_at is not None and first.closes_at.date().isoformat() == "2026-11-11"
    assert first.award_max_pence == 165_000_00
    assert items[1].closes_at is None  # "Rolling application cycle"


def test_jobs_ac_uk_cards_parse_from_the_saved_cards():
    config = DEFAULT.get("jobs-ac-uk-mental-health-phds")
    body = (FIXTURES / "jobsacuk" / "jobsacuk-search-results-2cards-trimmed.html").read_bytes()
    items = build_source(config).parse(body, config.url).items
    assert [i.url for i in items] == [
        "https://www.jobs.ac.uk/job/DRV582/full-professor-in-law",
        "https://www.jobs.ac.uk/job/DRV584/lecturer-in-food-chemistry",
    ]
    assert items[1].summary == "Atlantic Technological University"
    assert items[1].award_min_pence == 41_377_94
