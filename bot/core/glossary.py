"""The glossary: plain-English meanings of the words charities and researchers trip over.

Charity staff meet "co-PI", "FEC" and "responsive mode"; researchers meet "commissioning",
"statutory services" and "social prescribing". This module answers ``/glossary TERM``, picks
the terms worth explaining under an alert, and chooses the term of the week.

It is pure: no network, no database. It reads the packaged ``bot/data/glossary.toml`` and, if
given, an override file in the same format; admin terms kept in the database arrive as
``extra`` entries built with :meth:`GlossaryEntry.from_mapping`. Later sources replace earlier
ones by slug, so an admin can correct a packaged definition without a release.

Matching rules, decided once here so every platform behaves the same:

- look-ups fold case, accents and punctuation ("co-PI" == "co pi" == "CoPI"), then try terms,
  then aliases, then a fuzzy match (rapidfuzz) that also yields "did you mean" suggestions;
- text detection uses one precompiled regular expression over every detectable name, because
  it runs on every alert. Names are whole words only; all-capital acronyms ("PI", "REF",
  "ICB") match only in capitals, so "PI" is found neither in "PIPELINE" nor in "pi"; other
  names match in any case, with spaces and hyphens interchangeable and a plural "s" allowed.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, fields
from datetime import date
from math import gcd
from pathlib import Path
from typing import Any, Literal

from rapidfuzz import fuzz, process

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

DATA_FILE = Path(__file__).parent.parent / "data" / "glossary.toml"
GROUPS = ("research", "vcse", "funders")
GROUP_LABELS = {
    "research": "Research funding",
    "vcse": "Voluntary sector and health services",
    "funders": "Funders and programmes",
}
AUDIENCES = ("charity staff", "researchers", "everyone")
MAX_DEFINITION_WORDS = 60
MAX_QUERY = 200  # a look-up longer than this is cut: fuzzy work per message stays bounded
MATCH_SCORE = 88  # a fuzzy score at or above this is an answer ("social perscribing")
SUGGEST_SCORE = 75  # below this a name is not offered as "did you mean"
MAX_SUGGESTIONS = 3

_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_LEADING_THE = re.compile(r"^the\s+")
_SEP = r"[\s\-\u2010\u2011\u2012\u2013]"  # spaces and hyphens are interchangeable in text
_HYPHENS = "-\u2010\u2011"
_LIST_FIELDS = ("aliases", "related", "skip_in_text")
_TEXT_FIELDS = ("slug", "term", "group", "definition", "audience", "example", "url")

Match = Literal["exact", "alias", "fuzzy", "none"]


class GlossaryError(ValueError):
    """Glossary data that cannot be used at all (bad TOML, wrong types, unknown fields).

    Content problems that still leave a usable glossary (a long definition, a missing link)
    are not errors: :meth:`Glossary.validate` lists them.
    """


def fold(text: str) -> str:
    """The comparison key of a name: no case, accents, punctuation, spaces or leading "the"."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold().strip()
    text = _LEADING_THE.sub("", text)
    return "".join(c for c in text if c.isalnum())


def _spaced(text: str) -> str:
    """Lower-case words separated by single spaces, for word-order-blind fuzzy scoring."""
    return " ".join(re.sub(r"[\W_]+", " ", text.casefold()).split())


@dataclass(frozen=True, slots=True)
class GlossaryEntry:
    """One term. Tuples, not lists, so an entry can be shared between threads and cached."""

    slug: str
    term: str
    group: str
    definition: str
    aliases: tuple[str, ...] = ()
    audience: str = "everyone"
    example: str = ""
    related: tuple[str, ...] = ()
    url: str = ""
    skip_in_text: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """The term followed by its aliases."""
        return (self.term, *self.aliases)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON; :meth:`from_mapping` reads it back unchanged."""
        return {
            "slug": self.slug,
            "term": self.term,
            "group": self.group,
            "aliases": list(self.aliases),
            "audience": self.audience,
            "definition": self.definition,
            "example": self.example,
            "related": list(self.related),
            "url": self.url,
            "skip_in_text": list(self.skip_in_text),
        }

    @classmethod
    def from_mapping(
        cls, data: Mapping[str, Any], *, base: GlossaryEntry | None = None
    ) -> GlossaryEntry:
        """An entry from a TOML table or a database row; with ``base``, only the fields given
        replace it, so an override can change one definition without repeating the rest."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        slug = data.get("slug", base.slug if base else None)
        if unknown:
            raise GlossaryError(f"term {slug!r}: unknown fields {', '.join(unknown)}")
        values: dict[str, Any] = base.to_json() if base else {}
        for name in _TEXT_FIELDS:
            if name in data:
                text = "" if data[name] is None else data[name]
                if not isinstance(text, str):
                    raise GlossaryError(f"term {slug!r}: {name} must be text")
                values[name] = text.strip()
        for name in _LIST_FIELDS:
            if name in data:
                items = [] if data[name] is None else data[name]
                if not isinstance(items, list | tuple) or not all(
                    isinstance(i, str) for i in items
                ):
                    raise GlossaryError(f"term {slug!r}: {name} must be a list of text")
                values[name] = [i.strip() for i in items if i.strip()]
        missing = [n for n in ("slug", "term", "group", "definition") if not values.get(n)]
        if missing:
            raise GlossaryError(f"term {slug!r}: missing {', '.join(missing)}")
        return cls(
            slug=values["slug"],
            term=values["term"],
            group=values["group"],
            definition=values["definition"],
            audience=values.get("audience") or "everyone",
            example=values.get("example", ""),
            url=values.get("url", ""),
            **{name: tuple(values.get(name, ())) for name in _LIST_FIELDS},
        )


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

    def __init__(self, entries: Iterable[GlossaryEntry], *, problems: Iterable[str] = ()) -> None:
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
        self._pattern, self._detectable = _detector(self._entries.values())
        self._rotation = tuple(self._entries)
        self._step = _coprime_step(len(self._rotation))

    # -- loading -----------------------------------------------------------------------------

    @classmethod
    def load(cls, override: Path | None = None, extra: Iterable[GlossaryEntry] = ()) -> Glossary:
        """The packaged glossary, then an override file, then ``extra`` entries (admin terms
        from the database); each replaces earlier entries with the same slug or adds new ones."""
        entries, problems = _read_file(DATA_FILE)
        merged = {e.slug: e for e in entries}
        if override is not None:
            for table in _read_tables(override):
                slug = table.get("slug")
                merged[slug] = GlossaryEntry.from_mapping(table, base=merged.get(slug))
        for entry in extra:
            merged[entry.slug] = entry
        return cls(merged.values(), problems=problems)

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
        for match in self._pattern.finditer(text):
            slug = self._slug_of(match.group())
            if slug is None or slug in found:
                continue
            if wanted is None or self._entries[slug].group in wanted:
                found[slug] = self._entries[slug]
                if limit is not None and len(found) >= limit:
                    break
        return list(found.values())

    def _slug_of(self, matched: str) -> str | None:
        """The entry a matched stretch of text names, allowing for the plural ending."""
        key = fold(matched)
        for candidate in (key, key[:-1], key[:-2]):
            if candidate in self._detectable:
                return self._detectable[candidate]
        return None

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
        problems = list(self._problems)
        owners: dict[str, str] = {}
        for entry in self._entries.values():
            problems.extend(_entry_problems(entry, self._entries))
            for name in entry.names:
                key = fold(name)
                if not key:
                    problems.append(f"{entry.slug}: name {name!r} has no letters or digits")
                    continue
                owner = owners.setdefault(key, entry.slug)
                if owner != entry.slug:
                    problems.append(
                        f"duplicate alias {name!r}: it belongs to {owner} and {entry.slug}"
                    )
        for entry in self._entries.values():
            owner = owners.get(fold(entry.slug), entry.slug)
            if owner != entry.slug:
                problems.append(f"{entry.slug}: slug reads the same as a name of {owner}")
        return problems


def _entry_problems(entry: GlossaryEntry, entries: Mapping[str, GlossaryEntry]) -> list[str]:
    """The rules one entry must meet on its own, plus its links to the others."""
    slug, problems = entry.slug, []
    if not _SLUG.fullmatch(slug):
        problems.append(f"{slug}: slug must be lower-case letters, digits and single hyphens")
    if entry.group not in GROUPS:
        problems.append(f"{slug}: group {entry.group!r} is not one of {', '.join(GROUPS)}")
    if entry.audience not in AUDIENCES:
        problems.append(f"{slug}: audience {entry.audience!r} is not one of {AUDIENCES}")
    words = len(entry.definition.split())
    if words > MAX_DEFINITION_WORDS:
        problems.append(f"{slug}: definition has {words} words (at most {MAX_DEFINITION_WORDS})")
    if not entry.example.strip():
        problems.append(f"{slug}: example missing")
    if not entry.url:
        problems.append(f"{slug}: link missing")
    elif not entry.url.startswith("https://"):
        problems.append(f"{slug}: link {entry.url!r} is not https")
    for other in entry.related:
        if other == slug:
            problems.append(f"{slug}: related to itself")
        elif other not in entries:
            problems.append(f"{slug}: related slug {other!r} is unknown")
    names = {fold(n) for n in entry.names}
    for quiet in entry.skip_in_text:
        if fold(quiet) not in names:
            problems.append(f"{slug}: skip_in_text {quiet!r} is not one of its names")
    return problems


def _sort_key(entry: GlossaryEntry) -> str:
    return fold(entry.term)


def _coprime_step(count: int) -> int:
    """A stride near count/phi sharing no factor with count, so the rotation visits all."""
    step = max(1, round(count * 0.618))
    while count > 1 and gcd(step, count) != 1:
        step += 1
    return step


# -- text detection ------------------------------------------------------------------------


def _case_rule(name: str) -> str:
    """How a name's case must match in text: "exact" for acronyms in capitals (PI, REF,
    HS&DR), "first" for one mixed-case word (co-PI, RfPB: only its first letter may change),
    "any" for everything else ("social prescribing", "Wellcome")."""
    letters = [c for c in name if c.isalpha()]
    if letters and not any(c.islower() for c in letters):
        return "exact"
    if letters and " " not in name and any(c.isupper() for c in letters[1:]):
        return "first"
    return "any"


def _either_case(char: str) -> str:
    lower, upper = char.lower(), char.upper()
    if lower == upper or len(lower) != 1 or len(upper) != 1:
        return re.escape(char)
    return f"[{re.escape(lower)}{re.escape(upper)}]"


def _name_pattern(name: str) -> str:
    """A name as a regex: separators flexible, case as :func:`_case_rule` says, plural ok.

    Case-insensitive letters become character classes rather than ``(?i:...)`` groups, so
    every branch starts with a literal or a class the regex engine can reject in one step.
    """
    rule, parts, last_space = _case_rule(name), [], False
    for i, char in enumerate(name):
        if char.isspace():
            if not last_space:
                parts.append(_SEP + "+")
            last_space = True
            continue
        last_space = False
        if char in _HYPHENS:
            parts.append(_SEP + "?")
        elif char in "'\u2019":
            parts.append("['\u2019]")
        elif char.isalpha() and (rule == "any" or (rule == "first" and i == 0)):
            parts.append(_either_case(char))
        else:
            parts.append(re.escape(char))
    if name[-1:].isalpha():
        parts.append("(?:[eE]?[sS])?" if rule == "any" else "(?:e?s)?")
    return "".join(parts)


def _detector(entries: Iterable[GlossaryEntry]) -> tuple[re.Pattern[str] | None, dict[str, str]]:
    """One compiled pattern for every detectable name, and folded name -> slug.

    Branches are bucketed by first character behind a one-character lookahead, so at each
    word start the engine tries only names that can begin there; within a bucket the longest
    names come first, so "NIHR RfPB" wins over "NIHR" where both start. There are no capture
    groups (they would stop the engine skipping branches cheaply); the matched text is folded
    and looked up instead.
    """
    buckets: dict[str, dict[str, str]] = {}
    owners: dict[str, str] = {}
    for entry in entries:
        quiet = {fold(q) for q in entry.skip_in_text}
        for name in entry.names:
            name, key = " ".join(name.split()), fold(name)
            if key and key not in quiet and owners.setdefault(key, entry.slug) == entry.slug:
                buckets.setdefault(name[0].casefold(), {})[name] = _name_pattern(name)
    if not buckets:
        return None, owners
    branches = []
    for first in sorted(buckets):
        names = sorted(buckets[first], key=lambda n: (-len(n), n))
        alternatives = "|".join(dict.fromkeys(buckets[first][n] for n in names))
        branches.append(f"(?={_either_case(first)})(?:{alternatives})")
    return re.compile(rf"(?<!\w)(?:{'|'.join(branches)})(?!\w)"), owners


# -- files ---------------------------------------------------------------------------------


def _read_tables(path: Path) -> list[dict[str, Any]]:
    """The ``[[terms]]`` tables of a glossary file, or a GlossaryError naming the file."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise GlossaryError(f"cannot read glossary file {path}: {exc}") from exc
    tables = data.get("terms", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise GlossaryError(f"{path}: expected [[terms]] tables")
    for table in tables:
        if not isinstance(table.get("slug"), str) or not table["slug"].strip():
            raise GlossaryError(f"{path}: every [[terms]] table needs a slug")
        table["slug"] = table["slug"].strip()
    return tables


def _read_file(path: Path) -> tuple[list[GlossaryEntry], list[str]]:
    """Complete entries from one file; a slug repeated within it is reported, last one kept."""
    entries, problems, seen = [], [], set()
    for table in _read_tables(path):
        if table["slug"] in seen:
            problems.append(f"{table['slug']}: defined twice in {Path(path).name}")
        seen.add(table["slug"])
        entries.append(GlossaryEntry.from_mapping(table))
    return entries, problems
