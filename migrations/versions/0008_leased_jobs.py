"""Leased jobs (app.jobs): every job row gets a lease token of its own (no longer its attempt
number); a bulk decision records when its wake-up was sent (no longer in lease_until); the email
outbox becomes a leased job like the others: a "sending" status, a lease, an error.

Jobs running while this migrates hold no token: nobody owns them, so each is taken over once
its lease runs out. Stop the workers first to avoid even that.

Revision ID: 0008_leased_jobs
Revises: 0007_idempotent_requests
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_leased_jobs"
down_revision = "0007_idempotent_requests"
branch_labels = None
depends_on = None

NOTIFICATION_STATUSES = ("pending", "sending", "sent", "failed")
OLD_NOTIFICATION_STATUSES = ("pending", "sent", "failed")
STATUS_CHECK = "ck_notifications_notification_status"


def _notification_status(values: tuple[str, ...]) -> sa.Enum:
    return sa.Enum(
        *values,
        name="notification_status",
        native_enum=False,
        create_constraint=True,
        length=32,
    )


def _set_notification_statuses(new: tuple[str, ...], old: tuple[str, ...]) -> None:
    if op.get_bind().dialect.name == "sqlite":
        # SQLite cannot alter a CHECK constraint: the table is copied with the new one, which
        # the column's type carries (the old one is not reflected, so it is not copied).
        with op.batch_alter_table("notifications", recreate="always") as batch_op:
            batch_op.alter_column(
                "status",
                existing_type=_notification_status(old),
                type_=_notification_status(new),
                existing_nullable=False,
            )
        return
    op.drop_constraint(op.f(STATUS_CHECK), "notifications", type_="check")
    listed = ", ".join(f"'{value}'" for value in new)
    op.create_check_constraint(op.f(STATUS_CHECK), "notifications", f"status IN ({listed})")


def upgrade():
    for table in ("reports", "report_parts"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("lease_token", sa.String(length=32), nullable=True))
    # A consultation report waiting for its parts is held by no worker now (its parts are).
    op.execute(
        "UPDATE reports SET lease_until = NULL "
        "WHERE status = 'running' AND parts_done < parts_total"
    )

    with op.batch_alter_table("bulk_actions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lease_token", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("enqueued_at", sa.DateTime(timezone=True), nullable=True))
    # A queued action's lease_until was when its wake-up was last sent.
    op.execute(
        "UPDATE bulk_actions SET enqueued_at = lease_until, lease_until = NULL "
        "WHERE status = 'queued'"
    )

    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("lease_token", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("enqueued_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.alter_column("last_error", new_column_name="error", existing_type=sa.Text())
        # A pending message is now tried at the next reconciliation, whatever its last try.
        batch_op.drop_column("last_attempt_at")
    _set_notification_statuses(NOTIFICATION_STATUSES, OLD_NOTIFICATION_STATUSES)


def downgrade():
    op.execute("UPDATE notifications SET status = 'pending' WHERE status = 'sending'")
    _set_notification_statuses(OLD_NOTIFICATION_STATUSES, NOTIFICATION_STATUSES)
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.alter_column("error", new_column_name="last_error", existing_type=sa.Text())
        batch_op.drop_column("enqueued_at")
        batch_op.drop_column("lease_token")
        batch_op.drop_column("lease_until")

    op.execute(
        "UPDATE bulk_actions SET lease_until = enqueued_at, enqueued_at = NULL "
        "WHERE status = 'queued'"
    )
    with op.batch_alter_table("bulk_actions", schema=None) as batch_op:
        batch_op.drop_column("enqueued_at")
        batch_op.drop_column("lease_token")

    for table in ("report_parts", "reports"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("lease_token")
