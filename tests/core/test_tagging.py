"""Tagging real page text and short sentences: topics, roles and flags a careful reader gives.

Real excerpts are in ``tests/fixtures/text`` (see its README for provenance). For each one
the tables say what must be tagged and what must not; what a reasonable reader might go
either way on is left unasserted.

Roles and flags, read sentence by sentence, are in ``test_tagging_roles.py``, mirroring
``bot/core/tagging_roles.py``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.model import FLAGS, ROLES, Opportunity
from bot.core.tagging import Tags, enrich, tag
from bot.core.taxonomy import Taxonomy

TEXT = Path(__file__).resolve().parent.parent / "fixtures" / "text"
CLOSES = datetime(2030, 1, 1, 16, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return Taxonomy.load()


def item(title: str = "", summary: str = "", eligibility: str = "", **fields) -> Opportunity:
    fields.setdefault("closes_at", CLOSES)
    return Opportunity(
        source="test",
        external_id=title or summary[:20] or "x",
        url="https://example.org/",
        title=title,
        summary=summary,
        eligibility=eligibility,
        **fields,
    )


# ---------------------------------------------------------------------- real excerpts
@dataclass
class Expect:
    title: str
    topics: set[str] = field(default_factory=set)
    not_topics: set[str] = field(default_factory=set)
    roles: set[str] = field(default_factory=set)
    not_roles: set[str] = field(default_factory=set)
    flags: set[str] = field(default_factory=set)
    not_flags: set[str] = field(default_factory=set)


UNRELATED = {"dementia", "veterans-armed-forces", "housing-homelessness", "domestic-abuse"}

# Keyed by a fragment of the excerpt's address that names exactly one excerpt.
EXCERPTS = {
    "mental-health-platform-hubs": Expect(
        "Mental health platform hubs",
        topics={"mental-health", "severe-mental-illness"},
        not_topics=UNRELATED | {"children-young-people"},
        roles={"established_researcher"},
        not_roles={"vcse", "student", "early_career"},
        not_flags={"vcse_partner", "lived_experience", "invite_only"},
    ),
    "neurosciences-and-mental-health-partnership": Expect(
        "Neurosciences and mental health: responsive mode partnership",
        topics={"mental-health"},
        not_topics=UNRELATED | {"employment-welfare"},
        roles={"established_researcher"},
        not_roles={"vcse", "student"},
        flags={"invite_only"},
        not_flags={"vcse_partner"},
    ),
    "22555-public-health-research-programme": (
        Expect(
            "22/555 Public Health Research Programme researcher-led",
            topics={"public-health"},
            not_topics=UNRELATED | {"mental-health"},
            not_roles={"vcse", "student"},
            not_flags={"vcse_partner", "invite_only"},
        )
    ),
    "mental-health-research-development-award": Expect(
        "Mental Health Research Development Award",
        topics={"mental-health"},
        not_topics=UNRELATED,
        roles={"established_researcher"},
        not_roles={"vcse", "student"},
        flags={"vcse_partner"},
        not_flags={"invite_only"},
    ),
    "mqmentalhealth.org": Expect(
        "MQ Fellows Award",
        topics={
            "mental-health",
            "children-young-people",
            "public-health",
            "suicide-self-harm",
            "anxiety-depression",
        },
        not_topics=UNRELATED,
        roles={"early_career"},
        not_roles={"vcse", "student", "established_researcher"},
        not_flags={"vcse_partner", "invite_only"},
    ),
    "mentalhealthresearchuk.org.uk": Expect(
        "PhD funding",
        topics={"mental-health", "severe-mental-illness"},
        not_topics=UNRELATED,
        roles={"student"},
        not_roles={"vcse", "established_researcher"},
        flags={"lived_experience"},
        not_flags={"vcse_partner"},
    ),
    "//cms.wellcome.org/": (
        Expect(
            "Mental Health Award: applying neuroscience to understand symptoms in anxiety, "
            "depression and psychosis",
            topics={"mental-health", "anxiety-depression", "severe-mental-illness"},
            not_topics=UNRELATED,
            not_roles={"vcse", "student"},
            not_flags={"vcse_partner", "lived_experience"},
        )
    ),
    "//wellcome.org/": (
        Expect(
            "Mental Health Award: applying neuroscience to understand symptoms in anxiety, "
            "depression and psychosis",
            topics={"mental-health", "anxiety-depression", "severe-mental-illness"},
            not_topics=UNRELATED,
            not_roles={"vcse", "student"},
            not_flags={"vcse_partner", "lived_experience"},
        )
    ),
    "forumcentral.org.uk": Expect(
        "Synergi round 2 small grants fund",
        topics={"mental-health", "racial-equity", "health-inequalities", "lived-experience"},
        not_topics=UNRELATED,
        roles={"vcse"},
        not_roles={"student", "established_researcher", "early_career"},
        flags={"lived_experience"},
        not_flags={"vcse_partner", "invite_only"},
    ),
    "medicalresearchfoundation.org.uk": (
        Expect(
            "Mental Health Launchpad Grants",
            topics={"mental-health"},
            not_topics=UNRELATED,
            roles={"established_researcher"},
            not_roles={"early_career", "vcse", "student"},
        )
    ),
    "research.hscni.net": Expect(
        "UKPRP second call now open",
        topics={"public-health"},
        not_topics=UNRELATED | {"mental-health"},
        not_flags={"invite_only", "pre_announcement", "vcse_partner"},
    ),
    "blogs.ncl.ac.uk": Expect(
        "Cross-disciplinary mental health network plus call (ESRC led)",
        topics={"mental-health"},
        not_topics=UNRELATED,
        not_roles={"vcse", "student"},
    ),
}


def _entries() -> list[dict]:
    return json.loads((TEXT / "pages-text-excerpts.json").read_text(encoding="utf-8"))["entries"]


def _expectation(url: str) -> Expect:
    (key,) = [key for key in EXCERPTS if key in url]
    return EXCERPTS[key]


def test_every_excerpt_has_exactly_one_expectation():
    entries = _entries()
    assert len(entries) == len(EXCERPTS) == 12
    assert {id(_expectation(entry["url"])) for entry in entries} == {
        id(e) for e in EXCERPTS.values()
    }


@pytest.mark.parametrize("entry", _entries(), ids=lambda e: e["url"].split("/")[2])
def test_real_excerpts_get_the_tags_a_careful_reader_gives(taxonomy, entry):
    expect = _expectation(entry["url"])
    tags = tag(item(expect.title, entry["text_excerpt"]), taxonomy)
    assert expect.topics <= set(tags.topics), tags.evidence
    assert not expect.not_topics & set(tags.topics), tags.evidence
    assert expect.roles <= set(tags.roles), tags.evidence
    assert not expect.not_roles & set(tags.roles), tags.evidence
    assert expect.flags <= set(tags.flags), tags.evidence
    assert not expect.not_flags & set(tags.flags), tags.evidence


def _page(name: str) -> tuple[str, str]:
    lines = (TEXT / name).read_text(encoding="utf-8").splitlines()
    return lines[1], "\n".join(lines)


def test_future_leaders_fellowship_page(taxonomy):
    tags = tag(item(*_page("ukri-opportunity-flf-round11.txt")), taxonomy)
    assert tags.roles == ["early_career"]  # "transition to independence", hosted by an RO
    assert tags.topics == []
    assert tags.flags == []


def test_mrc_pet_imaging_page_is_invite_only(taxonomy):
    tags = tag(item(*_page("ukri-opportunity-mrc-pet-imaging.txt")), taxonomy)
    assert tags.flags == ["invite_only"]  # "You must be invited to apply"
    assert tags.roles == ["established_researcher"]
    assert "mental-health" not in tags.topics


def test_nihr_public_health_page_welcomes_lived_experience(taxonomy):
    tags = tag(item(*_page("nihr-detail-phr-commissioned-nice-rolling.txt")), taxonomy)
    assert {"public-health", "health-inequalities", "evaluation-methods"} <= set(tags.topics)
    assert "lived_experience" in tags.flags  # co-produced with service users
    assert "vcse" not in tags.roles
    assert "mental-health" not in tags.topics


# ---------------------------------------------------------------------- UKRI listing titles
TITLE_TOPICS = {
    "UKRI Data for Metascience": ["evaluation-methods"],
    "Expression of interest: Supporting researchers to involve public at pre-application stage": [
        "lived-experience"
    ],
    "Early Life Cohort longitudinal study": ["children-young-people", "evaluation-methods"],
    "UKRI Metascience AI early career fellowships": ["evaluation-methods"],
    "UKRI Creating opportunities: rethinking economic (in)activity": ["employment-welfare"],
    "Neurosciences and mental health: programme: responsive mode": ["mental-health"],
    "Neurosciences and mental health: new investigator: responsive mode": ["mental-health"],
    "Neurosciences and mental health research: research grant: responsive mode": ["mental-health"],
    "ESRC responsive mode: secondary data analysis round two": ["evaluation-methods"],
}
TITLE_FLAGS = {
    "Healthcare Technology Translation Partnership Scheme invite only": ["invite_only"],
    "AHRC Collaborative doctoral project nomination 2025 (invite only)": ["invite_only"],
    "Research skills leadership hub: full (Invite only)": ["invite_only"],
    "International Centre to Centre Research Collaborations 2025: invite only": ["invite_only"],
    "Scottish Election Study 2026 (invite only)": ["invite_only"],
    "EPSRC working with overseas scientists: Nov 2023: responsive mode (invite only)": [
        "invite_only"
    ],
    "Pre-announcement: 2025 to 2026 strategic Longer and Larger (sLoLa) grants": [
        "pre_announcement"
    ],
    "Pre-announcement: Opening up the Environment 2026": ["pre_announcement"],
    "Pre-announcement: Gap fund for early-stage development of new healthcare interventions": [
        "pre_announcement"
    ],
    "Pre-announcement: UK future internet NetworkPlus": ["pre_announcement"],
}
EARLY_CAREER_TITLES = {
    "Centre-UB Early Career Researcher Fellowships 2025",
    "Mathematical sciences postdoctoral fellowship",
    "UKRI Metascience AI early career fellowships",
    "LUCIA-Local Government Association (LGA) ECR fellowship programme",
    "BBSRC new investigator award: 2025 round 2: responsive mode",
    "Postdoctoral clinical research training fellowship",
    "Molecular and cellular medicine: new investigator: responsive mode",
    "Neurosciences and mental health: new investigator: responsive mode",
    "Infections and immunity: new investigator: responsive mode",
    "Population and systems medicine: new investigator: responsive mode",
    "Career development award",
    "EPSRC new investigator award: Nov 2023: responsive mode",
    "ESRC responsive mode: new investigator grants round two",
}
STUDENT_TITLES = {"Predoctoral clinical research training fellowship"}


def _ukri_titles() -> list[str]:
    cards = json.loads((TEXT / "ukri-listing-scraped-2025-03.json").read_text(encoding="utf-8"))
    return [card["title"] for card in cards]


def test_ukri_titles_are_tagged_precisely(taxonomy):
    """122 real titles: the few about our topics are tagged, and every other one gets none
    (no "arts" from "arts and humanities", no "evaluation" from "feasibility studies")."""
    titles = _ukri_titles()
    assert len(titles) == 122
    assert set(TITLE_TOPICS) | set(TITLE_FLAGS) | EARLY_CAREER_TITLES <= set(titles)
    for title in titles:
        tags = tag(item(title, kind="news", closes_at=None), taxonomy)
        assert tags.topics == TITLE_TOPICS.get(title, []), title
        assert tags.flags == TITLE_FLAGS.get(title, []), title
        expected_roles = (
            ["early_career"]
            if title in EARLY_CAREER_TITLES
            else ["student"]
            if title in STUDENT_TITLES
            else []
        )
        assert tags.roles == expected_roles, title


# ---------------------------------------------------------------------- topic rules
def test_one_title_hit_is_enough(taxonomy):
    assert tag(item("Grants for loneliness projects"), taxonomy).topics == ["loneliness-isolation"]


def test_one_ordinary_body_hit_is_not_enough_but_two_are(taxonomy):
    one = "Research areas include cancer, infection and mental health."
    assert tag(item("Programme grants", one), taxonomy).topics == []
    two = "We fund mental health research in schools. Mental health matters."
    assert "mental-health" in tag(item("Programme grants", two), taxonomy).topics


def test_one_strong_body_hit_is_enough(taxonomy):
    text = "Projects may include work on schizophrenia among other areas."
    assert tag(item("Programme grants", text), taxonomy).topics == ["severe-mental-illness"]


def test_plurals_tag_like_singulars(taxonomy):
    assert tag(item("Support for young carers"), taxonomy).topics == [
        "carers",
        "children-young-people",
    ]
    assert tag(item("Eating disorders research"), taxonomy).topics == ["eating-disorders"]
    assert tag(item("Community arts for older people"), taxonomy).topics == [
        "older-people",
        "social-prescribing",
    ]


@pytest.mark.parametrize(
    "title",
    [
        "Collaborative doctoral landscape award in the arts and humanities",
        "A partner in the art of science",
        "Award for hospital ward design",
        "Clean maritime demonstration competition round six: feasibility studies",
        "Knowledge Transfer Partnership",
    ],
)
def test_whole_words_only(taxonomy, title):
    tags = tag(item(title), taxonomy)
    assert tags.topics == [] and tags.roles == [] and tags.flags == []


def test_configured_topics_are_kept_and_known_names_get_their_slug(taxonomy):
    tags = tag(item("Nothing to see", topics=["phd", "co-production", "mental-health"]), taxonomy)
    assert tags.topics == ["co-production", "lived-experience", "mental-health", "phd"]


# ---------------------------------------------------------------------- enrich
def test_enrich_sets_tags_in_place_and_returns_the_item(taxonomy):
    opportunity = item(
        "Peer support for veterans",
        "Charities can apply. Charities can apply.",
        roles=["early_career"],
        flags=["closing_date_tbc"],
        closes_at=None,
    )
    result = enrich(opportunity, taxonomy)
    assert result is opportunity
    assert opportunity.topics == ["peer-support", "veterans-armed-forces"]
    assert opportunity.roles == ["early_career", "vcse"]
    assert opportunity.flags == ["closing_date_tbc"]
    again = enrich(replace(opportunity), taxonomy)
    assert (again.topics, again.roles, again.flags) == (
        opportunity.topics,
        opportunity.roles,
        opportunity.flags,
    )


def test_tags_explain_themselves(taxonomy):
    tags = tag(item("Suicide prevention grants", eligibility="Charities can apply."), taxonomy)
    assert tags == Tags(["suicide-self-harm"], ["vcse"], [])
    assert tags.evidence["topic:suicide-self-harm"] == ["suicide prevention (title)"]
    assert tags.evidence["role:vcse"] == ["charity"]


@settings(max_examples=150, deadline=None)
@given(title=st.text(max_size=80), summary=st.text(max_size=400), eligibility=st.text(max_size=200))
def test_tagging_never_raises_and_returns_known_sorted_tags(title, summary, eligibility):
    tags = tag(item(title, summary, eligibility, closes_at=None), Taxonomy.load())
    for values, known in ((tags.roles, ROLES), (tags.flags, FLAGS)):
        assert values == sorted(set(values))
        assert set(values) <= set(known)
    assert tags.topics == sorted(set(tags.topics))


# ---------------------------------------------------------------------- words in context
# (the full table of adversarial phrasings is in test_tagging_eval.py)
def test_an_ambiguous_word_needs_a_health_care_or_vcse_context(taxonomy):
    assert tag(item("Housing design grants"), taxonomy).topics == []
    with_context = item("Housing design grants", "Charities can apply for tenancy advice work.")
    assert "housing-homelessness" in tag(with_context, taxonomy).topics


def test_a_guard_holds_even_with_context(taxonomy):
    text = "Mental health charities can apply."
    assert "anxiety-depression" not in tag(item("The Great Depression", text), taxonomy).topics
    assert "anxiety-depression" in tag(item("Depression support", text), taxonomy).topics


def test_negation_drops_only_the_negated_topic(taxonomy):
    text = "We fund suicide prevention work, but not dementia research."
    assert tag(item("Grants", text), taxonomy).topics == ["suicide-self-harm"]
    text = "We fund dementia research. We do not fund suicide prevention work."
    assert tag(item("Grants", text), taxonomy).topics == ["dementia"]


def test_an_exclusion_heading_governs_only_its_own_list(taxonomy):
    text = (
        "We do not fund:\n- befriending\n- gambling support\n"
        "Our priority is suicide prevention.\n- Projects for care leavers"
    )
    assert tag(item("Grants", text), taxonomy).topics == [
        "children-young-people",
        "suicide-self-harm",
    ]


def test_a_group_named_only_in_a_list_of_groups_needs_a_second_place(taxonomy):
    groups = "Priority groups:\n• carers\n• veterans\n• refugees\n• older people\n"
    assert tag(item("Community grants", groups), taxonomy).topics == []
    again = groups + "Unpaid carers are especially welcome."
    assert tag(item("Community grants", again), taxonomy).topics == ["carers"]
    in_title = tag(item("Grants for veterans", groups), taxonomy).topics
    assert in_title == ["veterans-armed-forces"]


@pytest.mark.parametrize(
    ("text", "topics"),
    [
        ("For young people aged 11-25.", ["children-young-people"]),
        ("For people over 65.", ["older-people"]),
        ("For residents aged 60 and over.", ["older-people"]),
        ("Projects can last 1-3 years.", []),
        ("You must be within 5 years of your PhD.", []),
        ("Grants of £2-5 million for adults aged 18 and over.", []),
    ],
)
def test_age_bands_name_their_group(taxonomy, text, topics):
    assert tag(item("Grants", text), taxonomy).topics == topics
