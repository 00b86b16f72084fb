"""The topic taxonomy: what an opportunity is about, in words both machines and people use.

The topics live in ``bot/data/taxonomy.toml`` so that the people who know the mental-health
and VCSE field can improve them without touching code. Three kinds of words per topic serve
three jobs with different needs:

* ``phrases`` and ``strong`` phrases *tag* opportunities, so they are chosen for precision
  (a false tag sends an alert nobody wanted);
* ``synonyms`` *widen a search* for a topic the user named, so they may be broader;
* ``aliases`` are what people *type* ("CYP", "crisis") and only ever resolve to a topic.

Two more keys guard tagging against a word's other senses (:mod:`bot.core.tagging_topics`):
``needs_context`` names the phrases that count only when the item also speaks of health,
care or the voluntary sector (the file's ``context`` words: "housing" in a gearbox is not a
home), and ``guards`` are longer phrases in which the topic's words mean something else
("Great Depression", "veteran tree"). ``group = true`` marks a topic that names a group of
people, which a fund may list among many without making it its focus.

``resolve`` is exact (after folding): "young people" is a topic, "young people's housing
advice" is a keyword. Guessing a topic from part of what was typed would silently turn a
specific keyword into a broad subscription.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from bot.core.textmatch import PhraseMatcher, normalise_words, phrase_variants, token_spans

__all__ = ["DEFAULT_PATH", "Taxonomy", "TaxonomyError", "Topic"]

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "data" / "taxonomy.toml"

MIN_PHRASES = 8
MAX_PHRASES = 30
MAX_LABEL = 40
MAX_SEARCH_TERMS = 16
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

# Single words far too common in funding text to signal a topic on their own: a phrase
# made of just one of these would tag half of every listing ("arts" would catch the whole
# of AHRC's "arts and humanities").
GENERIC_WORDS = frozenset(
    normalise_words(word)
    for word in (
        "research",
        "health",
        "support",
        "care",
        "community",
        "service",
        "project",
        "funding",
        "fund",
        "grant",
        "award",
        "programme",
        "program",
        "people",
        "person",
        "social",
        "public",
        "mental",
        "young",
        "art",
        "arts",
        "ward",
        "data",
        "network",
        "partner",
        "partnership",
        "innovation",
        "development",
        "training",
        "work",
        "study",
        "evaluation",
        "wellbeing",
        "well-being",
        "disease",
        "medicine",
        "science",
    )
)


class TaxonomyError(ValueError):
    """The taxonomy file cannot be used at all (bad TOML, missing fields, duplicate slugs)."""


@dataclass(frozen=True, slots=True)
class Topic:
    """One topic. ``phrases`` holds every tagging phrase (ordinary then strong); ``strong``
    is the subset that tags on a single hit anywhere."""

    slug: str
    label: str
    description: str
    phrases: tuple[str, ...]
    strong: tuple[str, ...] = ()
    synonyms: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    needs_context: tuple[str, ...] = ()
    guards: tuple[str, ...] = ()
    group: bool = False

    @property
    def ordinary(self) -> tuple[str, ...]:
        strong = set(self.strong)
        return tuple(p for p in self.phrases if p not in strong)

    def names(self, *, aliases: bool = True) -> list[str]:
        """Everything a user might type for this topic."""
        names = [self.slug.replace("-", " "), self.label, *self.phrases, *self.synonyms]
        return names + list(self.aliases) if aliases else names


def _strings(table: Mapping[str, Any], key: str, where: str, *, required: bool) -> tuple[str, ...]:
    value = table.get(key)
    if value is None and not required:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TaxonomyError(f"{where}: {key} must be a list of strings")
    return tuple(v.strip() for v in value)


def _text(table: Mapping[str, Any], key: str, where: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise TaxonomyError(f"{where}: {key} must be a non-empty string")
    return value.strip()


def _topic(table: object, index: int) -> Topic:
    where = f"topic #{index + 1}"
    if not isinstance(table, Mapping):
        raise TaxonomyError(f"{where} must be a table")
    slug = _text(table, "slug", where)
    where = f"topic {slug!r}"
    ordinary = _strings(table, "phrases", where, required=True)
    strong = _strings(table, "strong", where, required=False)
    return Topic(
        slug=slug,
        label=_text(table, "label", where),
        description=_text(table, "description", where),
        phrases=ordinary + strong,
        strong=strong,
        synonyms=_strings(table, "synonyms", where, required=False),
        aliases=_strings(table, "aliases", where, required=False),
        needs_context=_strings(table, "needs_context", where, required=False),
        guards=_strings(table, "guards", where, required=False),
        group=table.get("group") is True,
    )


def _contains_run(outer: Sequence[str], inner: Sequence[str]) -> bool:
    size = len(inner)
    return any(tuple(outer[i : i + size]) == tuple(inner) for i in range(len(outer) - size + 1))


@dataclass(slots=True)
class _Shared:
    phrase: str
    topics: frozenset[str]


@dataclass(eq=False)
class Taxonomy:
    """The ordered topics, with lookups compiled once.

    Order matters: it is the order of the /subscribe buttons, whose bit masks index it.
    """

    topics: tuple[Topic, ...]
    shared: tuple[_Shared, ...] = ()
    context: tuple[str, ...] = ()
    _by_slug: dict[str, Topic] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.topics = tuple(self.topics)
        self._by_slug = {}
        for topic in self.topics:
            if topic.slug in self._by_slug:
                raise TaxonomyError(f"duplicate topic slug {topic.slug!r}")
            self._by_slug[topic.slug] = topic

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, path: Path | str | None = None) -> Taxonomy:
        """The taxonomy shipped with the package, or the one at ``path``."""
        source = Path(path) if path is not None else DEFAULT_PATH
        try:
            data = tomllib.loads(source.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise TaxonomyError(f"cannot read taxonomy {source}: {exc}") from exc
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Taxonomy:
        tables = data.get("topic")
        if not isinstance(tables, list) or not tables:
            raise TaxonomyError("the taxonomy has no [[topic]] tables")
        topics = [_topic(table, i) for i, table in enumerate(tables)]
        shared = []
        for entry in data.get("shared", []):
            if not isinstance(entry, Mapping):
                raise TaxonomyError("each [[shared]] entry must be a table")
            phrase = _text(entry, "phrase", "shared phrase")
            slugs = _strings(entry, "topics", f"shared phrase {phrase!r}", required=True)
            shared.append(_Shared(phrase, frozenset(slugs)))
        context = _strings(data, "context", "the taxonomy", required=False)
        return cls(tuple(topics), tuple(shared), context)

    # ------------------------------------------------------------------ lookups
    def __iter__(self) -> Iterator[Topic]:
        return iter(self.topics)

    def __len__(self) -> int:
        return len(self.topics)

    def __contains__(self, slug: object) -> bool:
        return slug in self._by_slug

    @property
    def slugs(self) -> list[str]:
        return [topic.slug for topic in self.topics]

    def get(self, slug: str) -> Topic | None:
        return self._by_slug.get(slug)

    def is_strong(self, slug: str, phrase: str) -> bool:
        """Whether ``phrase`` (as written in the taxonomy) is one of the topic's strong ones."""
        topic = self._by_slug.get(slug)
        return topic is not None and phrase in topic.strong

    @cached_property
    def matcher(self) -> PhraseMatcher:
        """Every topic's tagging phrases, keyed by slug: one pass tags a text."""
        return PhraseMatcher({topic.slug: topic.phrases for topic in self.topics})

    @cached_property
    def _names(self) -> dict[str, list[str]]:
        index: dict[str, list[str]] = {}
        for topic in self.topics:
            for name in topic.names():
                for variant in phrase_variants(name):
                    slugs = index.setdefault(" ".join(variant), [])
                    if topic.slug not in slugs:
                        slugs.append(topic.slug)
        return index

    @cached_property
    def _expansion_matcher(self) -> PhraseMatcher:
        return PhraseMatcher(
            {topic.slug: (*topic.phrases, *topic.synonyms, topic.label) for topic in self.topics}
        )

    def resolve(self, text: str) -> list[str]:
        """Topic slugs that what a user typed names exactly (slug, label, phrase, synonym or
        alias, after folding), in taxonomy order; [] when it names none."""
        slugs = self._names.get(normalise_words(text), [])
        return [slug for slug in self.slugs if slug in slugs]

    def search_terms(self, query: str) -> list[str]:
        """``query`` first, then the phrases that /calls should also accept for it.

        A query that names a topic ("mental health") adds that topic's synonyms. A longer
        query that contains one ("mental health nurses") adds the query with that part
        swapped for each synonym ("psychiatric nurses"), which keeps the user's other words.
        """
        query = " ".join(query.split())
        terms = [query] if query else []
        seen = {normalise_words(query)}

        def add(term: str) -> None:
            folded = normalise_words(term)
            if folded and folded not in seen and len(terms) < MAX_SEARCH_TERMS:
                seen.add(folded)
                terms.append(term)

        named = self.resolve(query)
        for slug in named:
            for synonym in self._by_slug[slug].synonyms:
                add(synonym)
        if named or not query:
            return terms
        spans = token_spans(query)
        words = [token for token, _, _ in spans]
        for match in self._expansion_matcher.scan(words):
            start = spans[match.start][1]
            end = spans[match.end - 1][2]
            for synonym in self._by_slug[match.key].synonyms:
                add(f"{query[:start]}{synonym}{query[end:]}".strip())
        return terms

    # ------------------------------------------------------------------ content rules
    def validate(self) -> list[str]:
        """Breaches of the content rules, one message each; [] when the taxonomy is sound.

        These keep tagging precise: enough phrases to find a topic, none so generic that it
        tags everything, no phrase silently claimed by two topics, and no ordinary phrase that
        contains a strong one (it would hide the strong hit, since the longer match wins).
        """
        problems: list[str] = []
        owners: dict[str, list[str]] = {}
        allowed = {normalise_words(s.phrase): s.topics for s in self.shared}
        labels: dict[str, str] = {}
        for topic in self.topics:
            problems.extend(self._check_topic(topic))
            label = normalise_words(topic.label)
            if label in labels:
                problems.append(f"{topic.slug}: label also used by {labels[label]}")
            labels[label] = topic.slug
            for phrase in topic.phrases:
                slugs = owners.setdefault(normalise_words(phrase), [])
                if topic.slug not in slugs:
                    slugs.append(topic.slug)
        for phrase, slugs in owners.items():
            if len(slugs) > 1 and frozenset(slugs) != allowed.get(phrase):
                problems.append(f"phrase {phrase!r} is in {', '.join(slugs)} (not in [[shared]])")
        for phrase, slugs in allowed.items():
            unknown = sorted(slugs - set(self._by_slug))
            if unknown:
                problems.append(f"[[shared]] {phrase!r} names unknown topics {unknown}")
        problems.extend(self._check_aliases())
        return problems

    def _check_topic(self, topic: Topic) -> list[str]:
        problems = []
        name = topic.slug
        if not _SLUG.match(topic.slug):
            problems.append(f"{name}: slug must be lower-case words joined by hyphens")
        if len(topic.label) > MAX_LABEL:
            problems.append(f"{name}: label longer than {MAX_LABEL} characters")
        if "\n" in topic.description:
            problems.append(f"{name}: description must be one line")
        if not MIN_PHRASES <= len(topic.phrases) <= MAX_PHRASES:
            problems.append(
                f"{name}: {len(topic.phrases)} phrases, want {MIN_PHRASES}-{MAX_PHRASES}"
            )
        if not topic.synonyms:
            problems.append(f"{name}: no synonyms for search")
        own = {normalise_words(p) for p in topic.phrases}
        for phrase in topic.needs_context:
            if normalise_words(phrase) not in own:
                problems.append(f"{name}: needs_context {phrase!r} is not one of its phrases")
        seen: set[str] = set()
        for phrase in topic.phrases:
            folded = normalise_words(phrase)
            if not folded:
                problems.append(f"{name}: phrase {phrase!r} has no words")
            elif folded in seen:
                problems.append(f"{name}: phrase {phrase!r} repeats another once folded")
            elif folded in GENERIC_WORDS:
                problems.append(f"{name}: phrase {phrase!r} is too generic to tag with")
            elif " " not in folded and len(folded) < 3:
                problems.append(f"{name}: phrase {phrase!r} is too short to tag with")
            seen.add(folded)
        for ordinary in topic.ordinary:
            for strong in topic.strong:
                if any(
                    _contains_run(o, s)
                    for o in phrase_variants(ordinary)
                    for s in phrase_variants(strong)
                ):
                    problems.append(f"{name}: ordinary {ordinary!r} hides strong {strong!r}")
        return problems

    def _check_aliases(self) -> list[str]:
        """An alias must add a new name and must not name another topic."""
        problems = []
        for topic in self.topics:
            own = {normalise_words(n) for n in topic.names(aliases=False)}
            for alias in topic.aliases:
                folded = normalise_words(alias)
                if not folded:
                    problems.append(f"{topic.slug}: alias {alias!r} has no words")
                elif folded in own:
                    problems.append(f"{topic.slug}: alias {alias!r} repeats one of its names")
                others = [s for s in self._names.get(folded, []) if s != topic.slug]
                if others:
                    problems.append(f"{topic.slug}: alias {alias!r} also names {others}")
        return problems
