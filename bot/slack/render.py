"""Core replies as Slack Block Kit messages (the modal and App Home are in ``views``).

Why a module of its own: every byte that reaches Slack passes through here, so this is the
one place that escapes web text for mrkdwn and keeps Slack's limits (50 blocks a message,
3000 characters a section, 150 a header, 75 a button label, 25 buttons an actions block).
A reply too big for one message is split between sections, never inside one, so an
opportunity is never cut in half; a single section that is alone too long is truncated.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.core.replies import Button, Reply, Section

__all__ = [
    "MAX_BLOCKS",
    "MAX_SECTION_CHARS",
    "SlackMessage",
    "escape",
    "measure",
    "mrkdwn_block",
    "plain_text",
    "render",
    "section_text",
    "truncate",
]

MAX_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_SECTION_CHARS = 3000
MAX_HEADER_CHARS = 150
MAX_CONTEXT_CHARS = 2000
MAX_BUTTON_LABEL = 75
MAX_BUTTONS = 25  # per actions block
MAX_VALUE = 2000
MAX_FALLBACK = 3000  # the notification text; Slack allows more, nobody reads more
MAX_HEADING = 300  # a title longer than this is cut before it is linked
CODE_CHUNK = 2800  # JSON per code block, leaving room for the fences
MAX_CODE_BLOCKS = 40
ACTION_PREFIX = "signpost-"
_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,3}$")


@dataclass(slots=True)
class SlackMessage:
    """One chat.postMessage / response_url payload: blocks plus the fallback text that
    notifications and screen readers without Block Kit show."""

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)


# ---------------------------------------------------------------------------- text


def escape(text: str) -> str:
    """Slack's mrkdwn control characters as entities: a title like ``<!channel>`` must not
    ping a channel, and ``<http://x|y>`` in web text must not become a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(escaped: str, limit: int) -> str:
    """Cut already escaped text to ``limit`` characters, never inside an entity."""
    if len(escaped) <= limit:
        return escaped
    cut = _PARTIAL_ENTITY.sub("", escaped[: limit - 1])
    return cut + "…"


def _linkable(url: str | None) -> bool:
    return bool(url) and url.lower().startswith(("http://", "https://"))


def _link(url: str | None, label: str) -> str:
    """``<url|label>`` for http(s) URLs; anything else (``javascript:``, junk) stays text."""
    if not url or not _linkable(url):
        return label
    safe = escape(url).replace("|", "%7C").replace(" ", "%20")
    return f"<{safe}|{label}>"


def section_text(section: Section) -> str:
    """A section's mrkdwn: the title as a bold link, then its lines, within 3000 chars."""
    parts = []
    if section.heading:
        label = truncate(escape(" ".join(section.heading.split())), MAX_HEADING)
        parts.append(f"*{_link(section.url, label)}*")
    elif section.url:
        parts.append(_link(section.url, escape(section.url[:MAX_HEADING])))
    parts.extend(escape(line) for line in section.lines if line)
    return truncate("\n".join(parts), MAX_SECTION_CHARS)


def measure(section: Section) -> int:
    """What a section costs in a message, for the dispatcher's own splitting."""
    return len(section_text(section)) + len(section.note)


def plain_text(text: str, limit: int) -> dict[str, Any]:
    """A ``plain_text`` object cut to ``limit`` characters."""
    return {"type": "plain_text", "text": text[:limit] or " ", "emoji": True}


def mrkdwn_block(escaped: str) -> dict[str, Any]:
    """A section of already escaped mrkdwn (never empty: Slack refuses that)."""
    return {"type": "section", "text": {"type": "mrkdwn", "text": escaped or " "}}


# ---------------------------------------------------------------------------- blocks


def _buttons(buttons: Sequence[Button], counter: list[int]) -> list[dict[str, Any]]:
    """Actions blocks of at most 25 buttons; every button gets an action_id unique in the
    message (Slack refuses duplicates), and an action button carries the core's action
    string in ``value`` so any replica can handle the press without state."""
    elements = []
    for button in buttons:
        counter[0] += 1
        element: dict[str, Any] = {
            "type": "button",
            "text": plain_text(button.label, MAX_BUTTON_LABEL),
        }
        if _linkable(button.url) and len(button.url or "") <= 3000:
            element["url"] = button.url
            element["action_id"] = f"{ACTION_PREFIX}link-{counter[0]}"
        elif button.action and len(button.action) <= MAX_VALUE:
            element["value"] = button.action
            element["action_id"] = f"{ACTION_PREFIX}{counter[0]}"
        else:
            continue
        elements.append(element)
    return [
        {"type": "actions", "elements": elements[i : i + MAX_BUTTONS]}
        for i in range(0, len(elements), MAX_BUTTONS)
    ]


def _section_blocks(section: Section, counter: list[int]) -> list[dict[str, Any]]:
    blocks = []
    text = section_text(section)
    if text:
        blocks.append(mrkdwn_block(text))
    if section.note:
        note = truncate(escape(section.note), MAX_CONTEXT_CHARS)
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": note}]})
    blocks += _buttons(section.buttons, counter)
    return blocks


def _head_blocks(reply: Reply) -> list[dict[str, Any]]:
    """The reply's own text: a header above a list of items, otherwise a plain section."""
    text = reply.text.strip()
    if not text:
        return []
    if reply.sections and len(text) <= MAX_HEADER_CHARS and "\n" not in text:
        return [{"type": "header", "text": plain_text(text, MAX_HEADER_CHARS)}]
    return [mrkdwn_block(truncate(escape(text), MAX_SECTION_CHARS))]


def _attachment_blocks(name: str, content: bytes) -> list[dict[str, Any]]:
    """A file (``/export``) as code blocks: uploading files would need ``files:write``,
    a scope Signpost does not otherwise need."""
    chunks = _entity_safe_chunks(escape(content.decode("utf-8", errors="replace")), CODE_CHUNK)
    blocks = [{"type": "context", "elements": [{"type": "mrkdwn", "text": f"`{escape(name)}`"}]}]
    blocks += [mrkdwn_block(f"```{chunk}```") for chunk in chunks[:MAX_CODE_BLOCKS]]
    if len(chunks) > MAX_CODE_BLOCKS:
        blocks.append(mrkdwn_block("_(cut short: the export is longer than Slack shows)_"))
    return blocks


def _entity_safe_chunks(escaped: str, size: int) -> list[str]:
    """Pieces of at most ``size`` characters of escaped text, none ending inside an entity
    (escaping can make a piece of JSON five times longer, so cut after escaping)."""
    chunks = []
    while escaped:
        cut = size
        if len(escaped) > size and (match := _PARTIAL_ENTITY.search(escaped[:size])):
            cut = match.start() or size
        chunks.append(escaped[:cut])
        escaped = escaped[cut:]
    return chunks


def _fallback(reply: Reply, sections: Iterable[Section]) -> str:
    parts = [reply.text] if reply.text else []
    parts += [s.heading for s in sections if s.heading]
    return truncate(escape("\n".join(parts)), MAX_FALLBACK) or "Signpost"


Group = tuple[list[dict[str, Any]], Section | None]


def _pack(groups: list[Group], limit: int) -> list[list[Group]]:
    """Greedy packing of block groups into messages of at most ``limit`` blocks; a group
    is only ever broken when it alone exceeds the limit."""
    messages: list[list[Group]] = [[]]
    size = 0
    for blocks, section in groups:
        for i in range(0, max(len(blocks), 1), limit):
            piece = blocks[i : i + limit]
            if not piece:
                continue
            if size and size + len(piece) > limit:
                messages.append([])
                size = 0
            messages[-1].append((piece, section))
            size += len(piece)
    return messages


def render(reply: Reply, *, max_blocks: int = MAX_BLOCKS) -> list[SlackMessage]:
    """One or more messages for a reply, each within Slack's limits. The reply's text
    goes first and its own buttons last, as in every other transport."""
    counter = [0]
    groups: list[Group] = [(_head_blocks(reply), None)]
    groups += [(_section_blocks(s, counter), s) for s in reply.sections]
    if reply.attachment is not None:
        groups.append((_attachment_blocks(*reply.attachment), None))
    groups.append((_buttons(reply.buttons, counter), None))
    messages = []
    for number, packed in enumerate(_pack(groups, max_blocks)):
        blocks = [block for piece, _ in packed for block in piece] or [mrkdwn_block(" ")]
        sections = list(dict.fromkeys(id(s) for _, s in packed if s is not None))
        mine = [s for s in reply.sections if id(s) in sections]
        text = _fallback(reply if number == 0 else Reply(), mine)
        messages.append(SlackMessage(text=text, blocks=blocks))
    return messages


def render_small(reply: Reply) -> list[SlackMessage]:
    """The second try after Slack refused a message: one section per message, notes
    dropped, so that whatever Slack disliked is confined to as little as possible."""
    small = Reply(text=reply.text, buttons=list(reply.buttons))
    items = [Section(s.heading, s.url, s.lines[:6], s.buttons) for s in reply.sections]
    return render(small, max_blocks=10) + [
        message for item in items for message in render(Reply(sections=[item]), max_blocks=10)
    ]
