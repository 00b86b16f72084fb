"""Settings: every variable of the environment contract, and one-line errors."""

from __future__ import annotations

import pytest

from bot.settings import Settings, SettingsError, load_settings, parse_admins

CONTRACT = [
    "SIGNPOST_DATABASE_URL",
    "TELEGRAM_BOT_TOKEN",
    "TELEGRAM_API_BASE_URL",
    "TELEGRAM_WEBHOOK_URL",
    "TELEGRAM_WEBHOOK_SECRET",
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_PORT",
    "SLACK_API_BASE_URL",
    "SIGNPOST_ADMINS",
    "SIGNPOST_SOURCES_FILE",
    "SIGNPOST_HEALTH_PORT",
]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in CONTRACT:
        monkeypatch.delenv(name, raising=False)


def test_every_contract_variable_is_a_setting():
    aliases = {field.alias for field in Settings.model_fields.values()}
    assert set(CONTRACT) <= aliases


def test_defaults_need_nothing_configured():
    settings = load_settings()
    assert settings.database_url == "sqlite:///./signpost.db"
    assert not settings.telegram_configured
    assert "Console: on" in " ".join(settings.describe_transports())


def test_environment_is_read(monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:abcdefghijklmnopqrstuvwxyz0123456789")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1-2-3")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1-2")
    monkeypatch.setenv("SIGNPOST_ADMINS", "telegram:42, slack:U123")
    monkeypatch.setenv("SIGNPOST_HEALTH_PORT", "8080")
    settings = load_settings()
    assert settings.admin_ids == {("telegram", "42"), ("slack", "U123")}
    assert settings.health_port == 8080
    described = " ".join(settings.describe_transports())
    assert "Telegram: configured (long polling)" in described
    assert "Slack: configured (Socket Mode)" in described
    assert "123456:abc" not in described
    assert "xoxb" not in described


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("SIGNPOST_DATABASE_URL", "not a url", "SIGNPOST_DATABASE_URL"),
        ("SIGNPOST_DATABASE_URL", "mysql://localhost/x", "only sqlite"),
        ("SIGNPOST_ADMINS", "42", "platform:user-id"),
        ("SIGNPOST_ADMINS", "irc:42", "platform:user-id"),
        ("SLACK_PORT", "seventy", "SLACK_PORT"),
        ("SIGNPOST_HEALTH_PORT", "70000", "SIGNPOST_HEALTH_PORT"),
    ],
)
def test_invalid_values_are_one_line_errors(monkeypatch, variable, value, expected):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert expected in message
    assert "\n" not in message


def test_admin_list_parsing():
    assert parse_admins("") == frozenset()
    assert parse_admins("telegram:1;slack:U2,") == {("telegram", "1"), ("slack", "U2")}


def test_secrets_lists_only_set_values(monkeypatch):
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s3cr3t-signing")
    assert load_settings().secrets() == ["s3cr3t-signing"]


def test_a_webhook_without_a_secret_is_refused_at_start(monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:abcdefghijklmnopqrstuvwxyz0123456789")
    monkeypatch.setenv("TELEGRAM_WEBHOOK_URL", "https://bot.example.org/telegram")
    with pytest.raises(SettingsError, match="TELEGRAM_WEBHOOK_SECRET"):
        load_settings()
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", "s3cret-value")
    assert "webhook" in " ".join(load_settings().describe_transports())


def test_empty_values_mean_unset(monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "")
    monkeypatch.setenv("SLACK_PORT", "")
    settings = load_settings()
    assert not settings.telegram_configured
    assert settings.slack_port == 3000
