"""CLI commands that run the bot: ``signpost run`` and ``signpost demo``.

Both can act as a named console chat (``--chat NAME``), so that scripted sessions of several
people on one database show the flows between them: ``signpost run`` keeps its database at
``SIGNPOST_DATABASE_URL`` anyway; ``signpost demo`` uses a fresh temporary database unless
``--db PATH`` names one to keep, and ``--chat`` alone means ``./signpost-demo.db``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.app import app, settings_or_exit, start_logging

SHARED_DEMO_DB = Path("signpost-demo.db")

ChatOption = Annotated[
    str | None,
    typer.Option(
        "--chat",
        metavar="NAME",
        help="Act as the console chat NAME (letters, digits, . _ -), kept in the database; "
        "default SIGNPOST_CONSOLE_CHAT or 'local'.",
        show_default=False,
    ),
]


@app.command()
def run(
    offline: Annotated[
        bool, typer.Option("--offline", help="Replay the bundled snapshots instead of the web.")
    ] = False,
    chat: ChatOption = None,
) -> None:
    """Run the bot until Ctrl-C (SIGINT) or SIGTERM, or the console's end of input (Ctrl-D)."""
    from bot.app import console_reads_commands, default_components, serve

    settings = settings_or_exit(SIGNPOST_CONSOLE_CHAT=chat)
    log_path = None
    if console_reads_commands(settings) and str(settings.console_log) != "-":
        log_path = settings.console_log.resolve()
    try:
        start_logging(settings, path=log_path)
    except OSError as exc:
        from bot.cli.app import fail

        raise fail(f"cannot write the log file {log_path}: {exc.strerror or exc}", 2) from None
    components = default_components(settings, log_path=log_path)
    asyncio.run(serve(settings, offline=offline, components=components))


def demo_database(db: str | None, chat: str | None) -> str | None:
    """The database URL a demo keeps (None: a temporary one). ``--db`` takes a SQLite file
    path or a database URL; ``--chat`` alone shares ``./signpost-demo.db``."""
    if db is None and chat is not None:
        db = str(SHARED_DEMO_DB)
    if db is None:
        return None
    if "://" in db:
        return db
    return f"sqlite:///{Path(db).expanduser().resolve()}"


@app.command()
def demo(
    chat: ChatOption = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            metavar="PATH",
            help="Keep the demo's database in this SQLite file (or database URL) across runs; "
            f"with --chat alone, ./{SHARED_DEMO_DB}.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """The whole bot offline in this terminal: alerts, /calls, /glossary (a fresh database,
    unless --db or --chat keeps one)."""
    import tempfile

    from bot.app import serve
    from bot.console_session import console_component

    settings = settings_or_exit(SIGNPOST_CONSOLE_CHAT=chat)
    start_logging(settings.model_copy(update={"log_level": "WARNING"}))
    kept = demo_database(db, chat)
    if kept is not None:
        settings_or_exit(SIGNPOST_DATABASE_URL=kept)  # a bad --db is one line, exit code 2
        typer.echo(f"Demo database: {kept} (kept across runs; delete it to start afresh)")
    with tempfile.TemporaryDirectory(prefix="signpost-demo-") as folder:
        demo_settings = settings.model_copy(
            update={
                "database_url": kept or f"sqlite:///{folder}/demo.db",
                "telegram_bot_token": None,
                "slack_bot_token": None,
                "health_port": None,
            }
        )
        component = console_component(interactive=True, demo=True, chat_name=settings.console_chat)
        asyncio.run(serve(demo_settings, offline=True, components=[component]))
