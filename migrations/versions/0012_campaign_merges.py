"""Campaigns confirmed by similarity and merged when bridged: `campaign_merges` remembers where
an absorbed campaign's key went; every fingerprint is recomputed (the fingerprinted text no
longer reads "None" for a missing amendment), so each submission under review or published, and
each counted under a representative, is queued for its flags again and the worker regroups the
campaigns in batches.

Revision ID: 0012_campaign_merges
Revises: 0011_report_part_ranges
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_campaign_merges"
down_revision = "0011_report_part_ranges"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "campaign_merges",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("merged_into", sa.String(length=64), nullable=False),
        sa.Column("merged_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_campaign_merges")),
    )
    op.create_index(
        op.f("ix_campaign_merges_merged_into"), "campaign_merges", ["merged_into"], unique=False
    )
    _flag_again()


def downgrade():
    op.drop_index(op.f("ix_campaign_merges_merged_into"), table_name="campaign_merges")
    op.drop_table("campaign_merges")
    _flag_again()


def _flag_again():
    op.execute("DELETE FROM feedback_fingerprints")
    op.execute(
        "INSERT INTO flag_checks (feedback_id, queued_at) "
        "SELECT id, CURRENT_TIMESTAMP FROM feedback "
        "WHERE (state IN ('submitted', 'published') OR moderation_code = 'campaign_counted') "
        "AND id NOT IN (SELECT feedback_id FROM flag_checks)"
    )
