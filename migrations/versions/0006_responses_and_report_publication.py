"""Reports: per-item parts with fan-in, publication of public versions, reports compiled on
closing and weekly with the council told; council responses: when the organisations were told;
notifications: an attachment.

Revision ID: 0006_responses_and_publication
Revises: 0005_flag_queue_columns
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_responses_and_publication"
down_revision = "0005_flag_queue_columns"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "report_parts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "queued",
                "running",
                "done",
                "failed",
                name="report_part_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("enqueued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name=op.f("fk_report_parts_item_id_items"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["reports.id"],
            name=op.f("fk_report_parts_report_id_reports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_parts")),
        sa.UniqueConstraint("report_id", "item_id", name=op.f("uq_report_parts_report_id_item_id")),
    )
    with op.batch_alter_table("report_parts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_report_parts_report_id"), ["report_id"], unique=False)
        batch_op.create_index(
            "ix_report_parts_status_lease_until", ["status", "lease_until"], unique=False
        )

    with op.batch_alter_table("council_responses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True))
    # Responses published before this column existed are not announced again.
    op.execute("UPDATE council_responses SET notified_at = published_at")

    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("published_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("published_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("parts_total", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("parts_done", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_reports_published_by_id_users"),
            "users",
            ["published_by_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.add_column(
            sa.Column("notify_council", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.alter_column("parts_total", server_default=None)
        batch_op.alter_column("parts_done", server_default=None)
        batch_op.alter_column("notify_council", server_default=None)

    with op.batch_alter_table("consultations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("closing_report_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("last_digest_at", sa.DateTime(timezone=True), nullable=True))
    # Consultations closed before this migration already had their say: no closing report is
    # compiled (and mailed to the council) for each of them on the first run of beat.
    op.execute(
        "UPDATE consultations SET closing_report_at = CURRENT_TIMESTAMP "
        "WHERE closes_at < CURRENT_TIMESTAMP OR state_override = 'closed'"
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attachment", sa.String(length=500), nullable=True))


def downgrade():
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_column("attachment")
    with op.batch_alter_table("consultations", schema=None) as batch_op:
        batch_op.drop_column("last_digest_at")
        batch_op.drop_column("closing_report_at")
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_column("notify_council")
        batch_op.drop_constraint(batch_op.f("fk_reports_published_by_id_users"), type_="foreignkey")
        batch_op.drop_column("parts_done")
        batch_op.drop_column("parts_total")
        batch_op.drop_column("published_by_id")
        batch_op.drop_column("published_at")
    with op.batch_alter_table("council_responses", schema=None) as batch_op:
        batch_op.drop_column("notified_at")
    with op.batch_alter_table("report_parts", schema=None) as batch_op:
        batch_op.drop_index("ix_report_parts_status_lease_until")
        batch_op.drop_index(batch_op.f("ix_report_parts_report_id"))
    op.drop_table("report_parts")
