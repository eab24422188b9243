"""Flag checks: submissions waiting for their automatic flags, taken by the worker in batches.

Revision ID: 0009_flag_checks
Revises: 0008_leased_jobs
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_flag_checks"
down_revision = "0008_leased_jobs"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "flag_checks",
        sa.Column("feedback_id", sa.Integer(), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["feedback_id"],
            ["feedback.id"],
            name="fk_flag_checks_feedback_id_feedback",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("feedback_id", name="pk_flag_checks"),
    )


def downgrade():
    op.drop_table("flag_checks")
