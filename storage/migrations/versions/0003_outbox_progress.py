"""Progress of split messages in the outbox; a source's history of new items, and its hold.

``outbox.sent_parts``: the platform ids of the parts of a split message already sent, so a
retry resumes after the last one instead of sending the earlier parts again.
``sources.new_items_history``: new items in recent polls (the baseline a flood is measured
against); ``sources.held_at`` / ``held_reason``: a source held after a flood, whose items are
stored but not alerted until an admin releases it.

Revision ID: 0003_outbox
Revises: 0002_live
Create Date: 2026-12-04 01:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_outbox"
down_revision = "0002_live"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sent_parts", sa.JSON(), nullable=True))
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.add_column(sa.Column("new_items_history", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("held_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("held_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.drop_column("held_reason")
        batch_op.drop_column("held_at")
        batch_op.drop_column("new_items_history")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("sent_parts")
