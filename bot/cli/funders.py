"""CLI commands about past awards: ``signpost funders import FILE``."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.app import app, err, fail, settings_or_exit

funders_app = typer.Typer(
    help="Past awards (360Giving data): who funds work like this.", no_args_is_help=True
)
app.add_typer(funders_app, name="funders")


@funders_app.command("import")
def funders_import(
    path: Annotated[Path, typer.Argument(help="A 360Giving .json, .csv or .xlsx file.")],
    licence: Annotated[
        str, typer.Option(help="The data's licence, where the file does not say (CSV).")
    ] = "",
    publisher: Annotated[
        str, typer.Option(help="Who published the data, where the file does not say.")
    ] = "",
) -> None:
    """Import every grant in a 360Giving file, or none if any record is bad."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from bot.core.formatting import plural
    from bot.core.funders_import import ThreeSixtyError, import_grants
    from bot.core.taxonomy import Taxonomy
    from storage.store import Store

    if not path.is_file():
        raise fail(f"{path} is not a file", 2)
    settings = settings_or_exit()

    async def run(report) -> object:
        store = Store.from_url(settings.database_url)
        try:
            await store.upgrade()
            return await import_grants(
                store,
                path,
                Taxonomy.load(),
                now=datetime.now(UTC),
                licence=licence,
                publisher=publisher,
                progress=report,
            )
        finally:
            await store.close()

    # The total is unknown until the file is read (it is streamed), so the bar counts.
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err
    ) as bar:
        task = bar.add_task("reading grants", total=None)

        def report(count: int) -> None:
            bar.update(task, description=f"{count:,} grants read")

        try:
            result = asyncio.run(run(report))
        except ThreeSixtyError as exc:
            raise fail(f"{exc} — nothing was imported") from None
    typer.echo(
        f"imported {plural(result.grants, 'grant')} from {plural(result.funders, 'funder')}"
        f" (licence: {result.licence or 'not given'}; publisher: {result.publisher or 'not given'})"
    )
