"""Flag queue columns: each flag copies its submission's state and submitted_at, kept by triggers.

The queue filtered by a flag kind then reads one range of ix_moderation_flags_queue in queue
order, instead of walking every submission of the state and testing for the flag (772 ms at a
million rows when the kind has no submission in that state).

The copies are kept by database triggers, so every writer (the ORM, bulk UPDATE statements,
raw SQL, later code) keeps them in step without knowing about them:
- a change of feedback.state or feedback.submitted_at rewrites that submission's flags;
- a new flag (or a write to a flag's copies or feedback_id) takes them from its submission.

Beware: a later `batch_alter_table` on `feedback` or `moderation_flags` recreates the table on
SQLite and loses its triggers; such a migration must create them again (see _create_triggers).

Revision ID: 0005_flag_queue_columns
Revises: 0004_moderation
Create Date: 2026-12-05
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005_flag_queue_columns'
down_revision = '0004_moderation'
branch_labels = None
depends_on = None

FEEDBACK_STATES = ('draft', 'submitted', 'published', 'rejected', 'changes_requested', 'withdrawn')

POSTGRESQL_TRIGGERS = (
    # FOR SHARE waits for a decision on the submission that is not committed yet and then reads
    # its outcome: without it, a flag inserted while a decision is in flight would keep the state
    # from before the decision (the decision's trigger cannot see the uncommitted flag).
    """
    CREATE FUNCTION moderation_flags_copy_feedback() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        SELECT state, submitted_at INTO NEW.feedback_state, NEW.submitted_at
        FROM feedback WHERE id = NEW.feedback_id FOR SHARE;
        RETURN NEW;
    END
    $$
    """,
    """
    CREATE TRIGGER moderation_flags_copy_feedback
    BEFORE INSERT OR UPDATE OF feedback_id, feedback_state, submitted_at ON moderation_flags
    FOR EACH ROW EXECUTE FUNCTION moderation_flags_copy_feedback()
    """,
    """
    CREATE FUNCTION feedback_sync_moderation_flags() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE moderation_flags SET feedback_state = NEW.state, submitted_at = NEW.submitted_at
        WHERE feedback_id = NEW.id;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER feedback_sync_moderation_flags
    AFTER UPDATE OF state, submitted_at ON feedback
    FOR EACH ROW
    WHEN (OLD.state IS DISTINCT FROM NEW.state OR OLD.submitted_at IS DISTINCT FROM NEW.submitted_at)
    EXECUTE FUNCTION feedback_sync_moderation_flags()
    """,
)

# SQLite cannot assign NEW in a BEFORE trigger: the new row is corrected just after it is
# written. The WHEN clauses stop the correction from re-triggering itself.
_SQLITE_COPY = """
    UPDATE moderation_flags
    SET feedback_state = (SELECT state FROM feedback WHERE id = NEW.feedback_id),
        submitted_at = (SELECT submitted_at FROM feedback WHERE id = NEW.feedback_id)
    WHERE id = NEW.id;
"""
SQLITE_TRIGGERS = (
    f"""
    CREATE TRIGGER moderation_flags_copy_feedback
    AFTER INSERT ON moderation_flags
    BEGIN {_SQLITE_COPY} END
    """,
    f"""
    CREATE TRIGGER moderation_flags_recopy_feedback
    AFTER UPDATE OF feedback_id, feedback_state, submitted_at ON moderation_flags
    WHEN NEW.feedback_state IS NOT (SELECT state FROM feedback WHERE id = NEW.feedback_id)
      OR NEW.submitted_at IS NOT (SELECT submitted_at FROM feedback WHERE id = NEW.feedback_id)
    BEGIN {_SQLITE_COPY} END
    """,
    """
    CREATE TRIGGER feedback_sync_moderation_flags
    AFTER UPDATE OF state, submitted_at ON feedback
    WHEN OLD.state IS NOT NEW.state OR OLD.submitted_at IS NOT NEW.submitted_at
    BEGIN
        UPDATE moderation_flags SET feedback_state = NEW.state, submitted_at = NEW.submitted_at
        WHERE feedback_id = NEW.id;
    END
    """,
)

DROP_POSTGRESQL = (
    "DROP TRIGGER IF EXISTS feedback_sync_moderation_flags ON feedback",
    "DROP FUNCTION IF EXISTS feedback_sync_moderation_flags()",
    "DROP TRIGGER IF EXISTS moderation_flags_copy_feedback ON moderation_flags",
    "DROP FUNCTION IF EXISTS moderation_flags_copy_feedback()",
)
DROP_SQLITE = (
    "DROP TRIGGER IF EXISTS feedback_sync_moderation_flags",
    "DROP TRIGGER IF EXISTS moderation_flags_recopy_feedback",
    "DROP TRIGGER IF EXISTS moderation_flags_copy_feedback",
)


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _create_triggers():
    for statement in POSTGRESQL_TRIGGERS if _postgresql() else SQLITE_TRIGGERS:
        op.execute(statement)


def upgrade():
    with op.batch_alter_table('moderation_flags', schema=None) as batch_op:
        batch_op.add_column(sa.Column('feedback_state', sa.Enum(*FEEDBACK_STATES, name='feedback_state', native_enum=False, create_constraint=True, length=32), nullable=True))
        batch_op.add_column(sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True))
        # The queue index starts with kind: it serves every lookup by kind alone as well.
        batch_op.drop_index(batch_op.f('ix_moderation_flags_kind'))
        batch_op.create_index('ix_moderation_flags_queue', ['kind', 'feedback_state', 'submitted_at', 'feedback_id'], unique=False)

    # Triggers first, then the backfill: no flag written in between is missed.
    _create_triggers()
    if _postgresql():
        op.execute(
            "UPDATE moderation_flags AS flag SET feedback_state = feedback.state,"
            " submitted_at = feedback.submitted_at"
            " FROM feedback WHERE feedback.id = flag.feedback_id"
        )
    else:
        op.execute(
            "UPDATE moderation_flags"
            " SET feedback_state = (SELECT state FROM feedback"
            "   WHERE feedback.id = moderation_flags.feedback_id),"
            " submitted_at = (SELECT submitted_at FROM feedback"
            "   WHERE feedback.id = moderation_flags.feedback_id)"
        )


def downgrade():
    for statement in DROP_POSTGRESQL if _postgresql() else DROP_SQLITE:
        op.execute(statement)
    with op.batch_alter_table('moderation_flags', schema=None) as batch_op:
        batch_op.drop_index('ix_moderation_flags_queue')
        batch_op.create_index(batch_op.f('ix_moderation_flags_kind'), ['kind'], unique=False)
        batch_op.drop_column('submitted_at')
        # SQLite's batch copy would otherwise keep the CHECK of a column it no longer has.
        batch_op.drop_constraint(batch_op.f('ck_moderation_flags_feedback_state'), type_='check')
        batch_op.drop_column('feedback_state')
