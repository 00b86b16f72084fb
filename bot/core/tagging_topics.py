"""Tagging topics: which taxonomy topics an item is about, read with the words around them.

A phrase hit is only a candidate. Issue 18 showed how a single word goes wrong ("The Great
Depression", a gearbox "housing", "This call is not for mental health research", a fund that
lists every group it serves), so each hit passes four checks before it counts:

* **Guards**: a hit inside one of its topic's ``guards`` ("tropical depression", "veteran
  tree", "cost of living crisis") is another sense of the word and is dropped.
* **Context**: a ``needs_context`` phrase ("housing", "bipolar", "ageing") counts only when
  the item also holds one of the taxonomy's ``context`` words (health, care, charity...).
* **Negation** at topic level: "not for X", "we do not fund X", "but not X", "excluding X",
  "X is not eligible", "X will not be considered", and every item of a list introduced by "The
  following are not eligible:" or "We do not fund:".
* **Lists of groups**: a *group* topic (older people, carers, LGBTQ+...) that the body
  names only in lists of short items counts only if it is named in two places; one list,
  however many of its words it holds, is one place. A fund that lists "Young people from
  racialised communities; Young people living in poverty; ..." is about young people, not
  about each group it names.

Then the rule of :mod:`bot.core.tagging` applies: any surviving hit in the title, a strong
hit in the body, or two ordinary hits in the body. Age bands ("aged 11-25", "people
over 65", "Young Adults (18-25 years)") count as strong hits for children and young people
or for older people.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from bot.core.taxonomy import Taxonomy
from bot.core.textmatch import Match, PhraseMatcher, normalise_words, sentence_tokens

__all__ = ["BODY_HITS", "Hit", "topics_of"]

BODY_HITS = 2
LIST_ITEMS = 4
LIST_ITEM_WORDS = 12
NEGATION_BEFORE = 8
NEGATION_AFTER = 4
CHILD_AGE = 25
OLDER_AGE = 50

_BULLET = re.compile(r"^\s*(?:[•▪◦·*‣●○■□➢►-]|–|\d{1,2}[.)])\s*")
# A line that says what follows is excluded: "The following are not eligible for funding:".
_EXCLUDES = re.compile(
    r"\b(?:not\s+(?:be\s+)?eligible|ineligible|(?:do|does|will|can|we)\s*(?:not|n[o']t)\s+"
    r"(?:fund|support|accept|consider|cover)|won[’']?t\s+(?:fund|support)|cannot\s+(?:fund|"
    r"support|accept)|unable\s+to\s+(?:fund|support)|not\s+funded|exclusions?|excluded)\b",
    re.IGNORECASE,
)
_NEGATORS = frozenset({"not", "cannot", "cant", "dont", "doesnt", "wont", "never", "unable"})
_SCOPE_VERBS = frozenset(
    {"for", "fund", "funded", "funding", "support", "supported", "cover", "covered", "accept"}
    | {"accepted", "consider", "considered", "about", "focus", "focused", "include", "eligible"}
    | {"open", "prioritise", "target", "aimed"}
)
_EXCLUDING = frozenset({"excluding", "except", "exclude", "excludes", "ineligible", "nor"})
_AFTER_VERBS = frozenset({"eligible", "funded", "considered", "supported", "accepted", "covered"})
_BE = (["is"], ["are"], ["be"])
_BREAKS = frozenset({"but", "however", "whereas", "although", "though", "while"})
_NEGATION_MASKS = PhraseMatcher(
    {
        "mask": (
            "not only",
            "not just",
            "not limited to",
            "not necessarily",
            "not exclusively",
            "whether or not",
            "if not",
            "not-for-profit",
            "not for profit",
        )
    }
)
_AGE_WORDS = frozenset({"aged", "age", "ages", "between"})
_PERSON_WORDS = frozenset(
    {"person", "adult", "child", "man", "woman", "youth", "resident", "those", "anyone"}
    | {"everyone", "individual", "girl", "boy", "pupil", "learner", "participant", "member"}
)
_NUMBER = re.compile(r"^(\d{1,3})s?$")
_BOUNDS = frozenset({"over", "above", "under", "below"})
_AND_OVER = (["and", "over"], ["and", "above"], ["and", "older"])


@dataclass(frozen=True, slots=True)
class Hit:
    """One phrase hit that survived the checks: where it was and how much it weighs."""

    slug: str
    phrase: str
    unit: int
    strong: bool
    listed: bool = False


@dataclass(slots=True)
class _Unit:
    """A place in the text: one sentence, or one whole bulleted list."""

    sentences: list[list[str]]
    excluded: bool = False
    is_list: bool = False

    @property
    def listing(self) -> bool:
        """A list of short items ("Young people living in poverty"), the shape in which
        funds name the groups they serve."""
        return (
            self.is_list
            and len(self.sentences) >= LIST_ITEMS
            and all(len(s) <= LIST_ITEM_WORDS for s in self.sentences)
        )


@dataclass(slots=True)
class _Read:
    title: list[Hit] = field(default_factory=list)
    body: list[Hit] = field(default_factory=list)


# ---------------------------------------------------------------------- splitting text
def _units(text: str) -> list[_Unit]:
    """Sentences, with each bulleted list as one unit and lists under an exclusion line
    marked as excluded."""
    units: list[_Unit] = []
    current_list: _Unit | None = None
    excluding = False
    for line in text.splitlines():
        if not line.strip():
            continue
        bullet = _BULLET.match(line)
        if bullet and line[bullet.end() :].strip():
            if current_list is None:
                current_list = _Unit([], excluded=excluding, is_list=True)
                units.append(current_list)
            current_list.sentences.extend(sentence_tokens(line[bullet.end() :]))
            continue
        current_list = None
        # An exclusion heading governs the list that follows it, and only that list.
        excluding = bool(_EXCLUDES.search(line)) and line.rstrip().endswith(":")
        units.extend(_Unit([sentence]) for sentence in sentence_tokens(line))
    return units


# ---------------------------------------------------------------------- the checks
@lru_cache(maxsize=8)
def _compiled(taxonomy: Taxonomy) -> tuple[PhraseMatcher, PhraseMatcher, dict[str, frozenset]]:
    """Guard and context matchers and the folded ambiguous phrases, built once per taxonomy."""
    guards = PhraseMatcher({topic.slug: topic.guards for topic in taxonomy if topic.guards})
    context = PhraseMatcher({"context": taxonomy.context})
    ambiguous = {
        topic.slug: frozenset(normalise_words(p) for p in topic.needs_context) for topic in taxonomy
    }
    return guards, context, ambiguous


def _negated(words: Sequence[str], match: Match, masks: Sequence[Match]) -> bool:
    """Whether a topic-level negation governs ``match`` in its sentence."""

    def masked(i: int) -> bool:
        return any(m.start <= i < m.end for m in masks)

    for i in range(match.start - 1, max(-1, match.start - NEGATION_BEFORE - 1), -1):
        word = words[i]
        if word in _BREAKS:
            break
        if masked(i):
            continue
        if word in _EXCLUDING:
            return True
        if word in _NEGATORS and _SCOPE_VERBS.intersection(words[i + 1 : i + 4]):
            return True
        if word == "not" and match.start - i <= 2 and not masked(i):  # "but not dementia"
            return True
    after = words[match.end : match.end + NEGATION_AFTER + 1]
    for i, word in enumerate(after):
        if word in _BREAKS:
            break
        if word == "not" and _AFTER_VERBS.intersection(after[i + 1 : i + 4]):
            return True
        if word == "ineligible" or (word == "excluded" and after[i - 1 : i] in _BE):
            return True
    return False


def _number(word: str) -> int | None:
    found = _NUMBER.match(word)
    return int(found.group(1)) if found else None


def _age_band(words: Sequence[str]) -> Iterable[tuple[str, str]]:
    """("children-young-people" | "older-people", evidence) for each age band in ``words``.

    A number is an age only beside an age word or a word for people: "aged 11-25",
    "Young Adults (18-25 years)", "18-25 year olds", "people over 65", "over the age of 55",
    "aged 65 and over", "under-18s". "Projects of 1-3 years" and "over 100 years old" (a
    building) are not ages.
    """
    for i, word in enumerate(words):
        value = _number(word)
        if value is None:
            continue
        before = list(words[max(0, i - 4) : i])
        after = list(words[i + 1 : i + 5])
        aged = bool(_AGE_WORDS.intersection(before)) or word.endswith("s")
        person = bool(before) and before[-1] in _PERSON_WORDS
        low = high = None
        if after[:1] == ["to"]:
            after = after[1:]
        upper = _number(after[0]) if after else None
        if upper is not None and upper > value:
            if aged or person or after[1:3] == ["year", "old"]:
                low, high = value, upper
        elif bound := next((w for w in reversed(before) if w in _BOUNDS), None):
            near = before[before.index(bound) - 1] if before.index(bound) > 0 else ""
            if aged or near in _PERSON_WORDS:
                low, high = (value, None) if bound in {"over", "above"} else (None, value)
        elif after[:2] in _AND_OVER and (aged or person):
            low = value
        if high is not None and high <= CHILD_AGE and (low is None or low < high):
            yield "children-young-people", f"aged up to {high}"
        elif low is not None and low >= OLDER_AGE and high is None:
            yield "older-people", f"aged {low} and over"


# ---------------------------------------------------------------------- reading
def _hits(
    units: Sequence[_Unit], taxonomy: Taxonomy, has_context: bool, first_unit: int
) -> list[Hit]:
    guards, _, ambiguous = _compiled(taxonomy)
    hits: list[Hit] = []
    for offset, unit in enumerate(units):
        if unit.excluded:
            continue
        for words in unit.sentences:
            masks = _NEGATION_MASKS.scan(words)
            guarded = guards.scan(words)
            for match in taxonomy.matcher.scan(words):
                if any(
                    g.key == match.key and g.start < match.end and match.start < g.end
                    for g in guarded
                ):
                    continue
                if not has_context and normalise_words(match.phrase) in ambiguous[match.key]:
                    continue
                if _negated(words, match, masks):
                    continue
                strong = taxonomy.is_strong(match.key, match.phrase)
                hits.append(Hit(match.key, match.phrase, first_unit + offset, strong, unit.listing))
            for slug, evidence in _age_band(words):
                hits.append(Hit(slug, evidence, first_unit + offset, True, unit.listing))
    return hits


def _read(title: str, body: Sequence[str], taxonomy: Taxonomy) -> _Read:
    _, context, _ = _compiled(taxonomy)
    title_units = [_Unit([s]) for s in sentence_tokens(title)]
    body_units = [unit for text in body for unit in _units(text)]
    every = [w for unit in (*title_units, *body_units) for s in unit.sentences for w in s]
    has_context = bool(context.scan(every))
    read = _Read()
    read.title = _hits(title_units, taxonomy, has_context, 0)
    read.body = _hits(body_units, taxonomy, has_context, len(title_units))
    return read


def topics_of(
    title: str, body: Sequence[str], taxonomy: Taxonomy
) -> tuple[set[str], dict[str, list[str]]]:
    """The topics ``title`` and the ``body`` texts are about, and the phrases behind each."""
    read = _read(title, body, taxonomy)
    found: set[str] = set()
    evidence: dict[str, list[str]] = {}
    for hit in read.title:
        found.add(hit.slug)
        evidence.setdefault(f"topic:{hit.slug}", []).append(f"{hit.phrase} (title)")
    by_topic: dict[str, list[Hit]] = defaultdict(list)
    for hit in read.body:
        by_topic[hit.slug].append(hit)
    for slug, hits in by_topic.items():
        if slug in found:
            continue
        if _is_group(taxonomy, slug) and all(hit.listed for hit in hits):
            # Named only in lists of groups: the focus only if named in two places.
            counts = len({hit.unit for hit in hits}) >= BODY_HITS
        else:
            counts = any(hit.strong for hit in hits) or len(hits) >= BODY_HITS
        if counts:
            found.add(slug)
            evidence[f"topic:{slug}"] = [hit.phrase for hit in hits]
    return found, evidence


def _is_group(taxonomy: Taxonomy, slug: str) -> bool:
    topic = taxonomy.get(slug)
    return topic is not None and topic.group
