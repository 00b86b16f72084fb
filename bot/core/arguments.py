"""Everything a person types or a button carries is checked here, once, at the edge.

Why a module of its own: ``str.isdigit()`` says yes to "²" and "٣" but ``int()`` refuses the
first; a twenty-digit id overflows PostgreSQL's ``integer``; a NUL byte is refused by
PostgreSQL's ``text`` and ``jsonb``; a lone surrogate (what a terminal's undecodable byte
becomes) cannot be encoded as UTF-8 or UTF-16, so it breaks every renderer it reaches and,
once stored, every later answer that shows it. ``Commands.handle`` and ``Commands.press``
pass all input through ``clean_text`` before any handler sees it, and handlers read numbers
only through the parsers below, which answer ``None`` (never raise) for anything unusable.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "DB_INT_MAX",
    "MAX_ACTION",
    "MAX_TEXT",
    "clean_text",
    "not_a_number",
    "parse_id",
    "parse_int",
    "quote_phrases",
]

DB_INT_MAX = 2**31 - 1  # PostgreSQL ``integer`` (our ids); SQLite would take more, PG not
MAX_TEXT = 4000  # a typed message: more than any command needs (a broadcast, a term)
MAX_ACTION = 256  # a button's data: Telegram allows 64 bytes, Slack 2,000 characters
_KEEP = {"\n", "\t"}
_ASCII_DIGITS = re.compile(r"[0-9]{1,10}")


def _allowed(ch: str) -> bool:
    """Not a control character (bar newline and tab), not a surrogate, not unassigned
    private noise such as U+FFFE; everything else, emoji and every script, is kept."""
    if ch in _KEEP:
        return True
    category = unicodedata.category(ch)
    return category not in ("Cc", "Cs") and ch not in ("\ufffe", "\uffff")


def clean_text(text: str | None, *, limit: int = MAX_TEXT) -> str:
    """``text`` without NUL, control characters or lone surrogates, at most ``limit``
    characters. Fast when there is nothing to drop (the usual case)."""
    if not text:
        return ""
    text = text[:limit]
    if text.isprintable():
        return text
    return "".join(ch for ch in text if _allowed(ch))


def parse_int(text: str, low: int, high: int) -> int | None:
    """An integer written in ASCII digits within ``low``..``high``, or None. "²", "٣", "+1",
    "1e3", " 1 2" and twenty-digit numbers are all None."""
    text = text.strip()
    if not _ASCII_DIGITS.fullmatch(text):
        return None
    value = int(text)
    return value if low <= value <= high else None


def parse_id(text: str) -> int | None:
    """A database id (1 to the largest PostgreSQL integer), or None."""
    return parse_int(text, 1, DB_INT_MAX)


def not_a_number(text: str, usage: str) -> str:
    """The one wording for a number we cannot use, with how to write one."""
    shown = text.strip()
    shown = shown[:20] + "…" if len(shown) > 20 else shown
    return f"That is not a number I can use: “{shown}”. {usage}"


_QUOTED = re.compile(r"[\"“”„«»]([^\"“”„«»]+)[\"“”„«»]")


def quote_phrases(text: str) -> tuple[list[str], str]:
    """The phrases a person put in quotes (straight or curly), and the text without them:
    ``peer support "young people"`` -> (["young people"], "peer support")."""
    phrases = [" ".join(m.split()) for m in _QUOTED.findall(text)]
    rest = _QUOTED.sub(" ", text)
    rest = re.sub(r"[\"“”„«»]", " ", rest)  # an unpaired quote is just noise
    return [p for p in phrases if p], " ".join(rest.split())
