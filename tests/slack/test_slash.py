"""Slack's slash commands read into core commands (``bot/slack/slash.py``)."""

from __future__ import annotations

import pytest

from bot.slack.slash import parse_slash


@pytest.mark.parametrize(
    ("command", "text", "expected"),
    [
        ("/calls", "mental health", ("core", "/calls mental health", False)),
        ("/calls", "mental health --share", ("core", "/calls mental health", True)),
        ("/glossary", "co-PI", ("core", "/glossary co-PI", False)),
        ("/deadlines", "", ("core", "/deadlines", False)),
        ("/signpost", "", ("help", "", False)),
        ("/signpost", "HELP --share", ("help", "", True)),
        ("/signpost", "subscribe", ("modal", "", False)),
        ("/signpost", "subscribe mental health", ("core", "/subscribe mental health", False)),
        ("/signpost", "events peer support", ("core", "/events peer support", False)),
        ("/signpost", "forget yes", ("core", "/forget yes", False)),
    ],
)
def test_parse_slash(command: str, text: str, expected: tuple) -> None:
    request = parse_slash(command, text)
    assert (request.kind, request.text, request.share) == expected
