"""The shared phrase matcher: folding, word boundaries, plurals, and the one-pass trie."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.textmatch import (
    PhraseMatcher,
    fold_token,
    normalise_words,
    phrase_in,
    phrase_variants,
    sentence_tokens,
    token_spans,
    tokens,
)


@pytest.mark.parametrize(
    ("plural", "singular"),
    [
        ("charities", "charity"),
        ("studies", "study"),
        ("services", "service"),
        ("young people", "young person"),
        ("children's services", "child service"),
        ("women's health", "woman health"),
        ("organisations", "organisation"),
        ("organizations", "organisation"),
        ("marginalized", "marginalised"),
        ("disorders", "disorder"),
        ("approaches", "approach"),
        ("headaches", "headache"),
        ("boxes", "box"),
        ("classes", "class"),
        ("crises", "crisis"),
        ("psychoses", "psychosis"),
        ("analyses", "analysis"),
        ("movies", "movie"),
        ("ECRs", "ECR"),
    ],
)
def test_plurals_and_spellings_fold_together(plural, singular):
    assert normalise_words(plural) == normalise_words(singular)


@pytest.mark.parametrize(
    "word", ["stress", "status", "analysis", "crisis", "psychosis", "homelessness", "focus", "NHS"]
)
def test_words_ending_in_s_that_are_not_plurals_are_left_alone(word):
    assert fold_token(word) == word.lower()


def test_case_accents_apostrophes_and_punctuation_fold():
    assert normalise_words("Café  CRÈCHE") == normalise_words("cafe creche")
    assert normalise_words("people’s") == normalise_words("people's") == "person"
    assert normalise_words("Self-harm / ME/CFS") == "self harm me cfs"
    assert normalise_words("Black & minority ethnic") == "black and minority ethnic"
    assert normalise_words("ﬁnance") == "finance"


@pytest.mark.parametrize(
    ("phrase", "text", "expected"),
    [
        ("ward", "an award for researchers", False),
        ("ward", "staff on the ward", True),
        ("art", "a partner organisation", False),
        ("art", "art therapy groups", True),
        ("men", "mental health", False),
        ("mental health", "Mental-Health platform hubs", True),
        ("mental health", "mental healthcare", False),
        ("young people", "support for a young person", True),
        ("charity", "Charities can apply", True),
        ("co-production", "coproduction with service users", True),
        ("co-production", "co production", True),
        ("well-being", "staff wellbeing", True),
        ("well-being", "well being", True),
        ("LGBTQ+", "LGBTQ people", True),
        ("a.*b", "aXXb", False),
        ("(", "anything (at all)", False),
        ("", "anything", False),
        ("!!!", "!!!", False),
    ],
)
def test_phrase_in_respects_word_boundaries(phrase, text, expected):
    assert phrase_in(phrase, text) is expected


def test_hyphenated_phrases_also_match_closed_up():
    assert phrase_variants("co-production") == [("co", "production"), ("coproduction",)]
    assert phrase_variants("mental health") == [("mental", "health")]
    assert phrase_variants("--") == []


def test_matcher_maps_phrases_to_keys_with_one_entry_per_hit():
    matcher = PhraseMatcher(
        {
            "cyp": ["children and young people", "young people", "children"],
            "mh": ["mental health"],
            "pmh": ["perinatal mental health"],
            "vcse": ["charity", "community group"],
        }
    )
    found = matcher.find(
        "Children and young people's perinatal mental health: charities and community groups. "
        "Young people, again."
    )
    assert found == {
        "cyp": ["children and young people", "young people"],
        "pmh": ["perinatal mental health"],
        "mh": ["mental health"],
        "vcse": ["charity", "community group"],
    }
    assert matcher.find("nothing relevant") == {}
    assert len(matcher) == 4
    assert matcher.keys == ["cyp", "mh", "pmh", "vcse"]


def test_matcher_prefers_the_longest_phrase_of_a_key_at_one_place():
    matcher = PhraseMatcher({"a": ["suicide", "suicide prevention"], "b": ["prevention"]})
    spans = [(m.key, m.phrase, m.start, m.end) for m in matcher.scan(tokens("suicide prevention"))]
    assert spans == [("a", "suicide prevention", 0, 2), ("b", "prevention", 1, 2)]


def test_matcher_gives_a_phrase_to_every_key_that_lists_it():
    matcher = PhraseMatcher({"carers": ["young carer"], "cyp": ["young carers", "youth"]})
    assert matcher.find("Young carers' project") == {
        "carers": ["young carer"],
        "cyp": ["young carers"],
    }


def test_matcher_accepts_already_folded_keywords():
    """Subscriptions store folded keywords and build a matcher from them."""
    keyword = normalise_words("Peer-Support Workers")
    matcher = PhraseMatcher({keyword: [keyword]})
    assert matcher.find("We fund peer support worker posts") == {keyword: [keyword]}


def test_sentences_split_at_full_stops_before_capitals_lines_and_bullets():
    text = "Charities can apply, e.g. small ones. Universities cannot.\n• CICs; CIOs — and groups"
    assert sentence_tokens(text) == [
        ["charity", "can", "apply", "e", "g", "small", "one"],
        ["university", "cannot"],
        ["cic"],
        ["cio"],
        ["and", "group"],
    ]


def test_token_spans_point_back_at_the_words_written():
    text = "Young people's mental-health"
    spans = token_spans(text)
    assert [t for t, _, _ in spans] == ["young", "person", "mental", "health"]
    assert [text[a:b] for _, a, b in spans] == ["Young", "people's", "mental", "health"]


@settings(max_examples=300)
@given(st.text())
def test_nothing_raises_on_any_text(text):
    matcher = PhraseMatcher({"k": [text, "mental health"]})
    matcher.find(text)
    phrase_in(text, text)
    sentence_tokens(text)
    token_spans(text)


@settings(max_examples=500)
@given(st.text())
def test_folding_is_idempotent(text):
    once = normalise_words(text)
    assert normalise_words(once) == once
    assert all(fold_token(word) == word for word in once.split())


@settings(max_examples=300)
@given(st.text())
def test_every_tokeniser_agrees(text):
    flat = [word for sentence in sentence_tokens(text) for word in sentence]
    assert flat == tokens(text) == [word for word, _, _ in token_spans(text)]


@settings(max_examples=300)
@given(st.text(max_size=40))
def test_a_phrase_is_found_in_any_text_that_contains_it(phrase):
    if normalise_words(phrase):
        assert phrase_in(phrase, f"before {phrase} after")
        assert PhraseMatcher({"k": [phrase]}).find(f"Before. {phrase} after")
