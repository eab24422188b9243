"""No overall position: the stance 'no_position' joins the CHECK constraint of feedback.stance.

The column is a VARCHAR(32) with the named CHECK constraint `ck_feedback_stance` (a portable
enum, app.models.base.str_enum), so only the constraint changes. PostgreSQL drops and re-adds
it. SQLite cannot alter a constraint, and recreating `feedback` would drop its triggers (the
flag queue's and the published tallies'); a constraint that only accepts more values changes
nothing stored, so the table's SQL is rewritten in place, the procedure SQLite documents for
loosening a constraint (https://sqlite.org/lang_altertable.html#otheralter).

A downgrade refuses while a position has no overall position: there is no stance to give it
back that would not misstate it.

Revision ID: 0013_no_overall_position
Revises: 0012_campaign_merges
Create Date: 2026-12-09
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_no_overall_position"
down_revision = "0012_campaign_merges"
branch_labels = None
depends_on = None

CONSTRAINT = "ck_feedback_stance"
BEFORE = ("support", "support_with_amendments", "neutral", "oppose")
AFTER = (*BEFORE, "no_position")


def upgrade():
    _allow(BEFORE, AFTER)


def downgrade():
    used = op.get_bind().scalar(
        sa.text("SELECT count(*) FROM feedback WHERE stance = 'no_position'")
    )
    if used:
        raise RuntimeError(
            f"{used} positions state no overall position, a stance the earlier schema lacks: "
            "change them before downgrading."
        )
    _allow(AFTER, BEFORE)


def _check(values: tuple[str, ...]) -> str:
    return "stance IN ({})".format(", ".join(f"'{value}'" for value in values))


def _allow(old: tuple[str, ...], new: tuple[str, ...]) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        op.drop_constraint(op.f(CONSTRAINT), "feedback", type_="check")
        op.create_check_constraint(op.f(CONSTRAINT), "feedback", _check(new))
        return
    table_sql = bind.scalar(
        sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'feedback'")
    )
    old_clause = f"CONSTRAINT {CONSTRAINT} CHECK ({_check(old)})"
    if old_clause not in table_sql:
        raise RuntimeError(f"feedback's {CONSTRAINT} is not the expected {old_clause!r}")
    version = bind.scalar(sa.text("PRAGMA schema_version"))
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    bind.execute(
        sa.text("UPDATE sqlite_master SET sql = :sql WHERE type = 'table' AND name = 'feedback'"),
        {"sql": table_sql.replace(old_clause, f"CONSTRAINT {CONSTRAINT} CHECK ({_check(new)})")},
    )
    # A new schema version makes every connection, this one included, read the new SQL.
    bind.exec_driver_sql(f"PRAGMA schema_version = {version + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")
