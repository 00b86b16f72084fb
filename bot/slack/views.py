"""Slack views: the subscription modal (built, and its submission read) and the App Home tab.

They are Block Kit like messages, but views have their own limits (100 blocks, a 24-character
title) and carry state in ``private_metadata``, so they live apart from message rendering;
escaping and truncation come from ``bot.slack.render``, the one place that does them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bot.core.arguments import clean_text
from bot.core.model import KINDS, MODES, ROLES, Chat, Subscription
from bot.core.replies import Section
from bot.core.subscribe import MODE_NAMES, ROLE_NAMES
from bot.slack.render import (
    ACTION_PREFIX,
    MAX_BUTTON_LABEL,
    MAX_HEADER_CHARS,
    MAX_SECTION_CHARS,
    MAX_VIEW_BLOCKS,
    escape,
    mrkdwn_block,
    plain_text,
    section_text,
    truncate,
)
from sources.funders import canonical_funder

__all__ = [
    "KIND_LABELS",
    "MODAL_CALLBACK",
    "MODE_LABELS",
    "ROLE_LABELS",
    "home_view",
    "read_subscription",
    "subscribe_modal",
]

ROLE_LABELS = ROLE_NAMES
MODE_LABELS = MODE_NAMES
KIND_LABELS = {
    "call": "Funding calls",
    "internship": "Internships",
    "event": "Events",
    "news": "News",
}
MODAL_CALLBACK = "signpost-subscribe"


def _option(value: str, label: str) -> dict[str, Any]:
    return {"text": plain_text(label, 75), "value": value}


def _input(block_id: str, label: str, element: dict[str, Any], *, optional: bool, hint: str = ""):
    block = {
        "type": "input",
        "block_id": block_id,
        "label": plain_text(label, 2000),
        "optional": optional,
        "element": {"action_id": "value", **element},
    }
    if hint:
        block["hint"] = plain_text(hint, 2000)
    return block


def _choices(kind: str, labels: dict[str, str], chosen: Sequence[str]) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": kind,
        "options": [_option(v, label) for v, label in labels.items()],
    }
    initial = [_option(v, labels[v]) for v in chosen if v in labels]
    if initial:
        element["initial_options"] = initial
    return element


def subscribe_modal(
    topics: Sequence[tuple[str, str]],
    chat: Chat,
    *,
    existing: Subscription | None = None,
) -> dict[str, Any]:
    """The subscription form for ``chat``. ``private_metadata`` carries the stored chat id
    (and the subscription being replaced) so the submission needs no server-side state."""
    sub = existing or Subscription(chat_id=chat.id or 0)
    where = "your direct messages" if chat.kind == "dm" else f"#{chat.title or 'this channel'}"
    labels = dict(topics)
    topic_element = _choices("multi_static_select", labels, sub.topics)
    topic_element["placeholder"] = plain_text("Choose topics", 150)
    mode = sub.mode if sub.mode in MODE_LABELS else "instant"
    mode_element = _choices("radio_buttons", MODE_LABELS, [])
    mode_element["initial_option"] = _option(mode, MODE_LABELS[mode])
    funders = {"type": "plain_text_input", "max_length": 300}
    if sub.funders:
        funders["initial_value"] = ", ".join(sub.funders)
    words = {"type": "plain_text_input", "max_length": 300}
    if sub.keywords:
        words["initial_value"] = ", ".join(sub.keywords)
    meta = {"chat": chat.id, "edit": existing.id if existing and existing.id else 0}
    return {
        "type": "modal",
        "callback_id": MODAL_CALLBACK,
        "title": plain_text("Signpost alerts", 24),
        "submit": plain_text("Save" if existing else "Subscribe", 24),
        "close": plain_text("Cancel", 24),
        "private_metadata": json.dumps(meta),
        "blocks": [
            mrkdwn_block(truncate(f"Alerts for {escape(where)}.", MAX_SECTION_CHARS)),
            _input("topics", "Topics", topic_element, optional=True),
            _input(
                "keywords",
                "Other words",
                words,
                optional=True,
                hint="Comma separated, e.g. peer support, co-production",
            ),
            _input("roles", "Suits", _choices("checkboxes", ROLE_LABELS, sub.roles), optional=True),
            _input("kinds", "Kinds", _choices("checkboxes", KIND_LABELS, sub.kinds), optional=True),
            _input(
                "funders", "Funders", funders, optional=True, hint="Comma separated, e.g. MRC, NIHR"
            ),
            _input("mode", "How often", mode_element, optional=False),
        ],
    }


def home_view(
    groups: Sequence[tuple[str, Sequence[str]]],
    deadlines: Sequence[Section],
    settings: Sequence[str],
    *,
    dm_channel: str,
) -> dict[str, Any]:
    """The App Home tab: subscriptions per chat, what closes soon, this DM's settings."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": plain_text("Signpost", MAX_HEADER_CHARS)},
        mrkdwn_block(
            "UK research funding calls, internships and events. Try `/calls mental health`, "
            "`/glossary co-PI`, or `/signpost subscribe` in a channel."
        ),
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": plain_text("Subscribe in my DMs", MAX_BUTTON_LABEL),
                    "action_id": f"{ACTION_PREFIX}home-subscribe",
                    "value": "home:subscribe",
                    "style": "primary",
                }
            ],
        },
        {"type": "divider"},
        {"type": "header", "text": plain_text("Your subscriptions", MAX_HEADER_CHARS)},
    ]
    if not groups:
        blocks.append(mrkdwn_block("None yet."))
    for title, lines in groups[:30]:
        body = [f"*{escape(title)}*"] + [f"• {escape(line)}" for line in lines or ["none"]]
        blocks.append(mrkdwn_block(truncate("\n".join(body), MAX_SECTION_CHARS)))
    blocks += [
        {"type": "divider"},
        {"type": "header", "text": plain_text("Closing in the next 30 days", MAX_HEADER_CHARS)},
    ]
    blocks += [mrkdwn_block(section_text(s)) for s in deadlines[:20]] or [
        mrkdwn_block("Nothing you follow closes in the next 30 days.")
    ]
    blocks += [
        {"type": "divider"},
        {"type": "header", "text": plain_text("Settings for your DMs", MAX_HEADER_CHARS)},
        mrkdwn_block(truncate(escape("\n".join(settings)), MAX_SECTION_CHARS)),
    ]
    return {
        "type": "home",
        "private_metadata": json.dumps({"dm": dm_channel}),
        "blocks": blocks[:MAX_VIEW_BLOCKS],
    }


MAX_LIST_ITEMS = 10
MAX_ITEM_CHARS = 60


def _split_list(raw: str | None) -> list[str]:
    """A form field's comma list, cleaned like typed commands (no NUL for PostgreSQL)."""
    items = clean_text(raw).replace(";", ",").split(",")
    return [item.strip() for item in items if item.strip()]


def read_subscription(
    values: dict[str, Any], topic_slugs: set[str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The modal's ``state.values`` as Subscription fields, or errors keyed by block id
    (Slack shows each under its input)."""

    def state(block: str) -> dict[str, Any]:
        return (values.get(block) or {}).get("value") or {}

    def chosen(block: str) -> list[str]:
        return [o.get("value", "") for o in state(block).get("selected_options") or []]

    errors: dict[str, str] = {}
    fields: dict[str, Any] = {
        "topics": [t for t in chosen("topics") if t in topic_slugs],
        "roles": [r for r in chosen("roles") if r in ROLES],
        "kinds": [k for k in chosen("kinds") if k in KINDS],
        "keywords": _split_list(state("keywords").get("value")),
        "funders": _split_list(state("funders").get("value")),
        "mode": (state("mode").get("selected_option") or {}).get("value"),
    }
    for block in ("keywords", "funders"):
        items = fields[block]
        if len(items) > MAX_LIST_ITEMS:
            errors[block] = f"At most {MAX_LIST_ITEMS}, separated by commas."
        elif any(len(item) > MAX_ITEM_CHARS for item in items):
            errors[block] = f"Each at most {MAX_ITEM_CHARS} characters; separate them by commas."
    fields["funders"] = [canonical_funder(f) for f in fields["funders"]]
    if fields["mode"] not in MODES:
        errors["mode"] = "Choose how often you want alerts."
    if not any(fields[name] for name in ("topics", "keywords", "funders", "kinds", "roles")):
        errors["topics"] = "Choose at least one topic, or fill in words, funders or kinds below."
    return fields, errors
