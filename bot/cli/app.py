"""The ``signpost`` Typer application and what every command shares.

The command modules (``serve``, ``db``, ``data``) import this one and register on ``app``;
nothing here imports them, so the CLI has no import circle. Each command builds settings
first; a bad setting is one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from bot.settings import Settings, SettingsError, load_settings

app = typer.Typer(
    help="Signpost: UK research-funding calls, internships and events, in Telegram and Slack.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Typer's Rich help (0.29, which vendors click) prints a flag's type, so every flag read
    # "--help <bool>" as if it took a value. Click's plain help shows flags as flags, on
    # every Typer version we allow.
    rich_markup_mode=None,
)

err = Console(stderr=True, soft_wrap=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print one error line and return the exit to raise (1: the action failed, 2: bad input)."""
    err.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(code)


def settings_or_exit(**overrides: object) -> Settings:
    """The settings from the environment (``overrides`` by variable name, e.g. a command's
    option), or one line on stderr and exit code 2."""
    try:
        return load_settings(**{k: v for k, v in overrides.items() if v is not None})
    except SettingsError as exc:
        raise fail(str(exc), 2) from None


def start_logging(settings: Settings, path: Path | None = None) -> None:
    """Configure logging as the settings say, with every secret redacted; to the file at
    ``path`` when one is given."""
    from bot.ops.logs import configure_logging

    configure_logging(
        level=settings.log_level, fmt=settings.log_format, secrets=settings.secrets(), path=path
    )
