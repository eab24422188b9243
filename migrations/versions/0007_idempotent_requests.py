"""API: requests sent with an Idempotency-Key and the answers they got.

Revision ID: 0007_idempotent_requests
Revises: 0006_responses_and_publication
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_idempotent_requests"
down_revision = "0006_responses_and_publication"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "idempotent_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "key"),
    )


def downgrade():
    op.drop_table("idempotent_requests")
