"""Initial schema, with full-text search over opportunities.

Revision ID: 0001
Revises:
Create Date: 2026-11-22 01:34:07.911887
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chats",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("platform_chat_id", sa.String(length=64), nullable=False),
        sa.Column("thread_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("organisation", sa.Text(), nullable=True),
        sa.Column("sector", sa.String(length=32), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("managed_by", sa.String(length=64), nullable=True),
        sa.Column("glossary_in_alerts", sa.Boolean(), nullable=False),
        sa.Column("term_of_week", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("paused_reason", sa.Text(), nullable=True),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chats")),
        sa.UniqueConstraint(
            "platform", "platform_chat_id", "thread_id", name=op.f("uq_chats_platform")
        ),
    )
    op.create_table(
        "glossary_terms",
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("term", sa.String(length=128), nullable=False),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.Column("group", sa.String(length=32), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("audience", sa.String(length=64), nullable=False),
        sa.Column("example", sa.Text(), nullable=False),
        sa.Column("related", sa.JSON(), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("slug", name=op.f("pk_glossary_terms")),
    )
    op.create_table(
        "http_validators",
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("etag", sa.String(length=512), nullable=True),
        sa.Column("last_modified", sa.String(length=128), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("url", name=op.f("pk_http_validators")),
    )
    op.create_table(
        "opportunities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=512), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("canonical_url", sa.String(length=2048), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("duplicate_of_id", sa.Integer(), nullable=True),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("funders", sa.JSON(), nullable=False),
        sa.Column("opens_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("location", sa.Text(), nullable=True),
        sa.Column("online", sa.Boolean(), nullable=True),
        sa.Column("total_fund_pence", sa.BigInteger(), nullable=True),
        sa.Column("award_min_pence", sa.BigInteger(), nullable=True),
        sa.Column("award_max_pence", sa.BigInteger(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("eligibility", sa.Text(), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("glossary_terms", sa.JSON(), nullable=False),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_changes", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["duplicate_of_id"],
            ["opportunities.id"],
            name=op.f("fk_opportunities_duplicate_of_id_opportunities"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["opportunities.id"],
            name=op.f("fk_opportunities_parent_id_opportunities"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opportunities")),
        sa.UniqueConstraint("source", "external_id", name=op.f("uq_opportunities_source")),
    )
    with op.batch_alter_table("opportunities", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_opportunities_canonical_url"), ["canonical_url"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_opportunities_fingerprint"), ["fingerprint"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_opportunities_kind"), ["kind"], unique=False)
        batch_op.create_index(
            "ix_opportunities_status_closes_at", ["status", "closes_at"], unique=False
        )

    op.create_table(
        "sources",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_poll_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("items_last_parsed", sa.Integer(), nullable=True),
        sa.Column("items_max_parsed", sa.Integer(), nullable=False),
        sa.Column("markup_suspect", sa.Boolean(), nullable=False),
        sa.Column("last_duration_ms", sa.Integer(), nullable=True),
        sa.Column("admins_alerted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_sources")),
    )
    op.create_table(
        "glossary_suggestions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.String(length=64), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["chat_id"],
            ["chats.id"],
            name=op.f("fk_glossary_suggestions_chat_id_chats"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_glossary_suggestions")),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.Integer(), nullable=False),
        sa.Column("opportunity_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("dedupe_key", sa.String(length=255), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("platform_message_id", sa.String(length=64), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["chat_id"], ["chats.id"], name=op.f("fk_outbox_chat_id_chats"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["opportunity_id"],
            ["opportunities.id"],
            name=op.f("fk_outbox_opportunity_id_opportunities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("chat_id", "dedupe_key", name=op.f("uq_outbox_chat_id")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_outbox_opportunity_id"), ["opportunity_id"], unique=False
        )
        batch_op.create_index(
            "ix_outbox_status_priority_next",
            ["status", "priority", "next_attempt_at"],
            unique=False,
        )

    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.Integer(), nullable=False),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("keywords", sa.JSON(), nullable=False),
        sa.Column("exclude_keywords", sa.JSON(), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("kinds", sa.JSON(), nullable=False),
        sa.Column("funders", sa.JSON(), nullable=False),
        sa.Column("min_amount_pence", sa.BigInteger(), nullable=True),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("digest_hour", sa.Integer(), nullable=False),
        sa.Column("digest_weekday", sa.Integer(), nullable=False),
        sa.Column("reminder_days", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["chat_id"],
            ["chats.id"],
            name=op.f("fk_subscriptions_chat_id_chats"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriptions")),
    )
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_subscriptions_chat_id"), ["chat_id"], unique=False)

    op.create_table(
        "tracked",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.Integer(), nullable=False),
        sa.Column("opportunity_id", sa.Integer(), nullable=False),
        sa.Column("requested", sa.Boolean(), nullable=False),
        sa.Column("dismissed", sa.Boolean(), nullable=False),
        sa.Column("reminder_days", sa.JSON(), nullable=False),
        sa.Column("platform_message_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["chat_id"], ["chats.id"], name=op.f("fk_tracked_chat_id_chats"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["opportunity_id"],
            ["opportunities.id"],
            name=op.f("fk_tracked_opportunity_id_opportunities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracked")),
        sa.UniqueConstraint("chat_id", "opportunity_id", name=op.f("uq_tracked_chat_id")),
    )
    with op.batch_alter_table("tracked", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_tracked_opportunity_id"), ["opportunity_id"], unique=False
        )
    create_search()


# Full-text search lives outside the ORM models: an FTS5 table kept in step by triggers on
# SQLite, a weighted generated tsvector with a GIN index on PostgreSQL.
SQLITE_SEARCH = [
    """CREATE VIRTUAL TABLE opportunities_fts USING fts5(
        title, summary, search_text,
        content='opportunities', content_rowid='id',
        tokenize='porter unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER opportunities_fts_ai AFTER INSERT ON opportunities BEGIN
        INSERT INTO opportunities_fts(rowid, title, summary, search_text)
        VALUES (new.id, new.title, new.summary, new.search_text);
    END""",
    """CREATE TRIGGER opportunities_fts_ad AFTER DELETE ON opportunities BEGIN
        INSERT INTO opportunities_fts(opportunities_fts, rowid, title, summary, search_text)
        VALUES ('delete', old.id, old.title, old.summary, old.search_text);
    END""",
    """CREATE TRIGGER opportunities_fts_au AFTER UPDATE OF title, summary, search_text
        ON opportunities BEGIN
        INSERT INTO opportunities_fts(opportunities_fts, rowid, title, summary, search_text)
        VALUES ('delete', old.id, old.title, old.summary, old.search_text);
        INSERT INTO opportunities_fts(rowid, title, summary, search_text)
        VALUES (new.id, new.title, new.summary, new.search_text);
    END""",
]

POSTGRES_SEARCH = [
    """ALTER TABLE opportunities ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', coalesce(title, '')), 'A') ||
        setweight(to_tsvector('english', coalesce(summary, '')), 'B') ||
        setweight(to_tsvector('english', coalesce(search_text, '')), 'C')) STORED""",
    "CREATE INDEX ix_opportunities_search_vector ON opportunities USING gin (search_vector)",
]


def create_search() -> None:
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_SEARCH if dialect == "sqlite" else POSTGRES_SEARCH:
        op.execute(statement)


def drop_search() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("opportunities_fts_ai", "opportunities_fts_ad", "opportunities_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS opportunities_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_opportunities_search_vector")
        op.execute("ALTER TABLE opportunities DROP COLUMN IF EXISTS search_vector")


def downgrade() -> None:
    drop_search()
    with op.batch_alter_table("tracked", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tracked_opportunity_id"))

    op.drop_table("tracked")
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subscriptions_chat_id"))

    op.drop_table("subscriptions")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_status_priority_next")
        batch_op.drop_index(batch_op.f("ix_outbox_opportunity_id"))

    op.drop_table("outbox")
    op.drop_table("glossary_suggestions")
    op.drop_table("sources")
    with op.batch_alter_table("opportunities", schema=None) as batch_op:
        batch_op.drop_index("ix_opportunities_status_closes_at")
        batch_op.drop_index(batch_op.f("ix_opportunities_kind"))
        batch_op.drop_index(batch_op.f("ix_opportunities_fingerprint"))
        batch_op.drop_index(batch_op.f("ix_opportunities_canonical_url"))

    op.drop_table("opportunities")
    op.drop_table("http_validators")
    op.drop_table("glossary_terms")
    op.drop_table("chats")
