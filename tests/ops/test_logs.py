"""Logs never carry a secret, whether we log it or a library does."""

from __future__ import annotations

import io
import json
import logging

from bot.ops.logs import configure_logging

TELEGRAM_TOKEN = "7654321:AAFakeTokenForTestsOnly_abcdefghijklmno"
SLACK_TOKEN = "xoxb-1111-2222-FakeTokenForTests"
APP_TOKEN = "xapp-1-A0-" + "x" * 20


def test_configured_secrets_and_token_shapes_are_redacted():
    stream = io.StringIO()
    configure_logging(secrets=["my-signing-secret", TELEGRAM_TOKEN], stream=stream)
    logging.getLogger("test").warning(
        "calling https://api.telegram.org/bot%s/getMe with %s", TELEGRAM_TOKEN, SLACK_TOKEN
    )
    logging.getLogger("test").info("signature my-signing-secret")
    try:
        raise RuntimeError(f"failed with {APP_TOKEN}")
    except RuntimeError:
        logging.getLogger("test").exception("boom")
    output = stream.getvalue()
    assert TELEGRAM_TOKEN not in output
    assert SLACK_TOKEN not in output
    assert "my-signing-secret" not in output
    assert APP_TOKEN not in output
    assert output.count("[redacted]") >= 4


def test_json_format_is_one_object_per_line():
    stream = io.StringIO()
    configure_logging(fmt="json", stream=stream)
    logging.getLogger("signpost.test").info("polled %s", "ukri", extra={"source": "ukri"})
    try:
        raise ValueError("bad\npage")
    except ValueError:
        logging.getLogger("signpost.test").exception("parse failed")
    lines = stream.getvalue().strip().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["message"] == "polled ukri"
    assert first["source"] == "ukri"
    assert "ValueError" in second["exception"]


def test_text_format_folds_tracebacks_onto_one_line():
    stream = io.StringIO()
    configure_logging(stream=stream)
    try:
        raise ValueError("x")
    except ValueError:
        logging.getLogger("t").exception("failed")
    assert len(stream.getvalue().strip().splitlines()) == 1
