"""Reply -> Telegram HTML and keyboards, checked with the fake server's own HTML parser.

``parse_telegram_html`` is the fake's port of Telegram's parser in strict mode (a bare ``&`` is
refused), so "it parses" here means Telegram accepts it; lengths are checked on the text it
shows, in UTF-16 code units, as Telegram counts them.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.clock import SystemClock
from bot.core.context import Services
from bot.core.pipeline import Vocabulary
from bot.core.replies import Button, Reply, Section
from bot.core.subscribe import topics_step
from bot.telegram.render import (
    FALLBACK_TEXT,
    MAX_CHARS,
    keyboard,
    measure,
    render,
    safe_url,
    visible,
)
from tests.helpers.fake_telegram import parse_telegram_html, utf16_length

HOSTILE = '<script>alert("x")</script> R&D & <b>unclosed <i>tag &amp; &nbsp; </a>'


def shown(html: str) -> str:
    """The text Telegram would show; raises if Telegram would refuse the HTML."""
    text, _ = parse_telegram_html(html)
    return text


def rows(reply: Reply) -> list[list[tuple[str, str | None, str | None]]]:
    markup = keyboard(reply)
    assert markup is not None
    return [[(b.text, b.callback_data, b.url) for b in row] for row in markup.inline_keyboard]


# --------------------------------------------------------------------------- text


def test_hostile_web_text_is_escaped_and_shown_literally() -> None:
    reply = Reply(
        text="Results for <b>",
        sections=[Section(heading=HOSTILE, url="https://x.org/a?b=1&c=2", lines=[HOSTILE])],
    )
    (message,) = render(reply)
    text, entities = parse_telegram_html(message.html)
    assert text == f"Results for <b>\n\n{HOSTILE}\n{HOSTILE}"
    link = next(e for e in entities if e["type"] == "text_link")
    assert link["url"] == "https://x.org/a?b=1&c=2"
    assert {e["type"] for e in entities} == {"bold", "text_link"}  # nothing from the web text


def test_heading_is_a_bold_link_and_the_note_is_italic() -> None:
    section = Section(heading="Call", url="https://ukri.org/x", lines=["Closes soon"], note="PI: …")
    (message,) = render(Reply(sections=[section]))
    assert message.html == '<b><a href="https://ukri.org/x">Call</a></b>\nCloses soon\n<i>PI: …</i>'


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "data:text/html,<b>x</b>",
        "ftp://files.example/x",
        "/relative/path",
        "https://",
        "https://x.org/a b",
        "https://x.org/\nnext",
        "",
        None,
    ],
)
def test_only_absolute_http_urls_become_links(url: str | None) -> None:
    (message,) = render(Reply(sections=[Section(heading="Title", url=url)]))
    _, entities = parse_telegram_html(message.html)
    assert [e["type"] for e in entities] == ["bold"]
    assert safe_url(url) is None


def test_quotes_in_a_url_cannot_break_out_of_the_href() -> None:
    url = 'https://x.org/?q="><script>&x=1'
    (message,) = render(Reply(sections=[Section(heading="T", url=url)]))
    assert 'href="https://x.org/?q=&quot;&gt;&lt;script&gt;&amp;x=1"' in message.html
    _, entities = parse_telegram_html(message.html)
    assert next(e["url"] for e in entities if e["type"] == "text_link") == url


def test_a_5000_character_hostile_title_is_cut_without_breaking_tags() -> None:
    title = ("<b>&" * 1250)[:5000]
    reply = Reply(text="New call", sections=[Section(heading=title, url="https://x.org/")])
    (message,) = render(reply)
    text = shown(message.html)  # parses: every tag still closed, every entity whole
    assert utf16_length(text) <= MAX_CHARS
    assert message.visible == utf16_length(text)
    assert text.endswith("…") and text.startswith("New call\n\n<b>&<b>&")


def test_utf16_is_what_counts() -> None:
    """An emoji is two code units for Telegram: 3000 of them are 6000 units."""
    (message,) = render(Reply(sections=[Section(heading="😀" * 3000)]))
    text = shown(message.html)
    assert len(text) < utf16_length(text) <= MAX_CHARS
    assert "\ud83d" not in text  # never half a surrogate pair


def test_long_replies_split_between_sections_never_inside_one() -> None:
    sections = [
        Section(heading=f"Item {n} & co", url=f"https://x.org/{n}", lines=["x" * 400])
        for n in range(30)
    ]
    reply = Reply(text="Your digest", sections=sections, buttons=[Button("More", "more:call:5:")])
    messages = render(reply)
    assert len(messages) > 1
    texts = [shown(m.html) for m in messages]
    assert all(utf16_length(t) <= MAX_CHARS for t in texts)
    assert texts[0].startswith("Your digest") and not texts[1].startswith("Your digest")
    for n in range(30):
        assert sum(f"Item {n} & co\n" in t for t in texts) == 1
    assert [m.markup is not None for m in messages] == [False] * (len(messages) - 1) + [True]


def test_measure_covers_what_a_section_adds() -> None:
    sections = [Section(heading=f"{n}. <T>", lines=["a & b", "😀"], note="n") for n in range(5)]
    (message,) = render(Reply(sections=sections))
    assert utf16_length(shown(message.html)) <= sum(measure(s) for s in sections)


def test_link_previews_follow_the_reply() -> None:
    assert render(Reply(text="x"))[0].link_previews is False
    assert render(Reply(text="x", link_previews=True))[0].link_previews is True


def test_a_reply_with_only_buttons_still_has_text_and_an_empty_one_sends_nothing() -> None:
    (message,) = render(Reply(buttons=[Button("Go", action="go")]))
    assert message.html == FALLBACK_TEXT
    assert render(Reply()) == []


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.text(max_size=1500), st.lists(st.text(max_size=700), max_size=4)),
        min_size=1,
        max_size=8,
    ),
    st.text(max_size=300),
)
def test_any_text_renders_to_html_telegram_accepts(
    items: list[tuple[str, list[str]]], head: str
) -> None:
    reply = Reply(
        text=head,
        sections=[Section(heading=h, url="https://x.org/?a=1&b=2", lines=ls) for h, ls in items],
    )
    for message in render(reply):
        assert utf16_length(shown(message.html)) <= MAX_CHARS
        assert message.visible <= MAX_CHARS


# --------------------------------------------------------------------------- keyboards


def test_actions_become_callback_buttons_and_urls_url_buttons() -> None:
    reply = Reply(
        text="x",
        buttons=[
            Button("Remind me", action="remind:12"),
            Button("Open", url="https://ukri.org/x"),
            Button("Bad", url="javascript:alert(1)"),
            Button("Too long", action="more:call:5:" + "é" * 30),
        ],
    )
    assert rows(reply) == [[("Remind me", "remind:12", None), ("Open", None, "https://ukri.org/x")]]


def test_buttons_of_several_sections_are_numbered_like_their_items() -> None:
    def item(n: int) -> Section:
        return Section(heading=f"Call {n}", buttons=[Button("Remind me", action=f"remind:{n}")])

    reply = Reply(sections=[item(1), item(2)], buttons=[Button("More", action="more:call:2:")])
    (message,) = render(reply)
    assert shown(message.html) == "1. Call 1\n\n2. Call 2"
    assert rows(reply) == [
        [("1 · Remind me", "remind:1", None)],
        [("2 · Remind me", "remind:2", None)],
        [("More", "more:call:2:", None)],
    ]
    mysubs = Reply(
        sections=[
            Section(heading=f"{n}. mental health", buttons=[Button("Delete", f"unsub:{n}")])
            for n in (1, 2)
        ]
    )
    assert shown(render(mysubs)[0].html) == "1. mental health\n\n2. mental health"


def test_section_buttons_stop_at_eight_rows_but_the_replys_own_always_show() -> None:
    sections = [Section(heading=f"S{n}", buttons=[Button("Go", f"go:{n}")]) for n in range(12)]
    reply = Reply(sections=sections, buttons=[Button("More", "more:call:12:")])
    laid_out = rows(reply)
    assert len(laid_out) == 8
    assert laid_out[-1] == [("More", "more:call:12:", None)]


def test_subscribe_topics_come_two_a_row_with_navigation_after() -> None:
    services = Services(store=None, clock=SystemClock(), vocabulary=Vocabulary.load())  # type: ignore[arg-type]
    reply = topics_step(0, services, edit=False)
    laid_out = rows(reply)
    assert [len(r) for r in laid_out[:-1]] == [2] * 6  # a page of twelve topics
    assert [label for label, _, _ in laid_out[-1]] == ["More topics ›", "Next ›"]
    assert all(len(data.encode()) <= 64 for row in laid_out for _, data, _ in row if data)


def test_no_buttons_no_keyboard() -> None:
    assert keyboard(Reply(text="x")) is None
    assert visible("😀a") == 3


def test_a_lone_surrogate_renders_as_a_replacement_character() -> None:
    """A keyword stored with a lone surrogate (a console's undecodable byte) made
    ``visible`` raise, so /mysubs failed in that chat on every later call."""
    reply = Reply(
        text="Subscriptions here (1):",
        sections=[Section(heading="1. words: “caf\udce9”", lines=["x\ud800"])],
        buttons=[Button("caf\udce9", action="unsub:1")],
    )
    assert measure(reply.sections[0]) > 0
    [message] = render(reply)
    message.html.encode("utf-8")
    assert "caf\ufffd" in message.html and "x\ufffd" in message.html
    assert message.visible == utf16_length(parse_telegram_html(message.html)[0])
    assert message.markup.inline_keyboard[0][0].text == "caf\ufffd"
