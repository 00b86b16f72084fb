"""Databases for tests: a temporary SQLite file, or a private schema on the local PostgreSQL.

PostgreSQL tests skip with a reason when the server is absent, unless
``SIGNPOST_REQUIRE_POSTGRES=1`` (CI), where that skip becomes a failure.
"""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


def postgres_url() -> str:
    return os.environ.get("SIGNPOST_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def postgres_required() -> bool:
    return os.environ.get("SIGNPOST_REQUIRE_POSTGRES") == "1"


async def _reachable(url: str) -> str | None:
    import asyncpg

    try:
        conn = await asyncio.wait_for(asyncpg.connect(url), 3)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    await conn.close()
    return None


def require_postgres() -> str:
    """The server URL, or skip (fail under SIGNPOST_REQUIRE_POSTGRES=1) when unreachable."""
    url = postgres_url()
    problem = asyncio.run(_reachable(url)) if url else "SIGNPOST_TEST_POSTGRES_URL is empty"
    if problem:
        message = f"PostgreSQL at {url} is not reachable ({problem})"
        if postgres_required():
            pytest.fail(message + " and SIGNPOST_REQUIRE_POSTGRES=1", pytrace=False)
        pytest.skip(message)
    return url


class PostgresSchema:
    """A throwaway schema so that concurrent test runs never see each other's rows."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.name = f"signpost_test_{uuid.uuid4().hex[:12]}"

    async def create(self) -> None:
        import asyncpg

        conn = await asyncpg.connect(self.url)
        try:
            await conn.execute(f'CREATE SCHEMA "{self.name}"')
        finally:
            await conn.close()

    async def drop(self) -> None:
        import asyncpg

        conn = await asyncpg.connect(self.url)
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE')
        finally:
            await conn.close()
