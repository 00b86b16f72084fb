"""Glossary detection in text: real page text, the case and word-boundary rules, order and
limits, groups, speed, and robustness on arbitrary text (``bot/core/glossary_detect.py``)."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.glossary import Glossary
from tests.core.test_glossary import SHIPPED, slugs

TEXT = Path(__file__).parent.parent / "fixtures" / "text"
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
    assert isinstance(glossary._pattern, type(re.compile("")))
    long_page = page_texts()["nihr-detail-phr-commissioned-nice-rolling"]
    assert len(long_page) > 15_000
    glossary.find_in_text(long_page, limit=None)
    started = time.perf_counter()
    for _ in range(10):
        glossary.find_in_text(long_page, limit=None)
    per_page = (time.perf_counter() - started) / 10
    # about 10 ms on the CI machine; a loop of one regex per entry takes over half a second
    assert per_page < 0.15


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.one_of(st.text(max_size=40), st.sampled_from(NAMES)), max_size=12),
    st.one_of(st.none(), st.integers(min_value=0, max_value=5)),
)
def test_find_in_text_never_raises(pieces, limit):
    found = SHIPPED.find_in_text(" ".join(pieces), limit=limit)
    assert len(found) == len({e.slug for e in found})
    assert limit is None or len(found) <= limit
