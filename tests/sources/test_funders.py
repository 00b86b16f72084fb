"""Funder names: every way a page or a user writes a funder comes to one display name."""

from __future__ import annotations

import pytest

from sources.funders import (
    UKRI_FAMILY,
    canonical_funder,
    canonical_funders,
    funder_matches,
    is_ukri_family,
)


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("Medical Research Council", "MRC"),
        ("Medical Research Council (MRC)", "MRC"),
        ("MRC", "MRC"),
        ("medical research council", "MRC"),
        ("category-mrc", "MRC"),
        ("mrc", "MRC"),
        ("Economic and Social Research Council", "ESRC"),
        ("Economic and Social Research Council (ESRC)", "ESRC"),
        ("category-esrc", "ESRC"),
        ("Arts and Humanities Research Council (AHRC)", "AHRC"),
        ("Biotechnology and Biological Sciences Research Council (BBSRC)", "BBSRC"),
        ("Engineering and Physical Sciences Research Council (EPSRC)", "EPSRC"),
        ("Natural Environment Research Council (NERC)", "NERC"),
        ("Science and Technology Facilities Council (STFC)", "STFC"),
        ("Innovate UK", "Innovate UK"),
        ("category-innovate-uk", "Innovate UK"),
        ("innovate-uk", "Innovate UK"),
        ("Research England", "Research England"),
        ("category-research-england", "Research England"),
        ("UK Research and Innovation", "UKRI"),
        ("UK Research &amp; Innovation", "UKRI"),
        ("UKRI", "UKRI"),
        ("category-ukri", "UKRI"),
        ("NIHR", "NIHR"),
        ("National Institute for Health and Care Research", "NIHR"),
        ("National Institute for Health and Care Research (NIHR)", "NIHR"),
        ("The National Lottery Community Fund", "The National Lottery Community Fund"),
        ("National Lottery Community Fund", "The National Lottery Community Fund"),
        ("TNLCF", "The National Lottery Community Fund"),
        ("Wellcome", "Wellcome"),
        ("Wellcome Trust", "Wellcome"),
        ("  the  Wellcome\u00a0Trust ", "Wellcome"),
        ("  The Department for Environment, Food and Rural Affairs (Defra) ", "Defra"),
    ],
)
def test_known_names_become_one_display_name(written: str, canonical: str) -> None:
    assert canonical_funder(written) == canonical


@pytest.mark.parametrize(
    ("written", "kept"),
    [
        ("Mental Health\n  Research UK,", "Mental Health Research UK"),
        ("Medical Research Foundation", "Medical Research Foundation"),
    ],
)
def test_unknown_names_are_kept_cleaned(written: str, kept: str) -> None:
    assert canonical_funder(written) == kept


@pytest.mark.parametrize("blank", ["", "   ", None, " , "])
def test_blank_names_give_nothing(blank: str | None) -> None:
    assert canonical_funder(blank) == ""


def test_canonical_funders_keeps_first_order_and_drops_duplicates_and_blanks() -> None:
    names = ["Medical Research Council (MRC)", " ", "Innovate UK", "MRC", "category-mrc", "Defra"]
    assert canonical_funders(names) == ["MRC", "Innovate UK", "Defra"]


def test_the_ukri_family_is_ukri_and_its_nine_councils() -> None:
    assert len(UKRI_FAMILY) == 10
    assert is_ukri_family("category-nerc")
    assert is_ukri_family("UK Research and Innovation")
    assert not is_ukri_family("NIHR")
    assert not is_ukri_family("Medical Research Foundation")


@pytest.mark.parametrize(
    ("following", "funders", "expected"),
    [
        ("MRC", ["MRC", "Innovate UK"], True),
        ("medical research council", ["MRC"], True),
        ("Medical Research Council (MRC)", ["MRC"], True),
        ("mrc", ["Medical Research Council (MRC)"], True),
        ("MRC", ["ESRC"], False),
        ("MRC", ["Medical Research Foundation"], False),
        ("ESRC", ["Economic and Social Research Council"], True),
        ("NIHR", ["National Institute for Health and Care Research"], True),
        ("wellcome trust", ["Wellcome"], True),
        ("Wellcome", ["Wellcome Leap"], False),
        ("the national lottery community fund", ["The National Lottery Community Fund"], True),
        # following UKRI follows its councils; following a council does not follow UKRI-wide
        ("UKRI", ["MRC"], True),
        ("UK Research and Innovation", ["Research England"], True),
        ("MRC", ["UKRI"], False),
        ("UKRI", ["NIHR"], False),
        # unknown funders: by full name or by the abbreviation in brackets
        ("Defra", ["The Department for Environment, Food and Rural Affairs (Defra)"], True),
        ("Mental Health Research UK", ["mental health research uk"], True),
        ("Mental Health Research UK", ["Mental Health UK"], False),
        ("", ["MRC"], False),
        ("MRC", [], False),
    ],
)
def test_funder_matches(following: str, funders: list[str], expected: bool) -> None:
    assert funder_matches(following, funders) is expected
