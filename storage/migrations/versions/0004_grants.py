"""Past awards from 360Giving files: the ``grants`` table behind /funders and /funder.

Revision ID: 0004_grants
Revises: 0003_outbox
Create Date: 2026-12-04 03:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_grants"
down_revision = "0003_outbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grant_id", sa.String(length=512), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("amount_pence", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("award_date", sa.Date(), nullable=True),
        sa.Column("funder_id", sa.String(length=256), nullable=False),
        sa.Column("funder_name", sa.Text(), nullable=False),
        sa.Column("recipient_id", sa.String(length=256), nullable=False),
        sa.Column("recipient_name", sa.Text(), nullable=False),
        sa.Column("programme", sa.Text(), nullable=False),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("topics_text", sa.Text(), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("locations", sa.JSON(), nullable=False),
        sa.Column("licence", sa.Text(), nullable=False),
        sa.Column("publisher", sa.Text(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grants")),
        sa.UniqueConstraint("grant_id", name=op.f("uq_grants_grant_id")),
    )
    with op.batch_alter_table("grants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grants_award_date"), ["award_date"], unique=False)
        batch_op.create_index(batch_op.f("ix_grants_funder_id"), ["funder_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("grants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grants_funder_id"))
        batch_op.drop_index(batch_op.f("ix_grants_award_date"))
    op.drop_table("grants")
