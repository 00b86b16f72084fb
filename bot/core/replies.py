"""What the core says, before any platform has its say.

A ``Reply`` is plain, unescaped text in sections with optional links and buttons. Each
transport renders it (HTML for Telegram, Block Kit for Slack, plain text for the console),
escaping web text for its own markup and splitting at section boundaries under its limits.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace


@dataclass(frozen=True, slots=True)
class Button:
    """A button: either an ``action`` the core handles (``remind:42``) or a ``url`` to open."""

    label: str
    action: str | None = None
    url: str | None = None


@dataclass(slots=True)
class Section:
    """One item of a reply: a heading (optionally a link), lines of text, and buttons."""

    heading: str = ""
    url: str | None = None
    lines: list[str] = field(default_factory=list)
    buttons: list[Button] = field(default_factory=list)
    note: str = ""  # small print such as glossary definitions


@dataclass(slots=True)
class Reply:
    """A whole answer or alert. ``ephemeral`` answers are shown to the asker only (Slack);
    ``edit`` asks the transport to replace the message a button was pressed on."""

    text: str = ""
    sections: list[Section] = field(default_factory=list)
    buttons: list[Button] = field(default_factory=list)
    ephemeral: bool = True
    edit: bool = False
    link_previews: bool = False
    in_thread_of: str | None = None
    attachment: tuple[str, bytes] | None = None  # (file name, content) e.g. for /export

    def plain(self) -> str:
        """A plain-text rendering (the console's, and the fallback text of other platforms)."""
        parts = [self.text] if self.text else []
        for section in self.sections:
            block = [section.heading] if section.heading else []
            if section.url:
                block.append(section.url)
            block.extend(section.lines)
            if section.note:
                block.append(section.note)
            parts.append("\n".join(block))
        return "\n\n".join(part for part in parts if part)


def split_sections(
    reply: Reply, *, limit: int, measure: Callable[[Section], int], head_cost: int = 0
) -> list[Reply]:
    """Split a reply into several whose measured size stays under ``limit``.

    Splits only between sections, so an item is never cut in half; a single section that is
    alone too big is kept whole here and left to the transport to truncate.
    """
    chunks: list[Reply] = []
    current: list[Section] = []
    size = head_cost + (len(reply.text) if reply.text else 0)
    for section in reply.sections:
        cost = measure(section)
        if current and size + cost > limit:
            chunks.append(current_reply(reply, current, first=not chunks))
            current, size = [], head_cost
        current.append(section)
        size += cost
    chunks.append(current_reply(reply, current, first=not chunks))
    # Buttons that act on the whole reply go with the last chunk.
    for chunk in chunks[:-1]:
        chunk.buttons = []
    return chunks


def current_reply(template: Reply, sections: Iterable[Section], *, first: bool) -> Reply:
    return Reply(
        text=template.text if first else "",
        sections=list(sections),
        buttons=list(template.buttons),
        ephemeral=template.ephemeral,
        edit=template.edit and first,
        link_previews=template.link_previews,
        in_thread_of=template.in_thread_of,
        attachment=template.attachment if first else None,
    )


# A code point in this range inside a Python string is always a lone surrogate (a valid
# pair is one code point): what a terminal's undecodable byte, or an old stored row, holds.
_SURROGATE = re.compile("[\ud800-\udfff]")


def encodable(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD, so UTF-8 and UTF-16 (what the
    platforms count in) can encode it."""
    return _SURROGATE.sub("\ufffd", text) if text else text


def encodable_reply(reply: Reply) -> Reply:
    """A copy of ``reply`` every platform can encode: renderers call it first, so one bad
    character stored long ago cannot make a chat's answers fail for good."""

    def button(b: Button) -> Button:
        return Button(encodable(b.label), b.action and encodable(b.action), b.url)

    sections = [
        replace(
            s,
            heading=encodable(s.heading),
            lines=[encodable(line) for line in s.lines],
            note=encodable(s.note),
            buttons=[button(b) for b in s.buttons],
        )
        for s in reply.sections
    ]
    return replace(
        reply,
        text=encodable(reply.text),
        sections=sections,
        buttons=[button(b) for b in reply.buttons],
    )
