"""The new glossary entries in alerts: a call's text that uses the words the 2026-12 review
added gets notes for them, and the console, Telegram and Slack all show those notes, with the
"as of" date of an entry on changing policy. The transports' renderers are the real ones."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace

from bot.clock import FrozenClock
from bot.console import render as console_render
from bot.core.alerts import alert
from bot.core.model import Chat, Opportunity
from bot.core.pipeline import Vocabulary, prepare
from bot.slack.render import render as slack_render
from bot.telegram.render import render as telegram_render

NOW = datetime(2026, 12, 4, 9, tzinfo=UTC)
VOCABULARY = Vocabulary.load()
NO_DEFAULTS = SimpleNamespace(config=SimpleNamespace(topics=[], funders=[]))  # a bare source


def prepared(title: str, summary: str) -> Opportunity:
    item = Opportunity(
        source="nihr",
        external_id="x1",
        url="https://www.nihr.ac.uk/funding/example/1",
        title=title,
        summary=summary,
        funders=["NIHR"],
        closes_at=datetime(2027, 2, 1, 13, tzinfo=UTC),
    )
    item.id = 1
    prepare(item, NO_DEFAULTS, VOCABULARY, FrozenClock(NOW))
    return item


def every_transport(item: Opportunity) -> dict[str, str]:
    reply = alert(
        item, Chat("console", "c1"), why="matches mental health", glossary=VOCABULARY.glossary
    )
    return {
        "console": console_render(reply),
        "telegram": "".join(r.html for r in telegram_render(reply)),
        "slack": json.dumps([m.blocks for m in slack_render(reply)], ensure_ascii=False),
    }


def test_an_alert_explains_the_new_terms_on_every_transport():
    item = prepared(
        "Mental health trials in the NHS",
        "Charity partners may claim excess treatment costs; peer researchers need a research "
        "passport. Costs are paid at 80% of FEC.",
    )
    assert item.glossary_terms == ["excess-treatment-costs", "peer-researcher", "research-passport"]
    for name, shown in every_transport(item).items():
        assert "excess treatment costs: The extra cost of care" in shown, name
        assert "peer researcher: Someone with lived experience" in shown, name
        assert "research passport: The NHS system" in shown, name


def test_a_dated_entry_in_an_alert_says_as_of():
    item = prepared(
        "Evaluating services commissioned under the Provider Selection Regime",
        "A study of how ICBs choose providers.",
    )
    assert item.glossary_terms[0] == "provider-selection-regime"
    for name, shown in every_transport(item).items():
        assert "since 1 January 2024" in shown, name
        assert "(as of December 2026)" in shown, name


def test_an_audit_is_not_mistaken_for_the_glossary_term():
    """'audit' is an everyday word (skip_in_text): only 'service evaluation' names the entry."""
    plain = prepared("Audit of charity accounts", "An audit of spending.")
    assert "service-evaluation" not in plain.glossary_terms
    named = prepared("Service evaluation support", "Help with a service evaluation.")
    assert named.glossary_terms == ["service-evaluation"]
