"""Alembic environment: runs on the connection ``storage.db.Database.upgrade`` hands over.

Full-text search objects (SQLite's FTS5 tables, PostgreSQL's generated tsvector column) are
made by hand in the migrations and are not in the ORM models, so comparisons skip them.
"""

from alembic import context

from storage.db import include_name
from storage.models import Base


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
