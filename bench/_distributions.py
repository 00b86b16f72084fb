"""The distributions the synthetic benchmark data is drawn from (see ``bench/_data.py``).

Weights, word lists and the real seeds (UKRI titles and funders of the reconstructed March
2025 listing, the taxonomy's phrases) live here so the generator reads as a procedure.
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from bot.core.pipeline import Vocabulary
from bot.core.taxonomy import Taxonomy
from sources.base import SourceConfig
from sources.ukri import UkriSource

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOT = ROOT / "sources/data/snapshots/ukri-listing-reconstructed-2025-03.html"
SNAPSHOT_URL = "https://www.ukri.org/opportunity/"
NOW = datetime(2025, 3, 28, 12, 0, tzinfo=UTC)  # the capture date of the UKRI snapshot
SEED = 20250328


class Weighted:
    """Values drawn with fixed weights: cumulative weights computed once, one draw is a
    bisection (tables here are drawn from hundreds of thousands of times)."""

    __slots__ = ("cumulative", "values")

    def __init__(self, pairs: Sequence[tuple[Any, int]]) -> None:
        self.values = [value for value, _ in pairs]
        self.cumulative = list(itertools.accumulate(weight for _, weight in pairs))

    def draw(self, rng: random.Random) -> Any:
        return self.values[bisect.bisect(self.cumulative, rng.random() * self.cumulative[-1])]


# Words that occur in a few dozen of 100,000 summaries, for searches that find little.
RARE_WORDS = ("trichotillomania", "misophonia", "alexithymia", "hikikomori", "scrupulosity")
RARE_RATE = 0.0015

SCHEMES = (
    "Research grants",
    "Programme grants",
    "Fellowships",
    "Doctoral studentships",
    "Development awards",
    "Partnership awards",
    "Small grants",
    "Community fund",
    "Innovation awards",
    "Pilot funding",
    "Summer internships",
    "Networking events",
)
SETTINGS = (
    "primary care",
    "schools",
    "the NHS",
    "local communities",
    "rural areas",
    "universities",
    "workplaces",
    "prisons",
    "care homes",
    "Wales",
    "Scotland",
    "Northern Ireland",
    "London",
    "coastal towns",
)
AUDIENCES = (
    "young people",
    "older people",
    "carers",
    "veterans",
    "refugees",
    "families",
    "students",
    "new parents",
    "people on low incomes",
    "ethnic minority communities",
    "men",
    "women",
    "LGBTQ+ people",
    "autistic adults",
)
OUTCOMES = (
    "outcomes",
    "access to services",
    "quality of life",
    "recovery",
    "early intervention",
    "the evidence base",
    "service design",
    "long-term support",
)
ON_TOPIC_FUNDERS = Weighted(
    (
        ("NIHR", 6),
        ("MRC", 4),
        ("ESRC", 3),
        ("Wellcome", 3),
        ("The National Lottery Community Fund", 4),
        ("MQ Mental Health Research", 2),
        ("AHRC", 1),
        ("UKRI", 1),
        ("Department of Health and Social Care", 1),
        ("Mental Health Foundation", 1),
    )
)
KINDS = Weighted((("call", 80), ("event", 8), ("internship", 7), ("news", 5)))
USER_KEYWORDS = (
    "peer support",
    "arts",
    "music therapy",
    "ADHD",
    "co-production",
    "loneliness",
    "social prescribing",
    "PhD",
    "fellowship",
    "digital",
    "app",
    "schools",
    "university students",
    "Wales",
    "Scotland",
    "Northern Ireland",
    "rural",
    "farmers",
    "football",
    "sport",
    "gardening",
    "nature",
    "bereavement",
    "grief",
    "stigma",
    "sleep",
    "perinatal",
    "fathers",
    "LGBT",
    "trans",
    "racism",
    "gambling",
    "self-harm",
    "psychosis",
    "OCD",
    "hoarding",
    "eating disorders",
    "dementia carers",
    "young carers",
    "care leavers",
    "homeless",
    "prison",
    "veterans",
    "refugees",
    "asylum",
    "domestic abuse",
    "debt",
    "cost of living",
    "employment support",
    "volunteering",
    "workforce wellbeing",
    "burnout",
    "suicide prevention",
    "crisis cafe",
    "helpline",
    "online counselling",
    "AI",
    "machine learning",
    "data linkage",
    "clinical trial",
    "qualitative",
    "evaluation",
    "knowledge exchange",
    "public engagement",
    "community research",
)
EXCLUDES = (
    "Scotland",
    "Wales",
    "PhD",
    "studentship",
    "clinical trial",
    "conference",
    "animal",
    "laboratory",
    "invite only",
    "pre-announcement",
)
SUB_FUNDERS = Weighted(
    (
        ("NIHR", 5),
        ("MRC", 3),
        ("ESRC", 3),
        ("The National Lottery Community Fund", 4),
        ("Wellcome", 2),
        ("UKRI", 2),
        ("AHRC", 1),
        ("MQ Mental Health Research", 1),
    )
)
ROLES = Weighted(
    (("", 45), ("vcse", 25), ("early_career", 15), ("established_researcher", 10), ("student", 5))
)
MODES = Weighted((("instant", 55), ("daily", 30), ("weekly", 15)))
TOPIC_COUNTS = Weighted(((1, 55), (2, 30), (3, 15)))
STATUSES = Weighted((("closed", 35), ("open", 50), ("upcoming", 15)))
NEW_STATUSES = Weighted((("open", 85), ("upcoming", 15)))  # what a poll finds as new
KEYWORD_COUNTS = Weighted(((1, 60), (2, 30), (3, 10)))
SUB_KINDS = Weighted(((("call",), 60), (("internship",), 20), (("event",), 15)))
SHAPES = Weighted(
    (
        ("guided", 60),
        ("topics+words", 12),
        ("words", 15),
        ("funders", 6),
        ("topics+funders", 4),
        ("everything", 3),
    )
)
PLATFORMS = Weighted((("telegram", 70), ("slack", 28), ("console", 2)))
CHAT_KINDS = Weighted((("private", 70), ("group", 15), ("supergroup", 10)))
SUBS_PER_CHAT = Weighted(((1, 60), (2, 25), (3, 10), (4, 3), (5, 2)))
_STOPWORDS = """a an and the of for to in on with by from at or as into its their your our is are
be call round stage phase one two new opportunity funding award awards grant grants 2025 2026
scheme programme"""
STOPWORDS = frozenset(_STOPWORDS.split())


@cache
def vocabulary() -> Vocabulary:
    return Vocabulary.load()


@cache
def ukri_seeds() -> tuple[tuple[str, tuple[str, ...], int | None], ...]:
    """(title, funders, total fund in pence) of every card of the real UKRI listing."""
    source = UkriSource(SourceConfig(name="ukri", type="ukri", url=SNAPSHOT_URL))
    items = source.parse(SNAPSHOT.read_bytes(), SNAPSHOT_URL).items
    return tuple((i.title, tuple(i.funders) or ("UKRI",), i.total_fund_pence) for i in items)


@cache
def seed_words() -> tuple[str, ...]:
    """The content words of the real titles: filler for summaries and user keywords."""
    words: dict[str, None] = {}
    for title, _, _ in ukri_seeds():
        for word in title.replace(":", " ").replace(",", " ").split():
            if len(word) > 3 and word.casefold() not in STOPWORDS and word.isalpha():
                words.setdefault(word.casefold() if not word.isupper() else word, None)
    return tuple(words)


def topic_weights(taxonomy: Taxonomy) -> Weighted:
    """Popularity by taxonomy order (mental health first), Zipf-like with exponent 0.8."""
    return Weighted(
        [(t.slug, round(1000 / (rank + 1) ** 0.8)) for rank, t in enumerate(taxonomy.topics)]
    )
