"""``signpost sources discover URL [--add]``: the listings one page offers, ready to add.

The words are the admin command's (``/sources discover URL``, ``bot.core.admin``); this
module only translates: it builds the polite fetcher, prints the reply or its JSON, and with
``--add`` appends the ready entries to the operator's sources file, checked before writing.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.app import fail, settings_or_exit
from bot.cli.data import sources_app


def _run_discovery(settings, url: str):
    from bot import __version__
    from sources.discover import discover
    from sources.http import Fetcher, build_http_client, default_user_agent

    async def run():
        client = build_http_client(default_user_agent(settings.contact_url, __version__))
        try:
            # one try per listing: a discovery is a visit, not a poll to rescue
            return await discover(url, Fetcher(client, max_attempts=1))
        finally:
            await client.aclose()

    return asyncio.run(run())


def add_entries(path: Path, entries: list[tuple[str, str]]) -> list[str]:
    """Append ``(name, toml)`` entries to the operator's file, creating it (laid over the
    default catalogue) if need be; names already taken get ``-2``, ``-3``... The result is
    loaded before it replaces the file, so a bad write can never stop ``signpost run``."""
    from sources.catalogue import load_catalogue

    text = path.read_text(encoding="utf-8") if path.exists() else "include_default = true\n"
    taken = set(load_catalogue(path if path.exists() else None).names())
    added = []
    for name, table in entries:
        unique, n = name, 1
        while unique in taken:
            n += 1
            unique = f"{name}-{n}"
        taken.add(unique)
        text += "\n" + table.replace(f"[sources.{name}]", f"[sources.{unique}]", 1)
        added.append(unique)
    trial = path.with_name(path.name + ".discover-check")
    trial.write_text(text, encoding="utf-8")
    try:
        load_catalogue(trial)
    finally:
        trial.unlink()
    path.write_text(text, encoding="utf-8")
    return added


@sources_app.command("discover")
def sources_discover(
    url: Annotated[str, typer.Argument(help="A page, e.g. a partner charity's home page.")],
    add: Annotated[
        bool, typer.Option("--add", help="Append what parses to SIGNPOST_SOURCES_FILE.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Fetch one page politely and report every feed or calendar it offers, with item
    counts and a ready catalogue entry (exit 1 when none has items)."""
    from bot.console import render
    from bot.core.admin import discovery_reply
    from sources.catalogue import CatalogueError
    from sources.discover import entry_name, entry_toml

    if not url.startswith(("http://", "https://")):
        raise fail("URL must start with http:// or https://", 2)
    settings = settings_or_exit()
    if add and settings.sources_file is None:
        raise fail("--add writes to your own sources file: set SIGNPOST_SOURCES_FILE", 2)
    found = _run_discovery(settings, url)
    today = datetime.now(UTC).date()
    if as_json:
        typer.echo(json.dumps(found.to_json(today), indent=2, ensure_ascii=False))
    else:
        typer.echo(render(discovery_reply(found, today)))
    usable = found.usable()
    if add and usable:
        entries = [(entry_name(found, f), entry_toml(found, f, today)) for f in usable]
        try:
            added = add_entries(settings.sources_file, entries)
        except (CatalogueError, OSError) as exc:
            raise fail(f"nothing added to {settings.sources_file}: {exc}") from None
        typer.echo(f"Added to {settings.sources_file}: {', '.join(added)}", err=True)
    if found.error or not usable:
        raise typer.Exit(1)
