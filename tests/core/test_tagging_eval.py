"""The tagging evaluation of issue 18: a labelled set of real texts and a table of
adversarial phrasings, both in ``tests/fixtures/tagging`` (its README says how they were
built and labelled).

The real set fails the build when topic precision or recall drops below ``FLOOR``; the
adversarial table fails it when any phrasing gets a topic it must not, or misses one it must.
Roles are scored on the items whose labels give them.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.core.model import Opportunity
from bot.core.tagging import tag
from bot.core.taxonomy import Taxonomy

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "tagging"
FLOOR = 0.95
MIN_ITEMS = 100
MIN_ROWS = 60


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return Taxonomy.load()


def _labelled() -> list[dict]:
    return json.loads((FIXTURES / "labelled.json").read_text(encoding="utf-8"))["items"]


def _rows() -> list[dict]:
    return tomllib.loads((FIXTURES / "adversarial.toml").read_text(encoding="utf-8"))["row"]


@dataclass
class Score:
    """Counts of (item, tag) pairs: true positives, false positives, false negatives."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, got: set[str], want: set[str]) -> None:
        self.tp += len(got & want)
        self.fp += len(got - want)
        self.fn += len(want - got)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def _opportunity(entry: dict) -> Opportunity:
    return Opportunity(
        source="labelled",
        external_id=entry["id"],
        url=entry["url"],
        title=entry["title"],
        summary=entry["text"],
    )


def score(items: list[dict], taxonomy: Taxonomy) -> tuple[Score, Score, list[str]]:
    """Topic and role scores over ``items``, and one line per item tagged differently from
    its labels. Topics a label marks ``either`` (a reader could go either way) are not
    scored."""
    topics, roles, misses = Score(), Score(), []
    for entry in items:
        tags = tag(_opportunity(entry), taxonomy)
        either = set(entry.get("either", []))
        got, want = set(tags.topics) - either, set(entry["topics"]) - either
        topics.add(got, want)
        if got != want:
            misses.append(f"{entry['id']}: extra {sorted(got - want)}, missed {sorted(want - got)}")
        if "roles" in entry:
            roles.add(set(tags.roles), set(entry["roles"]))
    return topics, roles, misses


def test_the_labelled_set_is_real_large_and_well_formed(taxonomy):
    items = _labelled()
    assert len(items) >= MIN_ITEMS
    assert len({entry["id"] for entry in items}) == len(items)
    for entry in items:
        assert entry["source"] and entry["url"] and entry["title"], entry["id"]
        assert set(entry["topics"]) <= set(taxonomy.slugs), entry["id"]
        assert set(entry.get("either", [])) <= set(taxonomy.slugs), entry["id"]
        assert not set(entry.get("either", [])) & set(entry["topics"]), entry["id"]
    assert sum(bool(entry["topics"]) for entry in items) >= 50  # enough positives to score


def test_precision_and_recall_on_the_labelled_real_set(taxonomy):
    topics, roles, misses = score(_labelled(), taxonomy)
    assert topics.precision >= FLOOR, misses
    assert topics.recall >= FLOOR, misses
    assert roles.precision >= FLOOR and roles.recall >= FLOOR, (roles, misses)


def test_score_counts_pairs():
    """The scorer itself: one right, one extra, one missed."""
    s = Score()
    s.add({"a", "b"}, {"a", "c"})
    assert (s.tp, s.fp, s.fn) == (1, 1, 1)
    assert s.precision == s.recall == 0.5
    assert Score().precision == Score().recall == 1.0


def test_the_adversarial_table_is_big_enough_and_holds_the_issue_phrasings():
    rows = _rows()
    assert len(rows) >= MIN_ROWS
    texts = " ".join(row["text"] for row in rows)
    for quoted in (
        "The Great Depression",
        "Tropical depression",
        "Cost of living crisis support",
        "Bipolar plate",
        "Battery ageing",
        "Veteran tree",
        "Gearbox housing",
        "Peer review network",
        "Young adult fiction",
        "Gay-Lussac",
        "This call is not for mental health research",
        "growing youth mental health crisis",
        "service users",
        "people over 65",
        "Young Adults (18-25 years)",
        "health access inequalities",
        "help people connect",
    ):
        assert quoted in texts, quoted


@pytest.mark.parametrize("row", _rows(), ids=lambda row: row["text"][:50])
def test_no_adversarial_phrasing_tags(taxonomy, row):
    field = row.get("field", "title")
    opportunity = Opportunity(
        source="adversarial", external_id="x", url="https://example.org/", title="", kind="news"
    )
    setattr(opportunity, field, row["text"])
    tags = tag(opportunity, taxonomy)
    assert not set(row["not"]) & set(tags.topics), tags.evidence
    assert set(row.get("must", [])) <= set(tags.topics), tags.evidence
