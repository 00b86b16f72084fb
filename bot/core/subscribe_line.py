"""Reading ``/subscribe mental health, for charity staff, funder:MRC, daily`` into a
subscription — and saying plainly what could not be read, instead of guessing in silence.

Each comma-separated phrase is, in order of precedence: a digest mode; ``funder:``,
``role:`` or ``kind:`` with a value; a role said in words ("for charity staff"); ``-word``
to exclude; a phrase in quotes, kept as words to look for exactly; a topic the taxonomy
names; otherwise words to look for. A phrase that is not a topic but is a near miss of one
("mentl helth") is not saved as words: the person most likely meant the topic, and an alert
for the misspelling would never come. rapidfuzz's ``ratio`` over every topic name (label,
phrases, synonyms) finds the near miss.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from rapidfuzz import fuzz, process

from bot.core.arguments import quote_phrases
from bot.core.context import MAX_INPUT
from bot.core.model import MODES, Subscription
from bot.core.taxonomy import Taxonomy
from sources.funders import canonical_funder

KIND_NAMES = {"call": "calls", "internship": "internships", "event": "events", "news": "news"}
# What people write after "for" (or after "role:") for each role.
ROLE_PHRASES = {
    "vcse": (
        "vcse",
        "vcse staff",
        "charity",
        "charities",
        "charity staff",
        "charity workers",
        "voluntary sector",
        "the voluntary sector",
        "community organisations",
    ),
    "early_career": (
        "early_career",
        "early career",
        "early career researcher",
        "early career researchers",
        "ecr",
        "ecrs",
        "postdocs",
    ),
    "established_researcher": (
        "established_researcher",
        "established researcher",
        "established researchers",
        "senior researchers",
    ),
    "student": ("student", "students", "phd students", "young professionals"),
}
_ROLE_BY_PHRASE = {
    " ".join(phrase.replace("-", " ").split()): role
    for role, phrases in ROLE_PHRASES.items()
    for phrase in phrases
}
DIGEST_WORDS = {mode: mode for mode in MODES} | {
    "digest": "daily",
    "daily digest": "daily",
    "weekly digest": "weekly",
}
FUZZY_CUTOFF = 85  # rapidfuzz ratio: "mentl helth" scores 92 against "mental health"
FUZZY_MIN_CHARS = 5  # shorter words are too often another real word

ONE_LINE_FORMS = (
    "/subscribe mental health, peer support — topics (or any words to look for)",
    "/subscribe dementia, for charity staff — who it should suit: charity staff, "
    "early-career researchers, established researchers, students",
    "/subscribe anxiety, funder:MRC — from one funder (funder:NIHR, funder:ESRC …)",
    "/subscribe kind:events, crisis support — calls, internships or events only",
    "/subscribe role:vcse, weekly — role: vcse, early_career, established_researcher, student;"
    " daily or weekly for a digest",
    '/subscribe "social prescribing link workers", -genetics — exact words; -word excludes',
)


@dataclass(slots=True)
class ParsedLine:
    """The subscription read from a line, and what could not be read."""

    subscription: Subscription
    unknown: list[str] = field(default_factory=list)  # "role:xyz" and the like
    # phrase -> (the topic name it nearly is, that topic's label)
    near_misses: dict[str, tuple[str, str]] = field(default_factory=dict)


def role_of(words: str) -> str | None:
    """The role that ``charity staff`` / ``early-career researchers`` names, or None."""
    key = " ".join(words.casefold().replace("-", " ").split())
    return _ROLE_BY_PHRASE.get(key)


@lru_cache(maxsize=4)
def _topic_names(taxonomy: Taxonomy) -> dict[str, str]:
    """Every folded topic name -> that topic's label."""
    names: dict[str, str] = {}
    for topic in taxonomy.topics:
        for name in topic.names():
            names.setdefault(" ".join(name.casefold().split()), topic.label)
    return names


def near_topic(phrase: str, taxonomy: Taxonomy) -> tuple[str, str] | None:
    """The topic name ``phrase`` is probably a misspelling of, and that topic's label."""
    folded = " ".join(phrase.casefold().split())
    if len(folded) < FUZZY_MIN_CHARS:
        return None
    names = _topic_names(taxonomy)
    best = process.extractOne(folded, list(names), scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF)
    return (best[0], names[best[0]]) if best else None


def _option(sub: Subscription, key: str, value: str, unknown: list[str]) -> None:
    if key == "funder":
        sub.funders.append(canonical_funder(value))
    elif key == "role":
        role = role_of(value)
        if role is None:
            unknown.append(f"role:{value}")
        elif role not in sub.roles:
            sub.roles.append(role)
    elif value.lower().rstrip("s") in KIND_NAMES:
        sub.kinds.append(value.lower().rstrip("s"))
    else:
        unknown.append(f"kind:{value}")


def parse_line(args: str, taxonomy: Taxonomy, chat_id: int) -> ParsedLine:
    """Read one line; see the module docstring for the forms."""
    sub = Subscription(chat_id=chat_id)
    parsed = ParsedLine(sub)
    for raw in filter(None, (p.strip() for p in args[:MAX_INPUT].replace(";", ",").split(","))):
        exact, phrase = quote_phrases(raw)
        lowered = phrase.lower()
        if not exact and lowered in DIGEST_WORDS:
            sub.mode = DIGEST_WORDS[lowered]
            continue
        key, sep, value = phrase.partition(":")
        key = key.strip().lower()
        if not exact and sep and key in ("funder", "role", "kind") and value.strip():
            _option(sub, key, value.strip(), parsed.unknown)
            continue
        if not exact and lowered.startswith("for ") and role_of(phrase[4:]):
            role = role_of(phrase[4:])
            if role not in sub.roles:
                sub.roles.append(role)
            continue
        if phrase.startswith("-") and phrase[1:].strip() and not exact:
            sub.exclude_keywords.append(phrase[1:].strip())
            continue
        sub.keywords.extend(p for p in exact if p not in sub.keywords)
        if not phrase:
            continue
        topics = taxonomy.resolve(phrase)
        if topics:
            sub.topics.extend(t for t in topics if t not in sub.topics)
            continue
        guess = None if exact else near_topic(phrase, taxonomy)
        if guess:
            parsed.near_misses[phrase] = guess
        else:
            sub.keywords.append(phrase)
    return parsed
