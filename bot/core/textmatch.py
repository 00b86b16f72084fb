"""Plain-word phrase matching shared by tagging, subscriptions and search.

Everything that asks "does this text mention that phrase?" goes through here, so the
taxonomy, a user's keywords and the search box all agree on what counts as the same word:

* case and accents are folded ("Café" = "cafe"), apostrophes vanish ("people's" = "peoples");
* text is cut into word tokens, so a phrase only matches whole words ("ward" is not in
  "award", "art" is not in "partner"), and punctuation between words does not matter
  ("well-being" = "well being", "ME/CFS" = "me cfs", "&" = "and");
* simple English plurals fold onto their singular ("charities" = "charity", "studies" =
  "study", "services" = "service", "young people" = "young person") and "-ize" spellings
  onto "-ise" ("organization" = "organisation").

Folding is applied identically to phrases and to text, so the folded form never needs to be
a real word: it only needs to be the same on both sides. It is deliberately a light touch (no
stemming of "-ing"/"-ed"), because a tagger that conflates "housing" with "house" loses
precision that matters more here than recall.

Matching is a token trie: every phrase becomes a path of folded tokens, so one pass over the
text's tokens finds every phrase of every key at once, with no regular expression built from
user input (user keywords are phrases like any other) and no backtracking to blow up.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "Match",
    "PhraseMatcher",
    "fold_token",
    "normalise_words",
    "phrase_in",
    "phrase_variants",
    "sentence_tokens",
    "token_spans",
    "tokens",
]

# A raw word: letters and digits (any script), with inner apostrophes kept so that
# "people's" stays one word; a lone "&" is a word too, read as "and".
_RAW_WORD = re.compile(r"[^\W_]+(?:['’`ʼ][^\W_]+)*|&")
_BREAK = r"(?<=[.!?])\s+(?=[A-Z0-9\"“‘'(])|[\n\r•▪◦·;]+|\s[–—]\s"
_RAW_WORD_OR_BREAK = re.compile(_RAW_WORD.pattern + "|" + _BREAK)
_APOSTROPHES = str.maketrans("", "", "'’`ʼ")
_WORD = re.compile(r"[^\W_]+")

# Irregular plurals worth knowing in this domain; values must be fixed points of folding.
_IRREGULAR = {
    "children": "child",
    "people": "person",
    "women": "woman",
    "men": "man",
    "crises": "crisis",
    "analyses": "analysis",
    "diagnoses": "diagnosis",
    "prognoses": "prognosis",
    "psychoses": "psychosis",
    "neuroses": "neurosis",
    "theses": "thesis",
    "hypotheses": "hypothesis",
}
_IZE_ENDINGS = (
    ("izations", "isation"),
    ("ization", "isation"),
    ("izing", "ising"),
    ("izers", "iser"),
    ("izer", "iser"),
    ("ized", "ised"),
    ("izes", "ise"),
    ("ize", "ise"),
)


def _fold_chars(text: str) -> str:
    """Casefold and strip accents until stable (casefolding can expose new accents)."""
    for _ in range(4):
        decomposed = unicodedata.normalize("NFKD", text)
        stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
        folded = stripped.casefold()
        if folded == text:
            break
        text = folded
    return text


def _singular(word: str) -> str:
    """The plural-folded form of one lower-case word; see the module docstring."""
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    n = len(word)
    if n >= 5 and word.endswith("ies"):
        word = word[:-3] + "y"
    elif n >= 5 and word.endswith("ie"):
        # "movie"/"movies" must agree once "movies" has become "movy".
        word = word[:-2] + "y"
    elif n >= 5 and word.endswith(("sses", "ches", "shes", "xes")):
        word = word[:-2]
    elif (n >= 4 and word.endswith("che")) or (n >= 5 and word.endswith("xe")):
        # "headache"/"headaches" and "annexe"/"annexes" must agree after "-es" is cut.
        word = word[:-1]
    elif n >= 4 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    return _IRREGULAR.get(word, word)


def _ise(word: str) -> str:
    for ending, replacement in _IZE_ENDINGS:
        if word.endswith(ending) and len(word) > len(ending) + 1:
            return word[: -len(ending)] + replacement
    return word


_CACHE_LIMIT = 200_000
_folded_words: dict[str, tuple[str, ...]] = {}


def _fold_raw(raw: str) -> tuple[str, ...]:
    """The folded tokens of one raw word (usually one; "½" becomes "1", "2").

    Memoised in a plain dict (a vocabulary is small and this is the hot path of tagging);
    past the limit new words are folded without being remembered.
    """
    folded = _folded_words.get(raw)
    if folded is None:
        if raw == "&":
            folded = ("and",)
        else:
            chars = _fold_chars(raw.translate(_APOSTROPHES))
            folded = tuple(_ise(_singular(part)) for part in _WORD.findall(chars))
        if len(_folded_words) < _CACHE_LIMIT:
            _folded_words[raw] = folded
    return folded


def fold_token(word: str) -> str:
    """One word folded for comparison: lower case, no accents, singular.

    A word that folds into several tokens (rare: "½") is joined with spaces.
    """
    return " ".join(_fold_raw(word))


def token_spans(text: str) -> list[tuple[str, int, int]]:
    """Folded tokens of ``text`` with the character span of the raw word each came from,
    so a caller can map a match back onto the words the user actually wrote."""
    spans: list[tuple[str, int, int]] = []
    for found in _RAW_WORD.finditer(text):
        for token in _fold_raw(found.group()):
            spans.append((token, found.start(), found.end()))
    return spans


def tokens(text: str) -> list[str]:
    """The folded word tokens of ``text``, in order."""
    out: list[str] = []
    cache = _folded_words
    for raw in _RAW_WORD.findall(text):
        folded = cache.get(raw)
        out += folded if folded is not None else _fold_raw(raw)
    return out


def sentence_tokens(text: str) -> list[list[str]]:
    """The folded tokens of each sentence of ``text`` (sentences end at ". " before a capital,
    a line break, a bullet, a semicolon or a spaced dash), from one pass over the text."""
    sentences: list[list[str]] = []
    current: list[str] = []
    cache = _folded_words
    for raw in _RAW_WORD_OR_BREAK.findall(text):
        if raw[0].isalnum() or raw == "&":  # a word, not a sentence break
            folded = cache.get(raw)
            current += folded if folded is not None else _fold_raw(raw)
        elif current:
            sentences.append(current)
            current = []
    if current:
        sentences.append(current)
    return sentences


def normalise_words(text: str) -> str:
    """``text`` as folded words separated by single spaces; idempotent, so safe to store
    and to fold again."""
    return " ".join(tokens(text))


def phrase_variants(phrase: str) -> list[tuple[str, ...]]:
    """Token sequences that count as ``phrase``: its folded words, and for a hyphenated
    phrase also the closed-up form ("co-production" also matches "coproduction")."""
    variants = [tuple(tokens(phrase))]
    for raw in re.findall(r"[^\W_]+(?:-[^\W_]+)+", phrase):
        closed = tuple(tokens(phrase.replace(raw, raw.replace("-", ""))))
        if closed and closed not in variants:
            variants.append(closed)
    return [v for v in variants if v]


def _contains(haystack: Sequence[str], needle: Sequence[str]) -> bool:
    size = len(needle)
    first = needle[0]
    return any(
        haystack[i] == first and tuple(haystack[i : i + size]) == tuple(needle)
        for i in range(len(haystack) - size + 1)
    )


def phrase_in(phrase: str, text: str) -> bool:
    """Whether the plain-words ``phrase`` occurs in ``text`` as whole folded words.

    This is how a user's keyword is tested: never as a regular expression.
    """
    variants = phrase_variants(phrase)
    if not variants:
        return False
    words = tokens(text)
    return any(_contains(words, variant) for variant in variants)


@dataclass(frozen=True, slots=True)
class Match:
    """One occurrence: ``key`` found through ``phrase`` at tokens ``start``..``end``-1."""

    key: str
    phrase: str
    start: int
    end: int


class _Node:
    __slots__ = ("children", "outputs")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.outputs: list[tuple[str, str]] = []


class PhraseMatcher:
    """Finds many keys' phrases in a text in one pass over its tokens.

    Built once from ``{key: [phrase, ...]}``; a phrase may serve several keys. For each key,
    occurrences do not overlap: where two of a key's phrases start at the same word the
    longer wins, and a phrase inside one already counted for that key is not counted again
    ("children and young people" is one hit, not also "young people"). Different keys are
    independent: "perinatal mental health" is a hit for both a perinatal key holding that
    phrase and a general key holding "mental health".
    """

    __slots__ = ("_keys", "_root")

    def __init__(self, phrases: Mapping[str, Iterable[str]]) -> None:
        self._root = _Node()
        self._keys: list[str] = []
        for key, key_phrases in phrases.items():
            self._keys.append(key)
            for phrase in key_phrases:
                for variant in phrase_variants(phrase):
                    self._insert(variant, key, phrase)

    def _insert(self, path: tuple[str, ...], key: str, phrase: str) -> None:
        node = self._root
        for token in path:
            node = node.children.setdefault(token, _Node())
        if all(existing_key != key for existing_key, _ in node.outputs):
            node.outputs.append((key, phrase))

    @property
    def keys(self) -> list[str]:
        return list(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def scan(self, words: Sequence[str]) -> list[Match]:
        """Every occurrence in already-folded ``words`` (from :func:`tokens`), in order."""
        root = self._root.children
        size = len(words)
        covered: dict[str, int] = {}
        found: list[Match] = []
        # Most words start no phrase: find the few that do in one comprehension.
        for start in [i for i, word in enumerate(words) if word in root]:
            node = root[words[start]]
            longest: dict[str, Match] = {}
            end = start + 1
            while True:
                for key, phrase in node.outputs:
                    longest[key] = Match(key, phrase, start, end)
                if end >= size:
                    break
                child = node.children.get(words[end])
                if child is None:
                    break
                node = child
                end += 1
            for key, match in longest.items():
                if start >= covered.get(key, 0):
                    found.append(match)
                    covered[key] = match.end
        return found

    def find(self, text: str) -> dict[str, list[str]]:
        """``{key: [matched phrase, ...]}`` for the keys found in ``text``: one entry per
        occurrence, in text order, so ``len`` is a hit count; keys not found are absent."""
        result: dict[str, list[str]] = {}
        for match in self.scan(tokens(text)):
            result.setdefault(match.key, []).append(match.phrase)
        return result
