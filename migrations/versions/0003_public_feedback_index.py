"""Index for the public feedback pages: an item's published feedback, newest first.

Revision ID: 0003_public_feedback_index
Revises: 0002_accounts
Create Date: 2026-11-28
"""

from alembic import op

revision = "0003_public_feedback_index"
down_revision = "0002_accounts"
branch_labels = None
depends_on = None

INDEX = "ix_feedback_item_id_state_published_at_id"


def upgrade():
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.create_index(INDEX, ["item_id", "state", "published_at", "id"], unique=False)


def downgrade():
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_index(INDEX)
