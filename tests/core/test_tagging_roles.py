"""Roles and flags from short sentences, and the closing-date flag: the rules of
``bot/core/tagging_roles.py``, checked through the public ``tag``."""

from __future__ import annotations

import pytest

from bot.core.tagging import tag
from bot.core.taxonomy import Taxonomy
from tests.core.test_tagging import CLOSES, item


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return Taxonomy.load()


# ---------------------------------------------------------------------- roles and flags
ROLE_FLAG_TABLE = [
    # (field, sentence, roles, flags)
    ("eligibility", "Registered charities and community groups can apply.", ["vcse"], []),
    ("eligibility", "Charities are eligible.", ["vcse"], []),
    ("eligibility", "Charities, CICs and social enterprises.", ["vcse"], []),
    ("summary", "Small grants for community groups in Leeds.", ["vcse"], []),
    ("summary", "We fund not-for-profit organisations working in mental health.", ["vcse"], []),
    (
        "summary",
        "Funding ring-fenced for groups led by and for Black communities.",
        ["vcse"],
        ["lived_experience"],
    ),
    ("summary", "Organisations including but not limited to charities can apply.", ["vcse"], []),
    ("summary", "Universities are not eligible but charities can apply.", ["vcse"], []),
    ("summary", "Charities can apply in partnership with a university.", ["vcse"], []),
    # negations: no role
    ("eligibility", "This call is not open to charities.", [], []),
    ("eligibility", "Charities are not eligible to apply.", [], []),
    ("eligibility", "Charities cannot apply.", [], []),
    ("eligibility", "Charities can't apply.", [], []),
    ("eligibility", "All organisations except charities are eligible.", [], []),
    ("summary", "This is not a studentship.", [], []),
    ("summary", "You do not need lived experience to apply.", [], []),
    # partners, not applicants
    (
        "eligibility",
        "Charities are not eligible to lead, but can be project partners.",
        [],
        ["vcse_partner"],
    ),
    (
        "summary",
        "Project partners can include charities, businesses and local authorities.",
        [],
        ["vcse_partner"],
    ),
    ("summary", "Applications must include a charity partner.", [], ["vcse_partner"]),
    (
        "summary",
        "Proposals should involve voluntary sector organisations as co-applicants.",
        [],
        ["vcse_partner"],
    ),
    (
        "summary",
        "Research organisations must work with at least one VCSE organisation.",
        ["established_researcher"],
        ["vcse_partner"],
    ),
    (
        "summary",
        "Co-production with voluntary organisations is expected.",
        [],
        ["lived_experience", "vcse_partner"],
    ),
    ("summary", "Charities cannot be partners.", [], []),
    # mentions that are neither
    ("summary", "This research will study the voluntary sector workforce.", [], []),
    ("summary", "MQ is a registered charity (charity number 1139916).", [], []),
    ("summary", "Research on intimate partner violence charities' services.", [], []),
    ("summary", "Knowledge Transfer Partnerships with businesses.", [], []),
    # researchers and students
    ("summary", "You must be within 5 years of your PhD.", ["early_career"], []),
    ("summary", "No more than four years of postdoctoral experience.", ["early_career"], []),
    ("summary", "Applicants must be no more than 6 years since PhD award.", ["early_career"], []),
    ("summary", "Funding covers 3 years of PhD fees.", [], []),
    (
        "summary",
        "Open to senior lecturers and principal investigators.",
        ["established_researcher"],
        [],
    ),
    (
        "summary",
        "You must be based at a UK research organisation eligible for UKRI funding.",
        ["established_researcher"],
        [],
    ),
    (
        "summary",
        "Fellowships hosted by a UK research organisation for early career researchers.",
        ["early_career"],
        [],
    ),
    ("summary", "PhD studentships in mental health.", ["student"], []),
    ("summary", "Summer internships for undergraduates.", ["student"], []),
    ("summary", "Research on student mental health.", [], []),
    ("summary", "Professor Frank Kee wrote a blog post.", [], []),
    # other flags
    (
        "summary",
        "People with lived experience of mental illness are encouraged to apply.",
        [],
        ["lived_experience"],
    ),
    ("summary", "Applications must describe patient and public involvement.", [], []),
    ("summary", "This opportunity is by invitation only.", [], ["invite_only"]),
    ("summary", "Only invited applicants may submit.", [], ["invite_only"]),
    ("summary", "You must be invited to apply for this funding opportunity.", [], ["invite_only"]),
    ("summary", "Full proposals will be invited based on an outline application.", [], []),
    ("summary", "This is not an invite-only call.", [], []),
    ("title", "Pre-announcement: new mental health networks", [], ["pre_announcement"]),
    (
        "summary",
        "This is a pre-announcement; the opportunity opens in May.",
        [],
        ["pre_announcement"],
    ),
]


@pytest.mark.parametrize(("where", "text", "roles", "flags"), ROLE_FLAG_TABLE)
def test_roles_and_flags_truth_table(taxonomy, where, text, roles, flags):
    tags = tag(item(**{where: text}), taxonomy)
    assert (tags.roles, tags.flags) == (roles, flags), tags.evidence


def test_a_bare_charity_mention_needs_eligibility_context(taxonomy):
    """In the eligibility text a list of organisation types is enough; in a summary the same
    words might be the subject of the research, so they need "can apply", "grants for"..."""
    assert tag(item(eligibility="UK registered charities."), taxonomy).roles == ["vcse"]
    assert tag(item(summary="UK registered charities."), taxonomy).roles == []


def test_institutions_count_as_established_only_without_career_stage(taxonomy):
    text = "Hosted by a UK university. For PhD students."
    assert tag(item(summary=text), taxonomy).roles == ["student"]
    assert tag(item(summary="Hosted by a UK university."), taxonomy).roles == [
        "established_researcher"
    ]


def test_internships_suit_students(taxonomy):
    assert tag(item("Summer opportunity", kind="internship"), taxonomy).roles == ["student"]


def test_known_limitation_negation_covers_the_whole_clause(taxonomy):
    """Documented in tagging_roles' docstring: without "but", one negation silences the clause."""
    text = "Universities are not eligible and charities can apply."
    assert tag(item(summary=text), taxonomy).roles == []


# ---------------------------------------------------------------------- closing dates
@pytest.mark.parametrize(
    ("kind", "closes_at", "flags_before", "flags_after"),
    [
        # A missing date is not the funder saying there is none (issue 14, point 5).
        ("call", None, [], []),
        ("call", None, ["invite_only"], ["invite_only"]),
        # The source read "Open - no closing date" from the funder's own field.
        ("call", None, ["no_closing_date"], ["no_closing_date"]),
        ("call", CLOSES, [], []),
        ("call", CLOSES, ["no_closing_date"], []),
        ("call", None, ["closing_date_tbc"], ["closing_date_tbc"]),
        ("call", None, ["closing_date_tbc", "no_closing_date"], ["closing_date_tbc"]),
        ("event", None, [], []),
        ("internship", None, [], []),
    ],
)
def test_no_closing_date_flag_follows_the_source(
    taxonomy, kind, closes_at, flags_before, flags_after
):
    tags = tag(item("A call", kind=kind, closes_at=closes_at, flags=flags_before), taxonomy)
    assert tags.flags == flags_after


@pytest.mark.parametrize(
    ("text", "flagged"),
    [
        ("There is no closing date for this programme.", True),
        ("Rolling – no closing date", True),
        ("The fund is open all year round.", True),
        ("Applications are assessed on a rolling basis.", True),
        ("Deadline: Rolling application cycle", True),
        ("You can apply at any time.", True),
        ("Applications are accepted on an ongoing basis until the funding pot is allocated.", True),
        ("This is not a rolling programme.", False),
        ("The closing date will be announced soon.", False),
        ("Apply for funding to support new partnerships.", False),
    ],
)
def test_no_closing_date_needs_the_funders_words(taxonomy, text, flagged):
    tags = tag(item("A call", text, closes_at=None), taxonomy)
    assert ("no_closing_date" in tags.flags) is flagged, tags.evidence
    dated = tag(item("A call", text, closes_at=CLOSES), taxonomy)
    assert "no_closing_date" not in dated.flags


def test_real_pages_without_a_parsed_date_are_not_flagged(taxonomy):
    """The MRF Launchpad page says "Closing Wednesday 8 May 2024"; had a feed lost the date,
    the item must still not claim that the funder set none."""
    from tests.core.test_tagging import _entries

    for entry in _entries():
        tags = tag(item("A call", entry["text_excerpt"], closes_at=None), taxonomy)
        assert "no_closing_date" not in tags.flags, entry["url"]
