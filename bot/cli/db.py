"""CLI commands about the database: ``signpost db upgrade|backup|restore``."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.app import app, err, settings_or_exit

db_app = typer.Typer(help="Database: migrations, backup and restore.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration (safe to run again)."""
    from storage.store import Store

    settings = settings_or_exit()

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

    settings = settings_or_exit()
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

    settings = settings_or_exit()
    if not yes:
        typer.confirm(f"Overwrite {settings.database_url} with {path}?", abort=True)
    try:
        restore(path, settings.database_url)
    except BackupError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None
    typer.echo(f"restored from {path}")
