"""Migrations build the schema the models describe, from empty, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from storage.db import head_revision, include_name
from storage.models import Base


def _diff(connection):
    context = MigrationContext.configure(
        connection, opts={"include_name": include_name, "compare_type": True}
    )
    return compare_metadata(context, Base.metadata)


async def test_models_match_migrations(store):
    async with store.database.engine.connect() as conn:
        diff = await conn.run_sync(_diff)
    assert diff == []


async def test_every_table_exists_at_head(store):
    async with store.database.engine.connect() as conn:
        tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    assert set(Base.metadata.tables) <= tables
    assert await store.database.current_revision() == head_revision()


async def test_full_text_search_objects_exist(store):
    async with store.database.engine.connect() as conn:
        if store.dialect == "sqlite":
            found = await conn.scalar(
                text("SELECT count(*) FROM sqlite_master WHERE name = 'opportunities_fts'")
            )
        else:
            found = await conn.scalar(
                text(
                    "SELECT count(*) FROM information_schema.columns "
                    "WHERE table_name = 'live_opportunities' AND column_name = 'search_vector' "
                    "AND table_schema = current_schema()"
                )
            )
    assert found == 1


async def test_sqlite_runs_in_wal_mode_with_foreign_keys(store):
    if store.dialect != "sqlite":
        return
    async with store.database.engine.connect() as conn:
        assert (await conn.scalar(text("PRAGMA journal_mode"))) == "wal"
        assert (await conn.scalar(text("PRAGMA foreign_keys"))) == 1
