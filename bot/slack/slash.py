"""Slack's slash commands in the core's terms, and the core's words in Slack's.

Slack has three commands of its own (``/calls``, ``/glossary``, ``/deadlines``) and puts the
rest under ``/signpost``; core replies name Telegram-style commands ("/mysubs"), which on
Slack are "/signpost mysubs". Both translations live here, beside Slack's help text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.core.replies import Reply

__all__ = ["ADMIN_HELP", "SHARE", "SLACK_HELP", "SlashRequest", "parse_slash", "slack_words"]

SHARE = "--share"
# Core replies name Telegram-style commands; on Slack those live under /signpost.
_SUBCOMMANDS = (
    "subscribe|unsubscribe|mysubs|settings|pause|resume|forget|export|events|internships"
    "|help|start|status|sources|poll|broadcast|funders|funder"
)
_CORE_COMMAND = re.compile(rf"(?<![\w/.])/({_SUBCOMMANDS})\b")

SLACK_HELP = [
    ("/calls WORDS", "open funding calls, e.g. /calls mental health"),
    ("/glossary TERM", "explain a term, e.g. /glossary co-PI"),
    ("/deadlines", "what you follow that closes in the next 30 days"),
    ("/signpost subscribe", "alerts here: opens a form (or /signpost subscribe mental health)"),
    (
        "/signpost subscribe anxiety, for charity staff, funder:MRC, kind:events, weekly",
        "one line: topics or words, who it suits (role:vcse, early_career, "
        "established_researcher, student), a funder, a kind, daily or weekly",
    ),
    ("/signpost mysubs", "this channel's subscriptions, to edit or delete"),
    ("/signpost events", "events, webinars and networking, soonest first"),
    ("/signpost internships", "internships, placements and studentships"),
    ("/signpost funders WORDS [near PLACE]", "who has funded work like this, from 360Giving data"),
    ("/signpost funder NAME", "one funder's record: what, where, how much, how often"),
    ("/signpost settings", "time zone, glossary notes, term of the week"),
    ("/signpost pause | resume", "stop or restart alerts here"),
    ("/signpost export | forget", "everything stored about this channel, or delete it"),
]
ADMIN_HELP = ["/signpost status", "/signpost sources", "/signpost poll", "/signpost broadcast"]


@dataclass(frozen=True, slots=True)
class SlashRequest:
    """What a slash command asks for: ``kind`` is "core", "help" or "modal"."""

    kind: str
    text: str = ""
    share: bool = False


def parse_slash(command: str, text: str) -> SlashRequest:
    """``/signpost events peer support --share`` -> core "/events peer support", shared."""
    words = (text or "").split()
    share = any(word.lower() == SHARE for word in words)
    words = [word for word in words if word.lower() != SHARE]
    name = command.lstrip("/").lower()
    if name != "signpost":
        return SlashRequest("core", " ".join([f"/{name}", *words]), share)
    if not words or words[0].lower() == "help":
        return SlashRequest("help", share=share)
    sub, rest = words[0].lower().lstrip("/"), words[1:]
    if sub == "subscribe" and not rest:
        return SlashRequest("modal", share=share)
    return SlashRequest("core", " ".join([f"/{sub}", *rest]), share)


def slack_words(reply: Reply) -> Reply:
    """Rewrite "/mysubs" to "/signpost mysubs" in the core's own words (not in web text:
    sections with a link are opportunities, whose lines came from funders' pages)."""
    reply.text = _CORE_COMMAND.sub(r"/signpost \1", reply.text)
    for section in reply.sections:
        if not section.url:
            section.lines = [_CORE_COMMAND.sub(r"/signpost \1", line) for line in section.lines]
    return reply
