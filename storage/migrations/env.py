"""Alembic environment: runs on the connection ``storage.db.Database.upgrade`` hands over.

Full-text search objects (SQLite's FTS5 tables, PostgreSQL's generated tsvector column) are
made by hand in the migrations and are not in the ORM models, so comparisons skip them.
"""

from alembic import context

from storage.models import Base

FTS_NAMES = {"opportunities_fts", "search_vector", "ix_opportunities_search_vector"}


def include_name(name, type_, parent_names) -> bool:
    if name is None:
        return True
    return not (name in FTS_NAMES or name.startswith("opportunities_fts"))


def run_migrations() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through `signpost db upgrade`, not the alembic CLI")
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        include_name=include_name,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
