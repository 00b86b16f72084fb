"""Making what a hostile or broken page gave storable: text without the characters no
database or encoder takes, markup whose character references cannot break a parser, and
amounts bounded to what a grant can be. Apart from ``sources.normalise`` (which uses it for
every text it cleans and every sum it reads) to keep both small; pure, like it.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

# More than any UK grant or fund: a larger figure is a typo, a trap or a misread, and is
# dropped as unknown rather than shown (or stored past a database integer).
MAX_PLAUSIBLE_PENCE = 1_000_000_000 * 100


def plausible_pence(value: Any) -> int | None:
    """``value`` when it is a whole number of pence within a plausible grant, else None."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 0 <= value <= MAX_PLAUSIBLE_PENCE else None


# NUL (PostgreSQL refuses it in text and JSON) and lone surrogates (no encoder takes them).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_CHAR_REF = re.compile(rb"&#(?:[xX]([0-9a-fA-F]{1,8})|([0-9]{1,10}));?")


def scrub_text(text: str) -> str:
    """``text`` without the characters no database or encoder takes."""
    return _UNSTORABLE.sub("", text)


def _safe_ref(match: re.Match[bytes]) -> bytes:
    code = int(match[1], 16) if match[1] is not None else int(match[2])
    if code == 0 or 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
        return b"&#xFFFD;"
    return match[0]


def scrub_markup(body: bytes) -> bytes:
    """Markup whose character references to NUL, surrogates or past U+10FFFF read as U+FFFD,
    as HTML5 says: feedparser raises on ``&#xD800;`` and so loses the whole feed."""
    return _CHAR_REF.sub(_safe_ref, body) if b"&#" in body else body


def _scrubbed(value: Any) -> Any:
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, list):
        return [_scrubbed(entry) for entry in value]
    if isinstance(value, dict):
        return {_scrubbed(key): _scrubbed(entry) for key, entry in value.items()}
    return value


def scrub_item(item: Any) -> None:
    """Make a parsed item storable whatever its source did: every text (lists and ``extra``
    included) without NUL or lone surrogates, every amount plausible or unknown."""
    for name in (field.name for field in dataclasses.fields(item)):
        value = getattr(item, name)
        if name.endswith("_pence"):
            setattr(item, name, plausible_pence(value))
        elif isinstance(value, str | list | dict):
            setattr(item, name, _scrubbed(value))
