"""The ``signpost`` command line (the CLI contract of ARCHITECTURE.md).

``bot.cli.app`` holds the Typer application; each command module registers on it when
imported here: ``serve`` (run, demo), ``db`` (upgrade, backup, restore) and ``data`` (parse,
poll, search, glossary, sources).
"""

from __future__ import annotations

import os
import sys

from bot.cli.app import app

# Each command module registers its commands on ``app`` when imported; the order of these
# imports is the order of ``signpost --help``.
# isort: split
from bot.cli import serve

# isort: split
from bot.cli import db

# isort: split
from bot.cli import data

# isort: split
from bot.cli import sources_discover

# isort: split
from bot.cli import funders

__all__ = ["app", "main"]
COMMAND_MODULES = (serve, db, data, sources_discover, funders)


def main() -> None:
    """Console-script entry point."""
    # python-telegram-bot 22 reports RetryAfter waits as timedeltas in this mode (the future
    # default); without it every rate-limit answer logs a deprecation warning.
    os.environ.setdefault("PTB_TIMEDELTA", "true")

    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
