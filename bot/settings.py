"""One typed settings object, built from the environment in ``main()`` and nowhere else.

Every variable of the architecture's environment contract is here. Invalid values raise
``SettingsError`` with a one-line message that the CLI prints instead of a traceback.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_DATABASE_URL = "sqlite:///./signpost.db"
PLATFORMS = ("telegram", "slack", "console")
CHAT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")  # a console chat's name (--chat)


class SettingsError(Exception):
    """A configuration value is wrong; the message is one line meant for the operator."""


class Settings(BaseSettings):
    """Signpost's configuration. Field names map to the environment variables listed below."""

    model_config = SettingsConfigDict(
        env_file=None,
        extra="ignore",
        populate_by_name=True,
        frozen=True,
        env_ignore_empty=True,  # "TELEGRAM_BOT_TOKEN=" in an env file means "not set"
    )

    database_url: str = Field(DEFAULT_DATABASE_URL, alias="SIGNPOST_DATABASE_URL")
    telegram_bot_token: SecretStr | None = Field(None, alias="TELEGRAM_BOT_TOKEN")
    telegram_api_base_url: str | None = Field(None, alias="TELEGRAM_API_BASE_URL")
    telegram_webhook_url: str | None = Field(None, alias="TELEGRAM_WEBHOOK_URL")
    telegram_webhook_secret: SecretStr | None = Field(None, alias="TELEGRAM_WEBHOOK_SECRET")
    telegram_webhook_port: int = Field(8443, alias="TELEGRAM_WEBHOOK_PORT", ge=1, le=65535)
    slack_bot_token: SecretStr | None = Field(None, alias="SLACK_BOT_TOKEN")
    slack_app_token: SecretStr | None = Field(None, alias="SLACK_APP_TOKEN")
    slack_signing_secret: SecretStr | None = Field(None, alias="SLACK_SIGNING_SECRET")
    slack_port: int = Field(3000, alias="SLACK_PORT", ge=1, le=65535)
    slack_api_base_url: str | None = Field(None, alias="SLACK_API_BASE_URL")
    admins: str = Field("", alias="SIGNPOST_ADMINS")
    sources_file: Path | None = Field(None, alias="SIGNPOST_SOURCES_FILE")
    glossary_file: Path | None = Field(None, alias="SIGNPOST_GLOSSARY_FILE")
    health_port: int | None = Field(None, alias="SIGNPOST_HEALTH_PORT", ge=0, le=65535)
    # Loopback unless told otherwise: the endpoint is not public. The container image sets
    # 0.0.0.0, because there the port is reached through Docker's own network.
    health_host: str = Field("127.0.0.1", alias="SIGNPOST_HEALTH_HOST", min_length=1)
    # The console's own settings: which named chat it acts as (``--chat`` overrides), and
    # where the logs go while it reads commands, so that they do not bury the prompt.
    console_chat: str = Field("local", alias="SIGNPOST_CONSOLE_CHAT")
    console_log: Path = Field(Path("signpost.log"), alias="SIGNPOST_CONSOLE_LOG")
    log_format: Literal["text", "json"] = Field("text", alias="SIGNPOST_LOG_FORMAT")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", alias="SIGNPOST_LOG_LEVEL"
    )
    contact_url: str = Field(
        "https://github.com/signpost-bot/signpost", alias="SIGNPOST_CONTACT_URL"
    )
    # Each running poll uses one of the database pool's ten connections at a time: four
    # leave six for commands, the dispatcher and health checks (see bot.runtime).
    max_concurrent_polls: int = Field(4, alias="SIGNPOST_MAX_CONCURRENT_POLLS", ge=1, le=64)

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError as exc:
            raise ValueError(f"not a database URL: {value!r}") from exc
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            raise ValueError("only sqlite:// and postgresql:// URLs are supported")
        return value

    @field_validator("console_chat")
    @classmethod
    def _check_console_chat(cls, value: str) -> str:
        if not CHAT_NAME.fullmatch(value):
            raise ValueError(
                f"{value!r} is not a chat name: 1 to 32 letters, digits, '.', '_' or '-', "
                "starting with a letter or digit"
            )
        return value

    @field_validator("admins")
    @classmethod
    def _check_admins(cls, value: str) -> str:
        parse_admins(value)
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> Settings:
        if self.telegram_webhook_url and not self.telegram_webhook_secret:
            raise ValueError(
                "TELEGRAM_WEBHOOK_URL needs TELEGRAM_WEBHOOK_SECRET, or anyone could post "
                "updates to the webhook"
            )
        return self

    @property
    def admin_ids(self) -> frozenset[tuple[str, str]]:
        """Admins as ``(platform, user_id)`` pairs."""
        return parse_admins(self.admins)

    @property
    def telegram_configured(self) -> bool:
        return self.telegram_bot_token is not None

    @property
    def slack_configured(self) -> bool:
        return self.slack_bot_token is not None

    def secrets(self) -> list[str]:
        """Every secret value that is set, so that logging can redact them."""
        values = (
            self.telegram_bot_token,
            self.telegram_webhook_secret,
            self.slack_bot_token,
            self.slack_app_token,
            self.slack_signing_secret,
        )
        return [v.get_secret_value() for v in values if v and v.get_secret_value()]

    def describe_transports(self) -> list[str]:
        """Lines saying what is and is not configured, never a secret."""
        lines = []
        if self.telegram_configured:
            mode = "webhook" if self.telegram_webhook_url else "long polling"
            lines.append(f"Telegram: configured ({mode})")
        else:
            lines.append("Telegram: not configured (set TELEGRAM_BOT_TOKEN)")
        if self.slack_configured:
            mode = "Socket Mode" if self.slack_app_token else f"HTTP on port {self.slack_port}"
            lines.append(f"Slack: configured ({mode})")
        else:
            lines.append("Slack: not configured (set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET)")
        if not (self.telegram_configured or self.slack_configured):
            lines.append("Console: on (no chat token configured)")
        return lines


def parse_admins(value: str) -> frozenset[tuple[str, str]]:
    """Parse ``telegram:123,slack:U456`` into pairs; raise ValueError on anything else."""
    admins = set()
    for raw in value.replace(";", ",").split(","):
        item = raw.strip()
        if not item:
            continue
        platform, sep, user_id = item.partition(":")
        if not sep or platform not in PLATFORMS or not user_id.strip():
            raise ValueError(
                f"admin {item!r} is not platform:user-id (platform one of {', '.join(PLATFORMS)})"
            )
        admins.add((platform, user_id.strip()))
    return frozenset(admins)


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment; raise ``SettingsError`` with one clear line."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = (first.get("loc") or ("settings",))[-1]
        message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
        raise SettingsError(f"invalid setting {field}: {message}") from None
