"""The Slack views: the subscription modal and the App Home tab stay within Block Kit's limits."""

from __future__ import annotations

import json

from bot.core.model import Chat, Subscription
from bot.slack.views import home_view, read_subscription, subscribe_modal
from tests.helpers.fake_slack import validate_blocks
from tests.slack.blocks import item, texts
from tests.slack.support import form


def test_subscribe_modal_for_a_new_and_an_edited_subscription() -> None:
    topics = [("mental-health", "Mental health (general)"), ("peer-support", "Peer support")]
    chat = Chat("slack", "C0GENERAL", kind="channel", title="general", id=7)
    fresh = subscribe_modal(topics, chat)
    assert json.loads(fresh["private_metadata"]) == {"chat": 7, "edit": 0}
    assert "#general" in texts(fresh["blocks"])[0]
    ids = [b.get("block_id") for b in fresh["blocks"]]
    assert ids == [None, "topics", "keywords", "roles", "kinds", "funders", "mode"]
    assert validate_blocks(fresh["blocks"], max_items=100) == []
    old = Subscription(
        chat_id=7, topics=["peer-support"], funders=["MRC"], roles=["vcse"], mode="weekly", id=3
    )
    edited = subscribe_modal(topics, chat, existing=old)
    blocks = {b.get("block_id"): b for b in edited["blocks"]}
    assert json.loads(edited["private_metadata"]) == {"chat": 7, "edit": 3}
    assert [o["value"] for o in blocks["topics"]["element"]["initial_options"]] == ["peer-support"]
    assert blocks["funders"]["element"]["initial_value"] == "MRC"
    assert blocks["mode"]["element"]["initial_option"]["value"] == "weekly"
    assert edited["submit"]["text"] == "Save"


def test_home_view_stays_within_a_hundred_blocks() -> None:
    groups = [(f"#team-{n} <!here>", [f"sub {i}" for i in range(5)]) for n in range(80)]
    deadlines = [item(n) for n in range(40)]
    view = home_view(groups, deadlines, ["Time zone: Europe/London"], dm_channel="D0ME")
    assert view["type"] == "home" and len(view["blocks"]) <= 100
    assert validate_blocks(view["blocks"], max_items=100) == []
    assert "<!here>" not in json.dumps(view)


def test_read_subscription_validates() -> None:
    slugs = {"mental-health", "peer-support"}
    fields, errors = read_subscription(form(["peer-support", "bogus"], funders="mrc, NIHR"), slugs)
    assert errors == {}
    assert fields["topics"] == ["peer-support"] and fields["funders"] == ["MRC", "NIHR"]
    _, errors = read_subscription(form(), slugs)
    assert set(errors) == {"topics"}
    _, errors = read_subscription(form(["peer-support"], mode="hourly"), slugs)
    assert set(errors) == {"mode"}
    _, errors = read_subscription(form(keywords=",".join("w" * 3 for _ in range(11))), slugs)
    assert set(errors) == {"keywords"}
    _, errors = read_subscription(form(funders="x" * 61), slugs)
    assert set(errors) == {"funders"}


# --------------------------------------------------------------------------- queries


def test_read_subscription_cleans_what_the_form_carried() -> None:
    fields, errors = read_subscription(
        form(["peer-support"], keywords="link\x00 workers, caf\udce9", funders="MRC\x07"),
        {"peer-support"},
    )
    assert errors == {}
    assert fields["keywords"] == ["link workers", "caf"]
    assert fields["funders"] == ["MRC"]
