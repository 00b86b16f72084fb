"""Glossary detection: which glossary names occur in a stretch of text.

It runs on every alert, so it is kept apart from the look-ups (see :mod:`bot.core.glossary`)
and built for speed: one precompiled regular expression over every detectable name, built
once per glossary. The rules, decided once here so every platform behaves the same:

- names are whole words only;
- all-capital acronyms ("PI", "REF", "ICB") match only in capitals, so "PI" is found neither
  in "PIPELINE" nor in "pi"; one mixed-case word ("co-PI", "RfPB") may change only its first
  letter; other names match in any case;
- spaces and hyphens are interchangeable and a plural "s" is allowed;
- a name listed in an entry's ``skip_in_text`` is never detected (it still works in look-ups).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping

from bot.core.glossary_data import GlossaryEntry, fold

__all__ = ["detector", "slugs_in_text"]

_SEP = r"[\s\-\u2010\u2011\u2012\u2013]"  # spaces and hyphens are interchangeable in text
_HYPHENS = "-\u2010\u2011"


def detector(entries: Iterable[GlossaryEntry]) -> tuple[re.Pattern[str] | None, dict[str, str]]:
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


def slugs_in_text(pattern: re.Pattern[str], owners: Mapping[str, str], text: str) -> Iterator[str]:
    """The slug of each name ``pattern`` finds in ``text``, in order, repeats included; lazy,
    so a caller that has enough can stop without scanning the rest of a long page."""
    for match in pattern.finditer(text):
        slug = _slug_of(match.group(), owners)
        if slug is not None:
            yield slug


def _slug_of(matched: str, owners: Mapping[str, str]) -> str | None:
    """The entry a matched stretch of text names, allowing for the plural ending."""
    key = fold(matched)
    for candidate in (key, key[:-1], key[:-2]):
        if candidate in owners:
            return owners[candidate]
    return None


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
