"""Hostile input, as a table, over every command and every button, on both databases.

Each row once reached the catch-all (the user saw an apology, the log a traceback) or could:
digits ``isdigit()`` accepts but ``int()`` refuses ("²"), ids past PostgreSQL's integer, NUL
(PostgreSQL refuses it in text and jsonb), lone surrogates (no UTF-8 or UTF-16 encoding),
control and bidi characters, very long text, quotes and format strings. Every command and
button must answer each in words, log no error, and send back only encodable text.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.clock import FrozenClock
from bot.core.commands import Commands
from bot.core.context import Context, Services
from bot.core.model import Chat, Opportunity
from bot.core.pipeline import Vocabulary

NOW = datetime(2025, 3, 28, 12, tzinfo=UTC)

HOSTILE = [
    "²",
    "٣",
    "１２",
    "99999999999999999999999",
    "2147483648",
    "-1",
    "0",
    "1e3",
    "\x00",
    "a\x00b",
    "\ud800",
    "x\udcff",
    "\u202e\u0007",
    " ",
    "x" * 5000,
    '"',
    "“unclosed",
    "%s {0} ${x}",
    "'; DROP TABLE chats; --",
]
# Commands whose first word chooses a sub-command: the hostile value goes after it.
FORMS = [
    "/settings hour {}",
    "/settings timezone {}",
    "/glossary done {}",
    "/glossary suggest {}",
    "/glossary add {} | {} | {}",
    "/unsubscribe {}",
    "/deadlines {}",
    "/start topic-{}",
    "/forget {}",
    "/poll {}",
    "/broadcast {}",
    "/subscribe role:{}",
    "/subscribe kind:{}",
    "/subscribe funder:{}",
    "/subscribe for {}",
    '/calls "{}"',
]
BUTTONS = [
    "more:call:{}:x",
    "more:{}:5:x",
    "more:event:5:{}",
    "remind:{}",
    "dismiss:{}",
    "unsub:{}",
    "edit:{}",
    "sub:t:{}:-:-:0",
    "sub:s:1:{}:instant:0",
    "sub:s:1:any:instant:{}",
    "sub:{}:0:-:-:0",
    "sub:t{}:0:-:-:0",
    "sub:p{}:0:-:-:0",
    "set:{}",
    "glossary:{}",
    "calendar:{}",
    "forget:{}",
    "{}",
    "{}:{}",
]


@pytest.fixture
async def setup(store):
    vocabulary = Vocabulary.load()
    services = Services(store, FrozenClock(NOW), vocabulary, source_names=lambda: ["ukri"])
    async with store.unit() as unit:
        chat = await unit.chats.ensure(Chat("telegram", "-100", kind="supergroup"), now=NOW)
        await unit.opportunities.upsert(
            Opportunity(
                source="t",
                external_id="1",
                url="https://example.org/1",
                title="Peer support research",
                topics=["peer-support"],
                closes_at=datetime(2025, 5, 1, 15, tzinfo=UTC),
            ),
            now=NOW,
        )
    commands = Commands(services)
    await commands.handle(Context(chat, "u1"), "/subscribe peer support, daily")
    return commands, chat


def _problems(reply, what: str) -> list[str]:
    plain = reply.plain() + " ".join(b.label + (b.action or "") for b in reply.buttons)
    found = []
    if not (reply.text or reply.sections or reply.attachment):
        found.append(f"{what!r}: an empty answer")
    if "something went wrong" in plain.lower():
        found.append(f"{what!r}: the catch-all answered")
    try:
        plain.encode("utf-8")
    except UnicodeEncodeError:
        found.append(f"{what!r}: the answer cannot be encoded")
    if "\x00" in plain:
        found.append(f"{what!r}: the answer holds a NUL")
    return found


async def test_every_command_and_button_answers_hostile_input_in_words(setup, caplog):
    commands, chat = setup
    caplog.set_level(logging.ERROR)
    typed = [f"/{name} {value}" for name in sorted(commands.handlers) for value in HOSTILE]
    typed += [form.format(*[value] * form.count("{}")) for form in FORMS for value in HOSTILE]
    pressed = [b.format(*[value] * b.count("{}")) for b in BUTTONS for value in HOSTILE]
    problems = []
    for can_manage, is_admin in ((True, True), (False, False)):
        ctx = Context(chat, "u1", can_manage=can_manage, is_admin=is_admin)
        for text in typed:
            problems += _problems(await commands.handle(ctx, text), text)
        for action in pressed:
            problems += _problems(await commands.press(ctx, action), action)
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert problems == []
    assert errors == []
    assert len(typed) + len(pressed) > 900  # the table really covers every command and button


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/unsubscribe ²", "There is no subscription “²”"),
        ("/settings hour ²", "not a number I can use: “²”"),
        ("/settings hour 24", "not a number I can use: “24”"),
        ("/deadlines ²", "not a number I can use: “²”"),
        ("/deadlines 1000", "1 to 120"),
    ],
)
async def test_numbers_that_cannot_be_used_are_named_with_how_to_write_one(setup, text, expected):
    commands, chat = setup
    reply = await commands.handle(Context(chat, "u1"), text)
    assert expected in reply.text


async def test_glossary_done_with_an_unusable_number_says_so(setup):
    commands, chat = setup
    reply = await commands.handle(Context(chat, "u1", is_admin=True), "/glossary done ²")
    assert "not a number I can use" in reply.text


@pytest.mark.parametrize(
    "action", ["remind:²", "remind:99999999999999999999999", "unsub:²", "edit:²", "more:call:²:x"]
)
async def test_buttons_with_unusable_ids_have_expired(setup, action):
    commands, chat = setup
    assert "expired" in (await commands.press(Context(chat, "u1"), action)).text


async def test_a_nul_in_a_glossary_suggestion_is_dropped_not_refused(setup, store):
    commands, chat = setup
    reply = await commands.handle(Context(chat, "u1"), "/glossary suggest back\x00fill")
    assert "saved" in reply.text
    async with store.unit() as unit:
        [suggestion] = await unit.glossary.open_suggestions()
    assert suggestion.text == "backfill"


async def test_a_lone_surrogate_typed_never_reaches_storage(setup, store):
    commands, chat = setup
    await commands.handle(Context(chat, "u1"), "/subscribe caf\udce9 work")
    async with store.unit() as unit:
        keywords = [k for s in await unit.chats.subscriptions(chat.id) for k in s.keywords]
    assert keywords == ["caf work"]


async def test_a_surrogate_stored_before_cleaning_no_longer_breaks_mysubs(
    setup, store, database_url
):
    """SQLite kept such a keyword (JSON escapes it); PostgreSQL's jsonb refuses it."""
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL never stored a lone surrogate")
    from bot.core.model import Subscription

    commands, chat = setup
    async with store.unit() as unit:
        await unit.chats.add_subscription(
            Subscription(chat_id=chat.id, keywords=["caf\udce9"]), now=NOW
        )
    reply = await commands.handle(Context(chat, "u1"), "/mysubs")
    reply.plain().encode("utf-8")  # raised before
    assert "caf\ufffd" in reply.plain()
    export = await commands.handle(Context(chat, "u1"), "/export")
    assert "caf\ufffd" in export.attachment[1].decode("utf-8")


# Every code point, surrogates and controls included (hypothesis leaves surrogates out
# unless asked), in button data shaped like ours and in free text after a command.
ANY_CHAR = st.characters(exclude_categories=())
PREFIXES = st.sampled_from([b.split("{}")[0] for b in BUTTONS] + ["/calls ", "/subscribe "])


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(prefix=PREFIXES, tail=st.text(alphabet=ANY_CHAR, max_size=80))
async def test_no_button_or_command_text_reaches_the_catch_all(setup, prefix, tail):
    commands, chat = setup
    ctx = Context(chat, "u1", is_admin=True)
    text = prefix + tail
    typed = text.startswith("/")
    reply = await (commands.handle(ctx, text) if typed else commands.press(ctx, text))
    assert _problems(reply, text) == []
