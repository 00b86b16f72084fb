"""Fixtures shared by the whole suite.

``store`` is parametrised over SQLite and PostgreSQL: one suite, both databases.
Nothing here reaches the network; HTTP goes to loopback fakes or ``httpx.MockTransport``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.store import Store
from tests.helpers.databases import PostgresSchema, require_postgres

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path) -> str:
    """A URL for each backend; the PostgreSQL one carries its private schema name."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'signpost.db'}"
    return require_postgres()


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    """An upgraded, empty store on SQLite or on a fresh PostgreSQL schema."""
    schema = None
    if database_url.startswith("postgresql"):
        schema = PostgresSchema(database_url)
        await schema.create()
        instance = Store.from_url(database_url, schema=schema.name)
    else:
        instance = Store.from_url(database_url)
    await instance.upgrade()
    try:
        yield instance
    finally:
        await instance.close()
        if schema is not None:
            await schema.drop()
