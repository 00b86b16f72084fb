"""The glossary: plain-English meanings of the words charities and researchers trip over.

Charity staff meet "co-PI", "FEC" and "responsive mode"; researchers meet "commissioning",
"statutory services" and "social prescribing". This module answers ``/glossary TERM``, picks
the terms worth explaining under an alert, and chooses the term of the week.

It is pure: no network, no database. It reads the packaged ``bot/data/glossary.toml`` and, if
given, an override file in the same format; admin terms kept in the database arrive as
``extra`` entries built with :meth:`GlossaryEntry.from_mapping`. Later sources replace earlier
ones by slug, so an admin can correct a packaged definition without a release.

The glossary is three sibling modules, split where the work differs: :mod:`.glossary_data`
reads and judges the files, :mod:`.glossary_detect` finds names in alert text, and this one
holds the indexes and look-ups and is the public face: import from here (``__all__``). Two
more sit beside them for the people who keep it right: :mod:`.glossary_admin` (chat commands
for admins) and :mod:`.glossary_check` (fetching every link, the only part that needs a network).
Siblings rather than a package, so ``bot.core.glossary`` stays the module every caller (and
``glossary_admin``) already imports, with nothing moved out from under them.

Look-ups fold case, accents and punctuation ("co-PI" == "co pi" == "CoPI"), then try terms,
then aliases, then a fuzzy match (rapidfuzz) that also yields "did you mean" suggestions.
Detection in text has its own rules, in :mod:`.glossary_detect`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from math import gcd
from pathlib import Path
from typing import Any, Literal

from rapidfuzz import fuzz, process

from bot.core.glossary_data import (
    AUDIENCES,
    DATA_FILE,
    GROUP_LABELS,
    GROUPS,
    GlossaryEntry,
    GlossaryError,
    content_problems,
    fold,
    load_entries,
)
from bot.core.glossary_data import (
    MAX_DEFINITION_WORDS as MAX_DEFINITION_WORDS,  # not in __all__, but tests read it here
)
from bot.core.glossary_detect import detector, slugs_in_text

__all__ = [
    "AUDIENCES",
    "DATA_FILE",
    "GROUPS",
    "GROUP_LABELS",
    "Glossary",
    "GlossaryEntry",
    "GlossaryError",
    "LookupResult",
    "fold",
]

MAX_QUERY = 200  # a look-up longer than this is cut: fuzzy work per message stays bounded
MATCH_SCORE = 88  # a fuzzy score at or above this is an answer ("social perscribing")
SUGGEST_SCORE = 75  # below this a name is not offered as "did you mean"
MAX_SUGGESTIONS = 3

Match = Literal["exact", "alias", "fuzzy", "none"]


def _spaced(text: str) -> str:
    """Lower-case words separated by single spaces, for word-order-blind fuzzy scoring."""
    return " ".join(re.sub(r"[\W_]+", " ", text.casefold()).split())


@dataclass(frozen=True, slots=True)
class LookupResult:
    """The answer to a look-up: the entry (or None), how it was found, and near misses."""

    query: str
    entry: GlossaryEntry | None
    match: Match
    score: float = 0.0
    suggestions: tuple[GlossaryEntry, ...] = ()

    @property
    def found(self) -> bool:
        return self.entry is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "match": self.match,
            "score": round(self.score, 1),
            "entry": self.entry.to_json() if self.entry else None,
            "suggestions": [e.slug for e in self.suggestions],
        }


class Glossary:
    """All entries, with the indexes that make look-ups and text detection cheap."""

    def __init__(
        self,
        entries: Iterable[GlossaryEntry],
        *,
        problems: Iterable[str] = (),
        link_owners: dict[str, tuple[str, ...]] | None = None,
    ) -> None:
        self.link_owners = link_owners  # None: built in memory, so no host rule to apply
        merged: dict[str, GlossaryEntry] = {}
        for entry in entries:
            merged[entry.slug] = entry
        self._entries = {slug: merged[slug] for slug in sorted(merged)}
        self._problems = list(problems)
        self._exact: dict[str, str] = {}
        self._alias: dict[str, str] = {}
        for entry in self._entries.values():
            self._exact.setdefault(fold(entry.term), entry.slug)
        for entry in self._entries.values():
            self._exact.setdefault(fold(entry.slug), entry.slug)
            for alias in entry.aliases:
                self._alias.setdefault(fold(alias), entry.slug)
        self._fuzzy_keys: list[str] = []
        self._fuzzy_spaced: list[str] = []
        self._fuzzy_slugs: list[str] = []
        for entry in self._entries.values():
            for name in entry.names:
                if fold(name):
                    self._fuzzy_keys.append(fold(name))
                    self._fuzzy_spaced.append(_spaced(name))
                    self._fuzzy_slugs.append(entry.slug)
        self._pattern, self._detectable = detector(self._entries.values())
        self._rotation = tuple(self._entries)
        self._step = _coprime_step(len(self._rotation))

    # -- loading -----------------------------------------------------------------------------

    @classmethod
    def load(cls, override: Path | None = None, extra: Iterable[GlossaryEntry] = ()) -> Glossary:
        """The packaged glossary, then an override file, then ``extra`` entries (admin terms
        from the database); each replaces earlier entries with the same slug or adds new ones."""
        loaded = load_entries(DATA_FILE, override, extra)
        return cls(loaded.entries, problems=loaded.problems, link_owners=loaded.link_owners)

    # -- access ------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[GlossaryEntry]:
        return iter(self._entries.values())

    def __contains__(self, slug: object) -> bool:
        return slug in self._entries

    def get(self, slug: str) -> GlossaryEntry | None:
        return self._entries.get(slug)

    @property
    def entries(self) -> tuple[GlossaryEntry, ...]:
        return tuple(self._entries.values())

    def groups(self) -> dict[str, list[GlossaryEntry]]:
        """Group name -> its entries in alphabetical order; known groups first, in GROUPS order."""
        found: dict[str, list[GlossaryEntry]] = {}
        for entry in sorted(self._entries.values(), key=_sort_key):
            found.setdefault(entry.group, []).append(entry)
        order = [g for g in GROUPS if g in found] + sorted(set(found) - set(GROUPS))
        return {g: found[g] for g in order}

    def browse(self, group: str | None = None, letter: str | None = None) -> list[GlossaryEntry]:
        """Entries in alphabetical order (ignoring a leading "The"), optionally one group's and
        optionally only those starting with ``letter`` ("#" for digits)."""
        if group is not None and group not in {e.group for e in self._entries.values()}:
            known = ", ".join(self.groups())
            raise ValueError(f"unknown glossary group {group!r}; known groups: {known}")
        if letter is not None and len(letter.strip()) != 1:
            raise ValueError("browse by a single letter, or '#' for terms starting with a digit")
        wanted = None if letter is None else letter.strip()
        chosen = []
        for entry in sorted(self._entries.values(), key=_sort_key):
            if group is not None and entry.group != group:
                continue
            first = _sort_key(entry)[:1]
            if wanted == "#" and not first.isdigit():
                continue
            if wanted not in (None, "#") and first != fold(wanted):
                continue
            chosen.append(entry)
        return chosen

    # -- look-up -----------------------------------------------------------------------------

    def lookup(self, query: str) -> LookupResult:
        """Exact (folded) term or slug, then alias, then fuzzy; near misses as suggestions."""
        query = (query or "")[:MAX_QUERY]
        key = fold(query)
        if not key:
            return LookupResult(query, None, "none")
        for candidate in (key, key[:-1] if key.endswith("s") and len(key) > 2 else None):
            if candidate and candidate in self._exact:
                return LookupResult(query, self._entries[self._exact[candidate]], "exact", 100.0)
            if candidate and candidate in self._alias:
                return LookupResult(query, self._entries[self._alias[candidate]], "alias", 100.0)
        ranked = self._fuzzy(key, _spaced(query))
        by_spelling = sorted(ranked, key=lambda r: (-r[2], r[0]))
        if len(key) >= 4 and by_spelling and by_spelling[0][2] >= MATCH_SCORE:
            slug, _, score = by_spelling[0]
            if len(by_spelling) == 1 or by_spelling[1][2] < score:
                others = [self._entries[s] for s, _, _ in ranked if s != slug]
                return LookupResult(
                    query, self._entries[slug], "fuzzy", score, tuple(others[:MAX_SUGGESTIONS])
                )
        suggestions = tuple(self._entries[s] for s, _, _ in ranked[:MAX_SUGGESTIONS])
        return LookupResult(query, None, "none", ranked[0][1] if ranked else 0.0, suggestions)

    def _fuzzy(self, key: str, spaced: str) -> list[tuple[str, float, float]]:
        """(slug, suggestion score, spelling score) per close entry, best suggestion first.

        The spelling score compares whole folded names, so it catches typos ("perscribing").
        The suggestion score also lets the query's words match part of a name ("prescribing"
        -> "social prescribing"), closer names first, but that alone never counts as an answer.
        """
        best: dict[str, list[float]] = {}
        spelling = process.extract(
            key, self._fuzzy_keys, scorer=fuzz.ratio, limit=None, score_cutoff=SUGGEST_SCORE
        )
        for _, score, index in spelling:
            slot = best.setdefault(self._fuzzy_slugs[index], [0.0, 0.0])
            slot[0], slot[1] = max(slot[0], score), max(slot[1], score)
        words = []
        if len(key) >= 3 and spaced:  # a letter or two says nothing about the name meant
            words = process.extract(
                spaced,
                self._fuzzy_spaced,
                scorer=fuzz.token_set_ratio,
                limit=None,
                score_cutoff=SUGGEST_SCORE,
            )
        for name, score, index in words:
            blended = 0.8 * score + 0.2 * fuzz.ratio(spaced, name)
            if blended >= SUGGEST_SCORE:
                slot = best.setdefault(self._fuzzy_slugs[index], [0.0, 0.0])
                slot[0] = max(slot[0], blended)
        ranked = [(slug, s, e) for slug, (s, e) in best.items()]
        ranked.sort(key=lambda r: (-r[1], -r[2], r[0]))
        return ranked

    # -- detection in text -------------------------------------------------------------------

    def find_in_text(
        self, text: str, limit: int | None = 3, *, groups: Iterable[str] | None = None
    ) -> list[GlossaryEntry]:
        """Entries whose term or alias occurs in ``text``, in order of first appearance, each
        once, at most ``limit`` of them (None for all); ``groups`` keeps only those groups,
        e.g. to leave funder names out of an alert whose funders are already shown."""
        if not text or self._pattern is None or (limit is not None and limit <= 0):
            return []
        wanted = None if groups is None else set(groups)
        found: dict[str, GlossaryEntry] = {}
        for slug in slugs_in_text(self._pattern, self._detectable, text):
            if slug in found:
                continue
            if wanted is None or self._entries[slug].group in wanted:
                found[slug] = self._entries[slug]
                if limit is not None and len(found) >= limit:
                    break
        return list(found.values())

    # -- term of the week --------------------------------------------------------------------

    def term_of_week(self, iso_year: int, iso_week: int) -> GlossaryEntry:
        """The same entry for the same ISO week everywhere; consecutive weeks step through every
        entry once per cycle (a stride coprime with the count), hopping across the alphabet so
        neighbouring weeks rarely bring near-identical terms. Adding terms reshuffles it."""
        if not self._rotation:
            raise LookupError("the glossary is empty")
        monday = date.fromisocalendar(iso_year, iso_week, 1)
        week_number = (monday.toordinal() - 1) // 7
        index = (week_number * self._step) % len(self._rotation)
        return self._entries[self._rotation[index]]

    # -- content rules -----------------------------------------------------------------------

    def validate(self) -> list[str]:
        """Content problems, one sentence each; an empty list means the glossary is sound."""
        owners = self.link_owners
        hosts = None if owners is None else [h for group in owners.values() for h in group]
        return [*self._problems, *content_problems(self._entries, hosts)]


def _sort_key(entry: GlossaryEntry) -> str:
    return fold(entry.term)


def _coprime_step(count: int) -> int:
    """A stride near count/phi sharing no factor with count, so the rotation visits all."""
    step = max(1, round(count * 0.618))
    while count > 1 and gcd(step, count) != 1:
        step += 1
    return step
