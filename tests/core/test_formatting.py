"""Words for numbers and money: plurals, ranges in one unit, echoes kept short."""

from __future__ import annotations

import pytest

from bot.core.formatting import amount_line, money, money_range, plural, shorten
from bot.core.model import Opportunity


@pytest.mark.parametrize(
    ("count", "expected"),
    [(0, "0 subscriptions"), (1, "1 subscription"), (2, "2 subscriptions")],
)
def test_plural(count, expected):
    assert plural(count, "subscription") == expected


def test_plural_with_an_irregular_noun():
    assert plural(1, "person", "people") == "1 person"
    assert plural(3, "person", "people") == "3 people"


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (500_000, 2_000_000, "£5k–£20k"),  # was "£5,000–£20k"
        (150_000, 2_000_000, "£1.5k–£20k"),
        (50_000, 2_000_000, "£500–£20,000"),
        (50_000, 200_000, "£500–£2,000"),
        (1_250_000, 2_500_000, "£12.5k–£25k"),
        (25_000_000, 150_000_000, "£250k–£1.5m"),
    ],
)
def test_money_ranges_read_alike_at_both_ends(low, high, expected):
    assert money_range(low, high) == expected


@pytest.mark.parametrize(
    ("pence", "expected"),
    [
        (150_000, "£1,500"),
        (1_250_000, "£12.5k"),
        (25_000_000, "£250k"),
        (99_950_000, "£1m"),  # was "£1000k"
        (150_000_000, "£1.5m"),
    ],
)
def test_money(pence, expected):
    assert money(pence) == expected


def test_amount_line_uses_the_range():
    item = Opportunity(
        source="t",
        external_id="1",
        url="https://example.org/",
        title="t",
        award_min_pence=500_000,
        award_max_pence=2_000_000,
    )
    assert amount_line(item) == "£5k–£20k per award"


def test_shorten_cuts_at_a_word_with_an_ellipsis():
    assert shorten("short") == "short"
    cut = shorten("word " * 100, 30)
    assert len(cut) <= 30 and cut.endswith("…") and "wor…" not in cut
    assert shorten("x" * 100, 10) == "x" * 9 + "…"
