"""The shipped taxonomy: loading, content rules, resolving what users type, search expansion."""

from __future__ import annotations

import pytest

from bot.core.taxonomy import DEFAULT_PATH, Taxonomy, TaxonomyError
from bot.core.textmatch import normalise_words

# The topics the people we serve asked for; each must exist under a stable slug.
REQUIRED = [
    "mental-health",
    "crisis-support",
    "suicide-self-harm",
    "children-young-people",
    "perinatal-mental-health",
    "severe-mental-illness",
    "eating-disorders",
    "dementia",
    "substance-use",
    "loneliness-isolation",
    "lived-experience",
    "peer-support",
    "public-health",
    "health-inequalities",
    "digital-mental-health",
    "workforce",
    "housing-homelessness",
    "criminal-justice",
    "veterans-armed-forces",
    "social-prescribing",
    "evaluation-methods",
    "trauma-ptsd",
    "anxiety-depression",
    "neurodiversity",
    "older-people",
    "racial-equity",
    "lgbtq",
    "physical-mental-health",
    "poverty-debt",
    "employment-welfare",
    "domestic-abuse",
]


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return Taxonomy.load()


def test_the_shipped_taxonomy_loads_from_package_data_and_is_sound(taxonomy):
    assert DEFAULT_PATH.name == "taxonomy.toml"
    assert DEFAULT_PATH.parent.name == "data"
    assert len(taxonomy) >= 28
    assert taxonomy.validate() == []


def test_every_requested_topic_exists(taxonomy):
    assert [slug for slug in REQUIRED if slug not in taxonomy] == []


def test_order_is_stable_for_subscription_masks(taxonomy):
    """/subscribe stores ticked topics as a bit mask over this order: append, never reorder."""
    assert taxonomy.slugs[:4] == [
        "mental-health",
        "crisis-support",
        "suicide-self-harm",
        "children-young-people",
    ]
    assert len(set(taxonomy.slugs)) == len(taxonomy)


def test_every_topic_is_complete(taxonomy):
    for topic in taxonomy:
        assert topic.label and len(topic.label) <= 40, topic.slug
        assert topic.description and "\n" not in topic.description, topic.slug
        assert 8 <= len(topic.phrases) <= 30, topic.slug
        assert set(topic.strong) <= set(topic.phrases), topic.slug
        assert topic.synonyms, topic.slug


def test_no_phrase_is_in_two_topics_unless_declared(taxonomy):
    owners: dict[str, set[str]] = {}
    for topic in taxonomy:
        for phrase in topic.phrases:
            owners.setdefault(normalise_words(phrase), set()).add(topic.slug)
    shared = {phrase: slugs for phrase, slugs in owners.items() if len(slugs) > 1}
    assert shared == {
        "young carer": {"children-young-people", "carers"},
        "dual diagnosis": {"severe-mental-illness", "substance-use"},
    }


def test_every_phrase_tags_its_own_topic(taxonomy):
    """Each phrase, written as the taxonomy writes it, is found by the compiled matcher."""
    for topic in taxonomy:
        for phrase in topic.phrases:
            assert topic.slug in taxonomy.matcher.find(phrase), (topic.slug, phrase)


def test_every_topic_resolves_from_its_slug_and_label(taxonomy):
    for topic in taxonomy:
        assert topic.slug in taxonomy.resolve(topic.slug)
        assert topic.slug in taxonomy.resolve(topic.label)
        assert taxonomy.get(topic.slug) is topic
    assert taxonomy.get("no-such-topic") is None


@pytest.mark.parametrize(
    ("typed", "slugs"),
    [
        ("mental health", ["mental-health"]),
        ("  Mental   HEALTH ", ["mental-health"]),
        ("psychiatric", ["mental-health"]),
        ("wellbeing", ["mental-health"]),
        ("crisis", ["crisis-support"]),
        ("young people", ["children-young-people"]),
        ("CYP", ["children-young-people"]),
        ("children-young-people", ["children-young-people"]),
        ("suicide", ["suicide-self-harm"]),
        ("self harm", ["suicide-self-harm"]),
        ("co-production", ["lived-experience"]),
        ("coproduction", ["lived-experience"]),
        ("lived experience", ["lived-experience"]),
        ("peer support", ["peer-support"]),
        ("social prescribing", ["social-prescribing"]),
        ("LGBTQ+", ["lgbtq"]),
        ("veterans", ["veterans-armed-forces"]),
        ("autism", ["neurodiversity"]),
        ("ADHD", ["neurodiversity"]),
        ("homelessness", ["housing-homelessness"]),
        ("young carers", ["children-young-people", "carers"]),
        ("astrophysics", []),
        ("mental health statistics", []),
        ("", []),
        ("!!!", []),
    ],
)
def test_resolve_maps_what_users_type_to_topics(taxonomy, typed, slugs):
    assert taxonomy.resolve(typed) == slugs


def test_search_terms_expand_a_named_topic_with_its_synonyms(taxonomy):
    terms = taxonomy.search_terms("mental health")
    assert terms[0] == "mental health"
    assert {"psychiatric", "psychiatry", "psychological", "wellbeing", "mental illness"} <= set(
        terms
    )
    folded = [normalise_words(t) for t in terms]
    assert len(folded) == len(set(folded))


def test_search_terms_swap_a_topic_inside_a_longer_query(taxonomy):
    terms = taxonomy.search_terms("mental health statistics")
    assert terms[0] == "mental health statistics"
    assert {"psychiatric statistics", "wellbeing statistics"} <= set(terms)
    assert len(terms) <= 16


@pytest.mark.parametrize("query", ["quantum computing", "", "   "])
def test_search_terms_leave_other_queries_alone(taxonomy, query):
    assert taxonomy.search_terms(query) == ([query.strip()] if query.strip() else [])


def _topic(slug: str, phrases: list[str], **extra) -> dict:
    return {
        "slug": slug,
        "label": extra.pop("label", slug.title()),
        "description": "One line.",
        "phrases": phrases,
        "synonyms": ["something"],
        **extra,
    }


EIGHT = [
    f"signal {word}" for word in ("one", "two", "three", "four", "five", "six", "seven", "eight")
]


@pytest.mark.parametrize(
    ("topics", "problem"),
    [
        ([_topic("a", EIGHT[:3])], "a: 3 phrases, want 8-30"),
        ([_topic("a", [*EIGHT, "arts"])], "a: phrase 'arts' is too generic to tag with"),
        ([_topic("a", [*EIGHT, "me"])], "a: phrase 'me' is too short to tag with"),
        ([_topic("Bad_Slug", EIGHT)], "Bad_Slug: slug must be lower-case words joined by hyphens"),
        (
            [_topic("a", EIGHT), _topic("b", ["signal one", *EIGHT[1:]])],
            "phrase 'signal one' is in a, b (not in [[shared]])",
        ),
        (
            [_topic("a", [*EIGHT, "suicide risk"], strong=["suicide"])],
            "a: ordinary 'suicide risk' hides strong 'suicide'",
        ),
        (
            [_topic("a", EIGHT, aliases=["b"]), _topic("b", [f"x {p}" for p in EIGHT])],
            "a: alias 'b' also names ['b']",
        ),
        ([_topic("a", EIGHT, label="x" * 41)], "a: label longer than 40 characters"),
        (
            [_topic("a", [*EIGHT, "Signal-One"])],
            "a: phrase 'Signal-One' repeats another once folded",
        ),
    ],
)
def test_validate_reports_broken_content_rules(topics, problem):
    assert problem in Taxonomy.from_dict({"topic": topics}).validate()


def test_declared_shared_phrases_pass_validation():
    data = {
        "shared": [{"phrase": "signal one", "topics": ["a", "b"], "why": "both"}],
        "topic": [_topic("a", EIGHT), _topic("b", ["signal one", *[f"x {p}" for p in EIGHT]])],
    }
    assert Taxonomy.from_dict(data).validate() == []


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"topic": []},
        {"topic": [{"slug": "a", "label": "A", "description": "d"}]},
        {"topic": [{"slug": "a", "label": "", "description": "d", "phrases": []}]},
        {"topic": [{"slug": "a", "label": "A", "description": "d", "phrases": "mental"}]},
        {"topic": [_topic("a", EIGHT), _topic("a", EIGHT)]},
        {"topic": ["mental health"]},
        {"topic": [_topic("a", EIGHT)], "shared": ["young carer"]},
    ],
)
def test_unusable_files_are_refused_when_loaded(data):
    with pytest.raises(TaxonomyError):
        Taxonomy.from_dict(data)


def test_unreadable_files_are_refused(tmp_path):
    with pytest.raises(TaxonomyError):
        Taxonomy.load(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[[topic]\nslug = ", encoding="utf-8")
    with pytest.raises(TaxonomyError):
        Taxonomy.load(broken)


def test_needs_context_must_name_one_of_the_topics_phrases():
    topics = [_topic("a", EIGHT, needs_context=["signal one", "elsewhere"])]
    assert Taxonomy.from_dict({"topic": topics}).validate() == [
        "a: needs_context 'elsewhere' is not one of its phrases"
    ]


def test_guards_groups_and_context_words_load(taxonomy):
    housing = taxonomy.get("housing-homelessness")
    assert "housing" in housing.needs_context and "gearbox housing" in housing.guards
    assert taxonomy.get("carers").group and not taxonomy.get("mental-health").group
    assert "charity" in taxonomy.context
