"""The edge's parsers: numbers people and buttons send, and text cleaned before use."""

from __future__ import annotations

import pytest

from bot.core.arguments import (
    DB_INT_MAX,
    clean_text,
    not_a_number,
    parse_id,
    parse_int,
    quote_phrases,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7", 7),
        (" 12 ", 12),
        ("0", None),  # ids start at 1
        ("²", None),  # isdigit() says yes, int() says no
        ("٣", None),  # int() would read it; a button never carries it
        ("１２", None),
        ("-3", None),
        ("+3", None),
        ("1e3", None),
        ("1 2", None),
        ("", None),
        (str(DB_INT_MAX), DB_INT_MAX),
        (str(DB_INT_MAX + 1), None),  # past PostgreSQL's integer
        ("99999999999999999999999", None),
    ],
)
def test_parse_id_reads_only_ascii_digits_within_the_database_range(text, expected):
    assert parse_id(text) == expected


def test_parse_int_keeps_to_its_bounds():
    assert parse_int("0", 0, 23) == 0
    assert parse_int("23", 0, 23) == 23
    assert parse_int("24", 0, 23) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mental health", "mental health"),
        ("a\x00b", "ab"),
        ("caf\udce9", "caf"),
        ("x\u0007y\u001bz", "xyz"),
        ("line one\nline two\tend", "line one\nline two\tend"),
        ("emoji 🧠 and 日本語 stay", "emoji 🧠 and 日本語 stay"),
        ("no\u00a0break", "no\u00a0break"),
        (None, ""),
    ],
)
def test_clean_text_drops_what_no_store_or_platform_can_take(text, expected):
    assert clean_text(text) == expected


def test_clean_text_bounds_the_length():
    assert len(clean_text("x" * 10_000, limit=300)) == 300


def test_not_a_number_names_the_input_shortly_and_says_how():
    said = not_a_number("²" * 50, "Use 0 to 23.")
    assert said.startswith("That is not a number I can use: “²²")
    assert said.endswith("…”. Use 0 to 23.")


@pytest.mark.parametrize(
    ("text", "phrases", "rest"),
    [
        ('"peer support"', ["peer support"], ""),
        ("“peer   support” london", ["peer support"], "london"),
        ('a "b c" d "e"', ["b c", "e"], "a d"),
        ('unpaired " quote', [], "unpaired quote"),
        ("no quotes", [], "no quotes"),
    ],
)
def test_quote_phrases_finds_straight_and_curly_quotes(text, phrases, rest):
    assert quote_phrases(text) == (phrases, rest)
