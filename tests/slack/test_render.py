"""Core replies as Block Kit: escaping, Slack's limits, splitting, buttons, views.

Every rendering is checked with the fake's ``validate_blocks``, the same rules the fake
Web API applies to chat.postMessage, so "valid here" means "Slack would accept it".
"""

from __future__ import annotations

import json
import re

import pytest

from bot.core.replies import Button, Reply, Section, split_sections
from bot.slack.render import (
    MAX_BLOCKS,
    MAX_SECTION_CHARS,
    escape,
    measure,
    render,
    render_small,
    section_text,
    truncate,
)
from tests.helpers.fake_slack import validate_blocks
from tests.slack.blocks import buttons, item, texts

HOSTILE = [
    "<script>alert(1)</script>",
    "Research & Innovation",
    "<!channel> urgent",
    "<!here|here> <@U123> <#C123>",
    "<https://evil.example|click me>",
    "T" * 5000,
]


def test_escape_covers_the_three_control_characters() -> None:
    assert escape("a & b < c > d") == "a &amp; b &lt; c &gt; d"
    assert escape("&amp;") == "&amp;amp;"  # web text is escaped once, as it came


@pytest.mark.parametrize("title", HOSTILE)
def test_hostile_titles_are_escaped_and_fit(title: str) -> None:
    reply = Reply(
        text=f"New funding call: {title}",
        sections=[item(1, heading=title, lines=[title], note=title)],
    )
    [message] = render(reply)
    assert validate_blocks(message.blocks) == []
    for text in [*texts(message.blocks), message.text]:
        assert "<!channel>" not in text and "<script>" not in text and "<@U123>" not in text
        assert "<https://evil" not in text
        assert len(text) <= MAX_SECTION_CHARS
    [body] = [t for t in texts(message.blocks) if t.startswith("*<")]
    # The only raw "<" opens our own link to the item.
    assert body.count("<") == 1 and body.startswith("*<https://funder.example/calls/1|")
    assert escape(title)[:100] in "".join(texts(message.blocks))


def test_a_five_thousand_character_title_is_cut_not_split() -> None:
    [message] = render(Reply(sections=[item(1, heading="x" * 5000, lines=["y" * 5000])]))
    assert validate_blocks(message.blocks) == []
    assert len([b for b in message.blocks if b["type"] == "section"]) == 1
    assert texts(message.blocks)[0].endswith("…")


def test_truncation_never_leaves_half_an_entity() -> None:
    escaped = escape("&" * 2000)  # 10,000 characters of "&amp;"
    cut = truncate(escaped, MAX_SECTION_CHARS)
    assert len(cut) <= MAX_SECTION_CHARS and cut.endswith("&amp;…")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://x.example/a?b=1&c=2", "*<https://x.example/a?b=1&amp;c=2|T>*"),
        ("https://x.example/a|b>c", "*<https://x.example/a%7Cb&gt;c|T>*"),
        ("javascript:alert(1)", "*T*"),
        (None, "*T*"),
    ],
)
def test_links_are_http_only_and_escaped(url: str | None, expected: str) -> None:
    assert section_text(Section(heading="T", url=url)) == expected


# --------------------------------------------------------------------------- layout


def test_a_result_list_has_a_header_sections_notes_and_buttons() -> None:
    reply = Reply(
        text="Open calls for “mental health” (1–2 of 2)",
        sections=[item(1), item(2)],
        buttons=[Button("More", action="more:call:5:mental health")],
    )
    [message] = render(reply)
    kinds = [block["type"] for block in message.blocks]
    assert kinds == ["header", *["section", "context", "actions"] * 2, "actions"]
    assert message.blocks[0]["text"]["type"] == "plain_text"
    assert message.text.startswith("Open calls for “mental health”")
    assert "Call 1" in message.text and "Call 2" in message.text
    pressed = buttons(message.blocks)
    assert [b.get("value") for b in pressed] == [
        "remind:1",
        "dismiss:1",
        None,
        "remind:2",
        "dismiss:2",
        None,
        "more:call:5:mental health",
    ]
    assert pressed[2]["url"] == "https://funder.example/calls/1"
    ids = [b["action_id"] for b in pressed]
    assert len(set(ids)) == len(ids) and all(i.startswith("signpost-") for i in ids)


def test_a_plain_answer_is_a_section_not_a_header() -> None:
    [message] = render(Reply(text="Alerts paused. /resume starts them again."))
    assert [b["type"] for b in message.blocks] == ["section"]
    assert message.text == "Alerts paused. /resume starts them again."


def test_sixty_sections_split_at_section_boundaries() -> None:
    reply = Reply(
        text="Your digest: 60 new matches",
        sections=[item(n, lines=["z" * 2000]) for n in range(60)],
        buttons=[Button("More", action="more:call:60:x")],
    )
    messages = render(reply)
    assert len(messages) > 1
    seen = []
    for number, message in enumerate(messages):
        assert len(message.blocks) <= MAX_BLOCKS
        assert validate_blocks(message.blocks) == []
        assert (message.blocks[0]["type"] == "header") == (number == 0)
        # every item is whole: its section, note and buttons travel together
        for i, block in enumerate(message.blocks):
            if block["type"] == "section":
                assert message.blocks[i + 1]["type"] == "context"
                assert message.blocks[i + 2]["type"] == "actions"
        seen += [b["value"] for b in buttons(message.blocks) if b.get("value", "").startswith("r")]
        assert message.text and len(message.text) <= 3000
    assert seen == [f"remind:{n}" for n in range(60)]
    assert buttons(messages[-1].blocks)[-1]["value"] == "more:call:60:x"
    assert all("more:" not in json.dumps(m.blocks) for m in messages[:-1])


def test_the_dispatchers_split_uses_slack_measure() -> None:
    reply = Reply(sections=[item(n, lines=["w" * 2500]) for n in range(60)])
    chunks = split_sections(reply, limit=40_000, measure=measure)
    assert len(chunks) > 1 and sum(len(c.sections) for c in chunks) == 60


def test_more_than_twenty_five_buttons_use_several_actions_blocks() -> None:
    reply = Reply(text="Pick", buttons=[Button(f"T{n}", action=f"sub:t:{n}") for n in range(33)])
    [message] = render(reply)
    rows = [b for b in message.blocks if b["type"] == "actions"]
    assert [len(r["elements"]) for r in rows] == [25, 8]
    assert validate_blocks(message.blocks) == []


def test_long_button_labels_and_oversized_values() -> None:
    reply = Reply(
        text="x", buttons=[Button("L" * 200, action="remind:1"), Button("bad", action="v" * 3000)]
    )
    [message] = render(reply)
    [only] = buttons(message.blocks)
    assert len(only["text"]["text"]) == 75 and only["value"] == "remind:1"


def test_an_export_becomes_code_blocks() -> None:
    data = {"chat": {"title": "<!channel> & co"}, "subscriptions": [{"id": n} for n in range(400)]}
    content = json.dumps(data, indent=2).encode()
    reply = Reply(text="Everything stored", attachment=("signpost-export.json", content))
    messages = render(reply)
    joined = "".join(t for m in messages for t in texts(m.blocks))
    assert "```" in joined and "&lt;!channel&gt; &amp; co" in joined
    assert all(validate_blocks(m.blocks) == [] for m in messages)


def test_an_export_full_of_ampersands_still_fits() -> None:
    content = json.dumps({"note": "&<>" * 3000}).encode()
    messages = render(Reply(text="Export", attachment=("e.json", content)))
    for message in messages:
        assert validate_blocks(message.blocks) == []
        for text in texts(message.blocks):
            assert not re.search(r"&[a-z]{0,3}(```)?$", text.removesuffix("```"))
    joined = "".join(t.strip("`") for m in messages for t in texts(m.blocks)[1:])
    assert joined.count("&amp;") == 3000 and joined.count("&lt;") == 3000


def test_render_small_puts_one_item_per_message() -> None:
    reply = Reply(text="Digest", sections=[item(n) for n in range(3)])
    messages = render_small(reply)
    assert len(messages) == 4
    assert all(len(m.blocks) <= 10 for m in messages)
    assert all(b["type"] != "context" for m in messages[1:] for b in m.blocks)


# --------------------------------------------------------------------------- views
