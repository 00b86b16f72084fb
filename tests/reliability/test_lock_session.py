"""The lock session on a link that goes silent: ``confirm()`` answers False within its
deadline instead of hanging, and the next ``hold`` opens a fresh session (issue 13, point 6).
Its server-side keepalives are set, so a server frees a silent replica's locks by itself."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text

from storage.db import Database
from storage.locks import hold
from tests.helpers.databases import PostgresSchema, require_postgres
from tests.reliability.link_proxy import LinkProxy

pytestmark = pytest.mark.postgres


@pytest.fixture
def postgres_url() -> str:
    return require_postgres()


async def test_a_silent_link_fails_the_confirmation_within_its_deadline(
    postgres_url: str,
) -> None:
    schema = PostgresSchema(postgres_url)
    await schema.create()
    async with LinkProxy(postgres_url) as link:
        database = Database(link.url, schema=schema.name)
        try:
            async with hold(database, "leader:telegram") as mine:
                assert mine and await mine.confirm()
                conn = await database.locks._connection()
                settings = {
                    name: await conn.scalar(text(f"SHOW {name}"))
                    for name in ("application_name", "tcp_keepalives_idle", "search_path")
                }
                link.freeze()
                started = time.monotonic()
                assert not await mine.confirm(within=0.5)
                assert time.monotonic() - started < 2.0
                assert database.locks.held == frozenset()
                link.restore()
            async with hold(database, "leader:telegram") as again:  # a fresh session
                assert again and await again.confirm()
        finally:
            await database.dispose()
            await schema.drop()
    assert settings["application_name"] == "signpost-locks"
    assert settings["tcp_keepalives_idle"] in {"10", "10s"}
    assert schema.name in settings["search_path"]
