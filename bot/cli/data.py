"""CLI commands about data: parse, poll, search, glossary and sources.

They share the CLI's rules: one-line errors (exit 1 for a failed action, 2 for bad
settings or arguments), no tracebacks, JSON exactly as the opportunity contract says.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from bot.cli.app import app, err, fail, settings_or_exit, start_logging

out = Console(soft_wrap=True)
sources_app = typer.Typer(help="The configured sources.", no_args_is_help=True)
app.add_typer(sources_app, name="sources")


def _catalogue(settings):
    from sources.catalogue import CatalogueError, load_catalogue

    try:
        return load_catalogue(settings.sources_file)
    except CatalogueError as exc:
        raise fail(str(exc), 2) from None


@app.command()
def parse(
    source: Annotated[str, typer.Argument(help="A source name from the catalogue.")],
    file: Annotated[Path, typer.Argument(help="A saved page, feed or calendar.")],
    url: Annotated[str | None, typer.Option(help="The page's URL (default: the source's).")] = None,
) -> None:
    """Parse a saved page and print its opportunities as JSON (statuses as of now)."""
    from bot.clock import SystemClock
    from bot.core.status import status_at
    from bot.core.tagging import enrich
    from bot.core.taxonomy import Taxonomy
    from sources.base import SourceError
    from sources.catalogue import SourceNotFoundError
    from sources.registry import build_source

    settings = settings_or_exit()
    catalogue = _catalogue(settings)
    try:
        config = catalogue.get(source)
    except SourceNotFoundError as exc:
        raise fail(str(exc), 2) from None
    try:
        body = file.read_bytes()
    except OSError as exc:
        raise fail(f"cannot read {file}: {exc.strerror or exc}", 2) from None
    try:
        result = build_source(config).parse(body, url or config.url)
    except SourceError as exc:
        raise fail(f"{file} did not parse as {source}: {exc}") from None
    taxonomy = Taxonomy.load()
    now = SystemClock().now()  # the clock `search` uses: a past event is over, as there
    items = []
    for item in result.items:
        item.topics = sorted(set(item.topics) | set(config.topics))
        item.status = status_at(item, now)
        items.append(enrich(item, taxonomy).to_json())
    typer.echo(json.dumps(items, indent=2, ensure_ascii=False))


async def _poll(settings, names: list[str], offline: bool) -> list:
    from bot.runtime import build_runtime
    from storage.store import Store

    store = Store.from_url(settings.database_url)
    try:
        await store.upgrade()
        runtime = await build_runtime(settings, store, offline=offline, stop=asyncio.Event())
        try:
            unknown = [n for n in names if n not in runtime.sources]
            if unknown:
                known = ", ".join(sorted(runtime.sources)) or "(none)"
                raise fail(
                    f"not polled{' offline' if offline else ''}: "
                    f"{', '.join(unknown)}; known: {known}",
                    2,
                )
            chosen = names or sorted(runtime.sources)
            reports = []
            with Progress(console=err, transient=True) as progress:
                task = progress.add_task("polling", total=len(chosen))

                async def one(name: str) -> None:
                    reports.extend(await runtime.poll([name]))
                    progress.advance(task)

                await asyncio.gather(*(one(name) for name in chosen))
            return sorted(reports, key=lambda r: r.source)
        finally:
            await runtime.http.aclose()
    finally:
        await store.close()


@app.command()
def poll(
    sources: Annotated[list[str] | None, typer.Argument(help="Sources (default: all).")] = None,
    offline: Annotated[bool, typer.Option("--offline", help="Use the bundled snapshots.")] = False,
) -> None:
    """Poll sources once, store what they list, and print a summary."""
    settings = settings_or_exit()
    start_logging(settings)
    started = time.perf_counter()
    reports = asyncio.run(_poll(settings, sources or [], offline))
    table = Table(title=f"Poll{' (offline)' if offline else ''}")
    for column in ("source", "outcome", "new", "updated", "unchanged", "time", "error"):
        table.add_column(column)
    for r in reports:
        table.add_row(
            r.source,
            r.outcome,
            str(r.new),
            str(r.updated),
            str(r.unchanged),
            f"{r.duration_ms / 1000:.1f} s",
            (r.error or "")[:80],
        )
    out.print(table)
    failed = sum(r.outcome == "failed" for r in reports)
    out.print(f"{len(reports)} sources in {time.perf_counter() - started:.1f} s, {failed} failed")


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="Words to look for, e.g. 'mental health'.")],
    kind: Annotated[str, typer.Option(help="call, internship or event.")] = "call",
    as_json: Annotated[bool, typer.Option("--json", help="Print the contract JSON.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=100, help="Results per page.")] = 5,
    page: Annotated[int, typer.Option(min=1, max=1000, help="Which page of results.")] = 1,
) -> None:
    """What /calls QUERY answers, from the local database; --limit and --page page it, in
    text and in JSON alike."""
    from bot.console import render
    from bot.core import queries

    if kind not in queries.KIND_WORDS:
        raise fail(f"--kind must be one of {', '.join(queries.KIND_WORDS)}", 2)
    settings = settings_or_exit()
    offset = (page - 1) * limit

    async def run():
        services = await _core(settings)
        try:
            if as_json:
                items, _ = await queries.find(
                    services, query, kind=kind, offset=offset, limit=limit
                )
                return json.dumps([i.to_json() for i in items], indent=2, ensure_ascii=False)
            reply = await queries.search(
                None, services, query, kind=kind, offset=offset, limit=limit
            )
            more = any((b.action or "").startswith("more:") for b in reply.buttons)
            reply.buttons = []  # a terminal cannot press "More": say what to type instead
            text = render(reply)
            if more:
                text += f"\n\nMore: {_search_again(query, kind, limit, page + 1)}"
            return text
        finally:
            await services.store.close()

    typer.echo(asyncio.run(run()))


def _search_again(query: str, kind: str, limit: int, page: int) -> str:
    """The command line for the next page, quoted for a POSIX shell."""
    import shlex

    words = ["signpost", "search", query]
    if kind != "call":
        words += ["--kind", kind]
    if limit != 5:
        words += ["--limit", str(limit)]
    return shlex.join([*words, "--page", str(page)])


async def _core(settings):
    from bot.clock import SystemClock
    from bot.core.context import Services
    from bot.core.pipeline import Vocabulary
    from storage.store import Store

    store = Store.from_url(settings.database_url)
    await store.upgrade()
    return Services(store, SystemClock(), Vocabulary.load())


@app.command()
def glossary(
    term: Annotated[
        str | None,
        typer.Argument(help="A term, e.g. co-PI; 'check' tests every link; none lists all."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    file: Annotated[
        Path | None,
        typer.Option("--file", help="With 'check': check only the links of this glossary file."),
    ] = None,
) -> None:
    """Look a term up (exact, alias or fuzzy), list the glossary, or check its links."""
    from bot.console import render
    from bot.core.glossary import Glossary
    from bot.core.queries import entry_section
    from bot.core.replies import Reply

    if term == "check":
        _glossary_check(as_json, file)
        return
    if file is not None:
        raise fail("--file goes with 'check': signpost glossary check --file PATH", 2)
    entries = Glossary.load()
    if term is None:
        if as_json:
            typer.echo(json.dumps([e.to_json() for e in entries], indent=2, ensure_ascii=False))
            return
        for group, members in entries.groups().items():
            out.print(f"[bold]{group}[/bold] ({len(members)})")
            out.print(", ".join(sorted(e.term for e in members)), highlight=False)
        return
    result = entries.lookup(term)
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
    elif result.entry is not None:
        typer.echo(render(Reply(sections=[entry_section(result.entry, entries)])))
    else:
        hint = ", ".join(e.term for e in result.suggestions)
        typer.echo(f"No entry for “{term}”." + (f" Did you mean: {hint}?" if hint else ""))
    if result.entry is None:
        raise typer.Exit(1)


def _glossary_check(as_json: bool, file: Path | None) -> None:
    """``signpost glossary check``: fetch every distinct link once, politely, and report the
    dead and moved ones (exit 1 if there are any). By default the packaged glossary with the
    operator's SIGNPOST_GLOSSARY_FILE override; ``--file`` checks one file's entries only."""
    from bot import __version__
    from bot.core.glossary import Glossary, GlossaryError
    from bot.core.glossary_check import RedirectLog, check_links
    from bot.core.glossary_data import load_entries
    from sources.http import Fetcher, build_http_client, default_user_agent

    settings = settings_or_exit()
    try:
        if file is not None:
            entries = load_entries(file).entries
        else:
            entries = list(Glossary.load(settings.glossary_file))
    except GlossaryError as exc:
        raise fail(str(exc), 2) from None

    async def run():
        client = build_http_client(default_user_agent(settings.contact_url, __version__))
        redirects = RedirectLog()
        redirects.attach(client)
        try:
            # two attempts, not three: a link check is a courtesy visit, not a poll to save
            return await check_links(entries, Fetcher(client, max_attempts=2), redirects)
        finally:
            await client.aclose()

    reports = asyncio.run(run())
    problems = [r for r in reports if r.state in ("dead", "moved")]
    counts = {state: sum(r.state == state for r in reports) for state in ("dead", "moved")}
    if as_json:
        summary = {"checked": len(reports), **counts, "links": [r.to_json() for r in reports]}
        typer.echo(json.dumps(summary, indent=2, ensure_ascii=False))
    else:
        table = Table(title=f"Glossary links: {len(reports)} checked")
        for column in ("state", "status", "link", "used by", "now at / error"):
            table.add_column(column, overflow="fold")
        for r in sorted(reports, key=lambda r: (r.state == "ok", r.state, r.url)):
            if r.state != "ok":
                where = r.final_url or r.detail
                status = str(r.status or "")
                table.add_row(r.state, status, r.url, ", ".join(r.slugs), where[:160])
        out.print(table)
        out.print(f"{counts['dead']} dead, {counts['moved']} moved, {len(reports)} checked")
    if problems:
        raise typer.Exit(1)


@sources_app.command("list")
def sources_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The configured sources: name, type, kind, whether polled, evidence, audiences, URL."""
    catalogue = _catalogue(settings_or_exit())
    polled = {c.name for c in catalogue.polled()}
    if as_json:
        rows = [
            {
                "name": c.name,
                "type": c.type,
                "kind": c.kind,
                "audiences": c.audiences,
                "evidence": c.evidence,
                "enabled": c.enabled,
                "evidence_note": c.evidence_note,
                "blocked": c.blocked,
                "url": c.url,
            }
            for c in catalogue
        ]
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    table = Table(title="Sources")
    for column in ("name", "type", "kind", "state", "evidence", "for"):
        table.add_column(column, overflow="fold")
    for c in catalogue:
        state = "polled" if c.name in polled else (f"view of {c.view_of}" if c.view_of else "off")
        state = "blocked" if c.blocked else state
        table.add_row(c.name, c.type, c.kind, state, c.evidence, ", ".join(c.audiences))
    out.print(table)
    for c in catalogue:
        if c.blocked:
            out.print(f"{c.name} is blocked: {c.blocked}", highlight=False)
    out.print("Why each is confirmed, inferred or a guess: signpost sources list --json")


@sources_app.command("check")
def sources_check(
    names: Annotated[
        list[str] | None, typer.Argument(help="Sources (default: all polled).")
    ] = None,
) -> None:
    """Fetch each source live once and report whether it parses (writes nothing)."""
    from bot import __version__
    from sources.http import Fetcher, build_http_client, default_user_agent
    from sources.registry import build_source

    settings = settings_or_exit()
    catalogue = _catalogue(settings)
    configs = [catalogue.get(n) for n in names] if names else catalogue.polled()

    async def check(config, fetcher):
        source = build_source(config)
        page = await fetcher.fetch(source.start_urls()[0])
        if page.error is not None:
            return config.name, "failed", 0, str(page.error)
        try:
            result = source.parse(page.body, page.url)
        except Exception as exc:
            return config.name, "does not parse", 0, str(exc)
        state = "ok" if result.items else "no items"
        return config.name, state, len(result.items), ""

    async def run():
        client = build_http_client(default_user_agent(settings.contact_url, __version__))
        try:
            fetcher = Fetcher(client)
            return await asyncio.gather(*(check(c, fetcher) for c in configs))
        finally:
            await client.aclose()

    table = Table(title="Sources check (live)")
    for column in ("source", "status", "items", "error"):
        table.add_column(column, overflow="fold")
    rows = asyncio.run(run())
    for name, state, count, error in rows:
        table.add_row(name, state, str(count), error[:120])
    out.print(table)
    if any(state != "ok" for _, state, _, _ in rows):
        raise typer.Exit(1)
