"""Report part ranges: a consultation report's part reads one item, or one range of its rows
(feedback ids from first_id to end_id), so that several workers share a large item.

Revision ID: 0011_report_part_ranges
Revises: 0010_published_tallies
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_report_part_ranges"
down_revision = "0010_published_tallies"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("report_parts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("first_id", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("end_id", sa.Integer(), nullable=True))
        batch_op.drop_constraint("uq_report_parts_report_id_item_id", type_="unique")
        batch_op.create_unique_constraint(
            "uq_report_parts_report_id_item_id_first_id", ["report_id", "item_id", "first_id"]
        )


def downgrade():
    # A report planned in ranges keeps one part per item: its first range.
    op.execute("DELETE FROM report_parts WHERE first_id <> 0")
    with op.batch_alter_table("report_parts", schema=None) as batch_op:
        batch_op.drop_constraint("uq_report_parts_report_id_item_id_first_id", type_="unique")
        batch_op.create_unique_constraint(
            "uq_report_parts_report_id_item_id", ["report_id", "item_id"]
        )
        batch_op.drop_column("end_id")
        batch_op.drop_column("first_id")
