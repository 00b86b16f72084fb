"""Canonical funder names, so that "MRC", "Medical Research Council (MRC)", a UKRI card class
``category-mrc`` and a subscriber typing "medical research council" all mean one funder.

Pages name funders in many ways (full names, abbreviations, "Full name (ABBR)", slugs in CSS
classes and URLs). Matching subscriptions, deduplicating across sources and showing a short,
readable name all need one spelling; unknown funders keep their own name, tidied.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sources.normalise import clean_text

__all__ = [
    "UKRI_FAMILY",
    "canonical_funder",
    "canonical_funders",
    "funder_matches",
    "is_known_funder",
    "is_ukri_family",
]

# Display name -> other ways of writing it (the display name itself always matches).
_VARIANTS: dict[str, tuple[str, ...]] = {
    "UKRI": ("UK Research and Innovation", "UK Research & Innovation"),
    "AHRC": ("Arts and Humanities Research Council",),
    "BBSRC": ("Biotechnology and Biological Sciences Research Council",),
    "EPSRC": ("Engineering and Physical Sciences Research Council",),
    "ESRC": ("Economic and Social Research Council",),
    "MRC": ("Medical Research Council", "UKRI MRC"),
    "NERC": ("Natural Environment Research Council",),
    "STFC": ("Science and Technology Facilities Council",),
    "Innovate UK": ("IUK", "Technology Strategy Board"),
    "Research England": (),
    "NIHR": (
        "National Institute for Health and Care Research",
        "National Institute for Health Research",
    ),
    "The National Lottery Community Fund": (
        "National Lottery Community Fund",
        "TNLCF",
        "TNL Community Fund",
        "Big Lottery Fund",
    ),
    "Wellcome": ("Wellcome Trust",),
    "Cancer Research UK": ("CRUK",),
    "MQ Mental Health Research": ("MQ",),
    "Department of Health and Social Care": ("DHSC",),
    "Defra": ("Department for Environment, Food and Rural Affairs",),
}

# UKRI itself plus its nine councils: following "UKRI" means following all of them.
UKRI_FAMILY = frozenset(
    ("UKRI", "AHRC", "BBSRC", "EPSRC", "ESRC", "MRC", "NERC", "STFC", "Innovate UK")
) | {"Research England"}

_PREFIXES = ("category-", "funding_type-")
_FULL_AND_SHORT = re.compile(r"(?P<outer>.*?)\s*\((?P<inner>[^()]+)\)\s*")


def _key(name: str) -> str:
    """A spelling-insensitive key: case, "&", hyphens, punctuation and a leading "the"."""
    text = clean_text(name).casefold()
    for prefix in _PREFIXES:
        text = text.removeprefix(prefix)
    text = text.replace("&", " and ").replace("-", " ").replace("_", " ")
    words = "".join(ch if ch.isalnum() else " " for ch in text).split()
    if words and words[0] == "the":
        words = words[1:]
    return " ".join(words)


_ALIASES: dict[str, str] = {
    _key(variant): display
    for display, variants in _VARIANTS.items()
    for variant in (display, *variants)
}


def _readings(name: str) -> list[str]:
    """The ways to read a name: whole, then the abbreviation in brackets, then the rest.

    "Medical Research Council (MRC)" is read as itself, "MRC" and "Medical Research Council".
    """
    cleaned = clean_text(name).strip(" ,;:")
    readings = [cleaned]
    match = _FULL_AND_SHORT.fullmatch(cleaned)
    if match:
        readings += [match["inner"].strip(), match["outer"].strip()]
    return [reading for reading in readings if reading]


def canonical_funder(name: str | None) -> str:
    """The display name of a funder ("MRC", "NIHR", "Wellcome"); unknown names come back
    cleaned of stray whitespace and punctuation, never dropped."""
    readings = _readings(name or "")
    for reading in readings:
        known = _ALIASES.get(_key(reading))
        if known:
            return known
    return readings[0] if readings else ""


def canonical_funders(names: Iterable[str]) -> list[str]:
    """Canonical names in their first order of appearance, without duplicates or blanks."""
    seen: dict[str, None] = {}
    for name in names:
        canonical = canonical_funder(name)
        if canonical:
            seen.setdefault(canonical, None)
    return list(seen)


def is_known_funder(name: str) -> bool:
    """True when ``name`` is one of the funders this module knows, however written."""
    return any(_key(reading) in _ALIASES for reading in _readings(name))


def is_ukri_family(name: str) -> bool:
    """True for UKRI and its councils, however they are written."""
    return canonical_funder(name) in UKRI_FAMILY


def _match_keys(name: str) -> set[str]:
    keys = {_key(reading) for reading in _readings(name)}
    keys.add(_key(canonical_funder(name)))
    keys.discard("")
    return keys


def funder_matches(subscription_funder: str, funders: Iterable[str]) -> bool:
    """Whether an opportunity funded by ``funders`` belongs to a user following
    ``subscription_funder``.

    Known funders compare by canonical name, so "medical research council" follows "MRC".
    Following "UKRI" also follows its councils, since a UKRI call is run by one of them.
    Unknown funders compare by their full name or their bracketed abbreviation, so "Defra"
    follows "The Department for Environment, Food and Rural Affairs (Defra)".
    """
    wanted = canonical_funder(subscription_funder)
    if not wanted:
        return False
    wanted_keys = _match_keys(subscription_funder)
    for funder in funders:
        canonical = canonical_funder(funder)
        if canonical == wanted or (wanted == "UKRI" and canonical in UKRI_FAMILY):
            return True
        if canonical not in _VARIANTS and wanted_keys & _match_keys(funder):
            return True
    return False


def funder_keys(name: str, *, as_funder_of_item: bool = False) -> set[str]:
    """Keys under which a matching index files a funder, so that everything
    ``funder_matches`` would accept shares at least one key with it. An item's UKRI council
    is also filed under UKRI, since following UKRI follows its councils."""
    keys = _match_keys(name)
    if as_funder_of_item and is_ukri_family(name):
        keys.add(_key("UKRI"))
    return keys
