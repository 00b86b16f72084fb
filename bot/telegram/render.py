"""A core ``Reply`` as Telegram messages: HTML text plus an inline keyboard.

Why HTML and not MarkdownV2: escaping HTML needs three characters (``& < >``) and the standard
library's ``html.escape``; MarkdownV2 needs eighteen, and one missed character in a funder's
title makes Telegram refuse the whole message. Every piece of web text goes through
``html.escape`` here and nowhere else; a link is made only for an http(s) URL.

Telegram counts a message's length after parsing the HTML, in UTF-16 code units, so that is
what ``measure`` and ``visible`` count. Replies are split between sections with the core's
``split_sections``; a section that alone exceeds the limit is cut at a character, never inside
a tag or an entity, because the message is built from pieces (text plus the tags around it)
and only a piece's raw text is ever shortened.

Buttons: section buttons first (each section on its own rows, labelled with the section's
number when several sections carry buttons), then the reply's own buttons. Section buttons
never take the keyboard past ``MAX_ROWS`` rows; the reply's buttons — the choices of a guided
flow, "More", "Yes/No" — always show, up to Telegram's 100 buttons, because dropping one of
them would make a choice impossible (the subscribe flow offers every topic, two per row).
"""

from __future__ import annotations

import html
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.core.replies import Button, Reply, Section, encodable_reply, split_sections

__all__ = [
    "CAPTION_CHARS",
    "MAX_CHARS",
    "Rendered",
    "keyboard",
    "measure",
    "render",
    "safe_url",
    "visible",
]

log = logging.getLogger("signpost.telegram")

MAX_CHARS = 4096  # a message's text, after entity parsing, in UTF-16 code units
CAPTION_CHARS = 1024  # a document's caption, likewise
MAX_CALLBACK_BYTES = 64
MAX_BUTTONS = 100
MAX_ROWS = 8  # section buttons stop here; see the module docstring
ROW_WIDTH = 3
TOGGLE_WIDTH = 2  # the subscribe flow's topic toggles have long labels
TOGGLE_PREFIX = "sub:t"  # topic toggles: sub:t<page>:… (navigation is sub:p<page>:…)
ELLIPSIS = "…"
SEPARATOR = "\n\n"
FALLBACK_TEXT = "Options:"  # Telegram refuses an empty text, even under a keyboard


@dataclass(frozen=True, slots=True)
class Rendered:
    """One message ready for sendMessage: HTML, its visible length, its keyboard, and the part
    of the reply it came from (to split again should Telegram count differently)."""

    html: str
    visible: int
    markup: InlineKeyboardMarkup | None
    link_previews: bool = False
    source: Reply | None = None


@dataclass(frozen=True, slots=True)
class _Piece:
    """Raw (unescaped) text and the tags around it, outermost first."""

    text: str
    tags: tuple[tuple[str, str], ...] = ()

    def html(self, text: str | None = None) -> str:
        body = html.escape(self.text if text is None else text, quote=False)
        opening = "".join(open_ for open_, _ in self.tags)
        closing = "".join(close for _, close in reversed(self.tags))
        return f"{opening}{body}{closing}"


def visible(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (a lone surrogate counts as the one
    unit of the U+FFFD that ``render`` puts in its place)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def safe_url(url: str | None) -> str | None:
    """The URL if it is an absolute http(s) URL without spaces or control characters."""
    if not url or len(url) > 2048 or any(ch.isspace() or ord(ch) < 32 for ch in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url


def _section_pieces(section: Section, number: str = "") -> list[_Piece]:
    pieces: list[_Piece] = []
    url = safe_url(section.url)
    if section.heading:
        tags: tuple[tuple[str, str], ...] = (("<b>", "</b>"),)
        if url:
            tags += ((f'<a href="{html.escape(url, quote=True)}">', "</a>"),)
        pieces.append(_Piece(number + section.heading, tags))
    elif url:
        pieces.append(_Piece(url))
    for line in section.lines:
        pieces.append(_Piece(line))
    if section.note:
        pieces.append(_Piece(section.note, (("<i>", "</i>"),)))
    joined: list[_Piece] = []
    for piece in pieces:
        if joined:
            joined.append(_Piece("\n"))
        joined.append(piece)
    return joined


def measure(section: Section) -> int:
    """What a section adds to a message, separator included (the dispatcher splits by it)."""
    return sum(visible(p.text) for p in _section_pieces(section, "00. ")) + len(SEPARATOR)


def _numbered(sections: Sequence[Section]) -> bool:
    return sum(1 for s in sections if s.buttons) > 1


def _number(section: Section, index: int, numbered: bool) -> str:
    if not numbered or section.heading.startswith(f"{index}. "):
        return ""
    return f"{index}. "


def _cut(text: str, units: int) -> str:
    """The longest prefix of ``text`` within ``units`` UTF-16 code units."""
    used = 0
    for i, ch in enumerate(text):
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > units:
            return text[:i]
    return text


def _join(pieces: Iterable[_Piece], limit: int) -> tuple[str, int]:
    """HTML of the pieces within ``limit`` visible units; cut with an ellipsis if needed."""
    out: list[str] = []
    used = 0
    for piece in pieces:
        size = visible(piece.text)
        if used + size <= limit:
            out.append(piece.html())
            used += size
            continue
        room = limit - used - len(ELLIPSIS)
        if room >= 0:
            kept = _cut(piece.text, room)
            out.append(piece.html(kept + ELLIPSIS) if kept else ELLIPSIS)
            used += visible(kept) + len(ELLIPSIS)
        break
    return "".join(out), used


def _pieces(reply: Reply) -> list[_Piece]:
    pieces: list[_Piece] = []
    if reply.text:
        pieces.append(_Piece(reply.text))
    numbered = _numbered(reply.sections)
    for index, section in enumerate(reply.sections, start=1):
        body = _section_pieces(section, _number(section, index, numbered))
        if not body:
            continue
        if pieces:
            pieces.append(_Piece(SEPARATOR))
        pieces.extend(body)
    return pieces


def _button(button: Button, prefix: str = "") -> InlineKeyboardButton | None:
    label = (prefix + button.label)[:64] or "·"
    if button.action:
        if not 1 <= len(button.action.encode()) <= MAX_CALLBACK_BYTES:
            log.warning("dropped a button whose action is over 64 bytes: %r", button.action[:80])
            return None
        return InlineKeyboardButton(label, callback_data=button.action)
    url = safe_url(button.url)
    return InlineKeyboardButton(label, url=url) if url else None


def _rows(buttons: Sequence[Button], prefix: str = "") -> list[list[InlineKeyboardButton]]:
    """Consecutive buttons of one kind share rows: topic toggles two a row, others three."""
    rows: list[list[InlineKeyboardButton]] = []
    width, current = 0, []
    for button in buttons:
        made = _button(button, prefix)
        if made is None:
            continue
        toggle = (button.action or "").startswith(TOGGLE_PREFIX)
        wanted = TOGGLE_WIDTH if toggle else ROW_WIDTH
        if current and (len(current) >= width or wanted != width):
            rows.append(current)
            current = []
        width = wanted
        current.append(made)
    if current:
        rows.append(current)
    return rows


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    """The inline keyboard for a reply (one chunk of it), or None when it has no buttons."""
    numbered = _numbered(reply.sections)
    own = _rows(reply.buttons)
    section_rows: list[list[InlineKeyboardButton]] = []
    for index, section in enumerate(reply.sections, start=1):
        prefix = f"{index} · " if numbered else ""
        section_rows.extend(_rows(section.buttons, prefix))
    room = max(0, MAX_ROWS - len(own))
    if len(section_rows) > room:
        log.debug("kept %d of %d rows of section buttons", room, len(section_rows))
    rows, count = [], 0
    for row in section_rows[:room] + own:
        if count + len(row) > MAX_BUTTONS:
            break
        rows.append(row)
        count += len(row)
    return InlineKeyboardMarkup(rows) if rows else None


def render(reply: Reply, *, limit: int = MAX_CHARS) -> list[Rendered]:
    """The messages a reply becomes, each within ``limit`` visible characters.

    The attachment is not rendered here (the channel sends it with sendDocument).
    """
    reply = encodable_reply(reply)  # a lone surrogate cannot be counted in UTF-16, or sent
    head_cost = visible(reply.text) - len(reply.text) + len(SEPARATOR)
    messages = []
    for chunk in split_sections(reply, limit=limit, measure=measure, head_cost=head_cost):
        text, size = _join(_pieces(chunk), limit)
        markup = keyboard(chunk)
        if not text.strip():
            if markup is None:
                continue
            text, size = FALLBACK_TEXT, len(FALLBACK_TEXT)
        messages.append(Rendered(text, size, markup, reply.link_previews, chunk))
    return messages
