"""Search ranks only the live originals: ``live_opportunities`` and its full-text index.

Before, the full-text index held every row, closed ones and duplicates too, and the ranked
query joined each hit to the wide ``opportunities`` row to filter it. Now triggers keep a
narrow table of the originals not closed (with ``live_until``, when each stops being live)
and index only those: on SQLite an FTS5 table with its own copy of the text (so removing a
row needs no original values and cannot corrupt the index), on PostgreSQL a weighted
``search_vector`` on ``live_opportunities`` with a GIN index. The query still applies the
clock (``live_until > now``): the stored status is an index, not the truth.

The trigger conditions are the one definition of "live": no ``duplicate_of_id`` and a stored
status other than "closed". ``live_until`` is the closing time, or for an event the earlier
of that and its end (or start, without an end); ``bot.core.status.status_at`` says the same.

Revision ID: 0002_live
Revises: 0001
Create Date: 2026-12-04 01:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_live"
down_revision = "0001"
branch_labels = None
depends_on = None

LIVE = "{row}.duplicate_of_id IS NULL AND {row}.status <> 'closed'"
# The watched columns: a change to any of them can move a row in or out, or change its text.
WATCHED = "title, summary, search_text, kind, status, duplicate_of_id, opens_at, closes_at, "
WATCHED += "starts_at, ends_at"

SQLITE_LIVE_UNTIL = """CASE WHEN {row}.kind = 'event'
        AND coalesce({row}.ends_at, {row}.starts_at) IS NOT NULL
        AND ({row}.closes_at IS NULL OR coalesce({row}.ends_at, {row}.starts_at) < {row}.closes_at)
    THEN coalesce({row}.ends_at, {row}.starts_at) ELSE {row}.closes_at END"""


def _sqlite_insert(row: str) -> list[str]:
    """The two inserts that put ``row`` (``new``) into the live table and the index."""
    live_until = SQLITE_LIVE_UNTIL.format(row=row)
    return [
        f"""INSERT INTO live_opportunities (id, kind, status, opens_at, closes_at, live_until)
        SELECT {row}.id, {row}.kind, {row}.status, {row}.opens_at, {row}.closes_at, {live_until}
        WHERE {LIVE.format(row=row)};""",
        f"""INSERT INTO opportunities_fts (rowid, title, summary, search_text)
        SELECT {row}.id, {row}.title, {row}.summary, {row}.search_text
        WHERE {LIVE.format(row=row)};""",
    ]


def _sqlite_delete(row: str) -> list[str]:
    return [
        f"DELETE FROM live_opportunities WHERE id = {row}.id;",
        f"DELETE FROM opportunities_fts WHERE rowid = {row}.id;",
    ]


SQLITE = [
    """CREATE VIRTUAL TABLE opportunities_fts USING fts5(
        title, summary, search_text, tokenize='porter unicode61 remove_diacritics 2')""",
    "CREATE TRIGGER opportunities_fts_ai AFTER INSERT ON opportunities BEGIN\n"
    + "\n".join(_sqlite_insert("new"))
    + "\nEND",
    "CREATE TRIGGER opportunities_fts_ad AFTER DELETE ON opportunities BEGIN\n"
    + "\n".join(_sqlite_delete("old"))
    + "\nEND",
    f"CREATE TRIGGER opportunities_fts_au AFTER UPDATE OF {WATCHED} ON opportunities BEGIN\n"
    + "\n".join(_sqlite_delete("old") + _sqlite_insert("new"))
    + "\nEND",
    # Rows already stored: the same statements, over the table.
    f"""INSERT INTO live_opportunities (id, kind, status, opens_at, closes_at, live_until)
    SELECT o.id, o.kind, o.status, o.opens_at, o.closes_at, {SQLITE_LIVE_UNTIL.format(row="o")}
    FROM opportunities o WHERE {LIVE.format(row="o")}""",
    f"""INSERT INTO opportunities_fts (rowid, title, summary, search_text)
    SELECT o.id, o.title, o.summary, o.search_text FROM opportunities o
    WHERE {LIVE.format(row="o")}""",
]

POSTGRES_VECTOR = """setweight(to_tsvector('english', coalesce({row}title, '')), 'A') ||
    setweight(to_tsvector('english', coalesce({row}summary, '')), 'B') ||
    setweight(to_tsvector('english', coalesce({row}search_text, '')), 'C')"""
POSTGRES_LIVE_UNTIL = """CASE WHEN {row}.kind = 'event'
    THEN LEAST({row}.closes_at, coalesce({row}.ends_at, {row}.starts_at))
    ELSE {row}.closes_at END"""
POSTGRES_COLUMNS = "id, kind, status, opens_at, closes_at, live_until, search_vector"


def _postgres_values(row: str) -> str:
    return (
        f"{row}.id, {row}.kind, {row}.status, {row}.opens_at, {row}.closes_at, "
        f"{POSTGRES_LIVE_UNTIL.format(row=row)}, {POSTGRES_VECTOR.format(row=row + '.')}"
    )


POSTGRES = [
    "DROP INDEX IF EXISTS ix_opportunities_search_vector",
    "ALTER TABLE opportunities DROP COLUMN IF EXISTS search_vector",
    "ALTER TABLE live_opportunities ADD COLUMN search_vector tsvector NOT NULL",
    # The old name, now on the live rows: the model comparison skips it by that name.
    "CREATE INDEX ix_opportunities_search_vector ON live_opportunities USING gin (search_vector)",
    f"""CREATE FUNCTION live_opportunities_sync() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'UPDATE' THEN
            DELETE FROM live_opportunities WHERE id = OLD.id;
        END IF;
        IF {LIVE.format(row="NEW")} THEN
            INSERT INTO live_opportunities ({POSTGRES_COLUMNS}) VALUES ({_postgres_values("NEW")});
        END IF;
        RETURN NULL;
    END $$""",
    # Deletes need no trigger: the foreign key cascades.
    f"""CREATE TRIGGER live_opportunities_sync AFTER INSERT OR UPDATE OF {WATCHED}
    ON opportunities FOR EACH ROW EXECUTE FUNCTION live_opportunities_sync()""",
    f"""INSERT INTO live_opportunities ({POSTGRES_COLUMNS})
    SELECT {_postgres_values("o")} FROM opportunities o WHERE {LIVE.format(row="o")}""",
]


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name in ("opportunities_fts_ai", "opportunities_fts_ad", "opportunities_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS opportunities_fts")
    op.create_table(
        "live_opportunities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("opens_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("live_until", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["id"],
            ["opportunities.id"],
            name=op.f("fk_live_opportunities_id_opportunities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_live_opportunities")),
    )
    for statement in SQLITE if dialect == "sqlite" else POSTGRES:
        op.execute(statement)


def downgrade() -> None:
    """Back to 0001's index of every row."""
    if op.get_bind().dialect.name == "sqlite":
        for name in ("opportunities_fts_ai", "opportunities_fts_ad", "opportunities_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS opportunities_fts")
        op.drop_table("live_opportunities")
        op.execute(
            """CREATE VIRTUAL TABLE opportunities_fts USING fts5(
            title, summary, search_text,
            content='opportunities', content_rowid='id',
            tokenize='porter unicode61 remove_diacritics 2')"""
        )
        op.execute(
            """CREATE TRIGGER opportunities_fts_ai AFTER INSERT ON opportunities BEGIN
            INSERT INTO opportunities_fts(rowid, title, summary, search_text)
            VALUES (new.id, new.title, new.summary, new.search_text);
            END"""
        )
        op.execute(
            """CREATE TRIGGER opportunities_fts_ad AFTER DELETE ON opportunities BEGIN
            INSERT INTO opportunities_fts(opportunities_fts, rowid, title, summary, search_text)
            VALUES ('delete', old.id, old.title, old.summary, old.search_text);
            END"""
        )
        op.execute(
            """CREATE TRIGGER opportunities_fts_au AFTER UPDATE OF title, summary, search_text
            ON opportunities BEGIN
            INSERT INTO opportunities_fts(opportunities_fts, rowid, title, summary, search_text)
            VALUES ('delete', old.id, old.title, old.summary, old.search_text);
            INSERT INTO opportunities_fts(rowid, title, summary, search_text)
            VALUES (new.id, new.title, new.summary, new.search_text);
            END"""
        )
        op.execute("INSERT INTO opportunities_fts(opportunities_fts) VALUES ('rebuild')")
        return
    op.execute("DROP TRIGGER IF EXISTS live_opportunities_sync ON opportunities")
    op.execute("DROP FUNCTION IF EXISTS live_opportunities_sync()")
    op.drop_table("live_opportunities")
    op.execute(
        f"""ALTER TABLE opportunities ADD COLUMN search_vector tsvector
        GENERATED ALWAYS AS ({POSTGRES_VECTOR.format(row="")}) STORED"""
    )
    op.execute(
        "CREATE INDEX ix_opportunities_search_vector ON opportunities USING gin (search_vector)"
    )
