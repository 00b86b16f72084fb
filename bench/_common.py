"""Small helpers the benchmarks share: one JSON line of results, ratios, checks, and a
counter of the SQL writes a piece of work makes.

Benchmarks print exactly one JSON line at the end so that CI and notes can collect them with
``tail -n1``; anything else they say goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.store import Store
from tests.helpers.databases import PostgresSchema, postgres_url


def bench_parser(doc: str | None) -> argparse.ArgumentParser:
    """The arguments every database benchmark takes: its docstring's first paragraph as the
    description, and ``--postgres [URL]`` (SQLite when absent)."""
    parser = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0])
    parser.add_argument(
        "--postgres",
        metavar="URL",
        nargs="?",
        const=postgres_url(),
        help="run on PostgreSQL instead of SQLite (default URL: the tests' server)",
    )
    return parser


def emit(record: dict[str, Any]) -> None:
    """The benchmark's result, as one JSON line on stdout."""
    print(json.dumps(record, default=str), flush=True)


def note(message: str) -> None:
    """Progress for a human, kept off stdout so the JSON line stays alone there."""
    print(message, file=sys.stderr, flush=True)


def ratio(measured: float, ideal: float) -> float | None:
    """``measured / ideal`` to three places; None when there is no ideal to compare with."""
    return round(measured / ideal, 3) if ideal > 0 else None


def check(condition: bool, message: str) -> None:
    """Fail the benchmark loudly: a fast wrong answer is not a result (survives ``-O``)."""
    if not condition:
        raise SystemExit(f"benchmark check failed: {message}")


class Stopwatch:
    """Wall time of a ``with`` block, on the monotonic clock."""

    def __enter__(self) -> Stopwatch:
        self.started = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.seconds = time.perf_counter() - self.started


class WriteCounter:
    """Counts INSERT / UPDATE / DELETE statements per table while attached to an engine,
    to show what a piece of work wrote (``{"UPDATE sources": 50}``)."""

    PATTERN = re.compile(r'^\s*(INSERT INTO|UPDATE|DELETE FROM)\s+"?(\w+)', re.IGNORECASE)

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine.sync_engine
        self.statements: Counter[str] = Counter()

    def __enter__(self) -> WriteCounter:
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc_info: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)

    @property
    def tables(self) -> set[str]:
        return {key.split(" ", 1)[1] for key in self.statements}

    def _seen(self, conn, cursor, statement, parameters, context, executemany) -> None:
        match = self.PATTERN.match(statement)
        if match:
            verb = match.group(1).split()[0].upper()
            self.statements[f"{verb} {match.group(2)}"] += 1


async def open_store(url: str | None, workdir: Path) -> tuple[Store, PostgresSchema | None]:
    """A migrated store: SQLite in ``workdir``, or a private schema on PostgreSQL at ``url``
    (the caller drops the schema when done)."""
    if url:
        schema = PostgresSchema(url)
        await schema.create()
        store = Store.from_url(url, schema=schema.name)
    else:
        schema, store = None, Store.from_url(f"sqlite:///{workdir / 'bench.db'}")
    await store.upgrade()
    return store, schema
