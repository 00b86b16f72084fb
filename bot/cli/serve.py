"""CLI commands that run the bot: ``signpost run`` and ``signpost demo``."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from bot.cli.app import app, settings_or_exit, start_logging


@app.command()
def run(
    offline: Annotated[
        bool, typer.Option("--offline", help="Replay the bundled snapshots instead of the web.")
    ] = False,
) -> None:
    """Run the bot until Ctrl-C (SIGINT) or SIGTERM."""
    from bot.app import serve

    settings = settings_or_exit()
    start_logging(settings)
    asyncio.run(serve(settings, offline=offline))


@app.command()
def demo() -> None:
    """The whole bot offline in this terminal: alerts, /calls, /glossary (a fresh database)."""
    import tempfile

    from bot.app import serve
    from bot.console import console_component

    settings = settings_or_exit()
    start_logging(settings.model_copy(update={"log_level": "WARNING"}))
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
