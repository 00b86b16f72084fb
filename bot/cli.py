"""The ``signpost`` command line (the CLI contract of ARCHITECTURE.md).

Each command builds settings first; a bad setting is one line on stderr and exit code 2,
never a traceback. Commands that need the database upgrade it first.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from bot.settings import Settings, SettingsError, load_settings

app = typer.Typer(
    help="Signpost: UK research-funding calls, internships and events, in Telegram and Slack.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database: migrations, backup and restore.", no_args_is_help=True)
app.add_typer(db_app, name="db")

err = Console(stderr=True, soft_wrap=True)


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None


def _logging(settings: Settings) -> None:
    from bot.logs import configure_logging

    configure_logging(level=settings.log_level, fmt=settings.log_format, secrets=settings.secrets())


@app.command()
def run(
    offline: Annotated[
        bool, typer.Option("--offline", help="Replay the bundled snapshots instead of the web.")
    ] = False,
) -> None:
    """Run the bot until Ctrl-C (SIGINT) or SIGTERM."""
    from bot.app import serve

    settings = _settings()
    _logging(settings)
    asyncio.run(serve(settings, offline=offline))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration (safe to run again)."""
    from storage.store import Store

    settings = _settings()

    async def upgrade() -> str:
        store = Store.from_url(settings.database_url)
        try:
            return await store.upgrade()
        finally:
            await store.close()

    revision = asyncio.run(upgrade())
    typer.echo(f"database is at revision {revision}")


@db_app.command("backup")
def db_backup(path: Annotated[Path, typer.Argument(help="Where to write the copy.")]) -> None:
    """Copy the SQLite database while the bot runs (SQLite's online backup API)."""
    from storage.backup import BackupError, backup

    settings = _settings()
    try:
        backup(settings.database_url, path)
    except BackupError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None
    typer.echo(f"backed up to {path}")


@db_app.command("restore")
def db_restore(
    path: Annotated[Path, typer.Argument(help="A file made by `signpost db backup`.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask before overwriting.")] = False,
) -> None:
    """Replace the SQLite database with a backup (stop the bot first)."""
    from storage.backup import BackupError, restore

    settings = _settings()
    if not yes:
        typer.confirm(f"Overwrite {settings.database_url} with {path}?", abort=True)
    try:
        restore(path, settings.database_url)
    except BackupError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None
    typer.echo(f"restored from {path}")


@app.command()
def demo() -> None:
    """The whole bot offline in this terminal: alerts, /calls, /glossary (a fresh database)."""
    import tempfile

    from bot.app import serve
    from bot.console import console_component

    settings = _settings()
    _logging(settings.model_copy(update={"log_level": "WARNING"}))
    with tempfile.TemporaryDirectory(prefix="signpost-demo-") as folder:
        demo_settings = settings.model_copy(
            update={
                "database_url": f"sqlite:///{folder}/demo.db",
                "telegram_bot_token": None,
                "slack_bot_token": None,
                "health_port": None,
            }
        )
        components = [console_component(interactive=True, demo=True)]
        asyncio.run(serve(demo_settings, offline=True, components=components))


def main() -> None:
    """Console-script entry point."""
    # python-telegram-bot 22 reports RetryAfter waits as timedeltas in this mode (the future
    # default); without it every rate-limit answer logs a deprecation warning.
    os.environ.setdefault("PTB_TIMEDELTA", "true")

    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


# The data commands live in their own module and register themselves on ``app``.
from bot import cli_data  # noqa: E402, F401
