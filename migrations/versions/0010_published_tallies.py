"""Published tallies: the public count of each item's positions by stance and priority, kept by
database triggers in the same transaction as the writes that change it.

The public item page read its tally with a GROUP BY over every published position of the item
plus a scan of their co-signatures (372 ms of a 395 ms page at 83k positions). It now reads the
few rows of one item here. A row counts the published positions of its (item, stance,
priority) and the accepted co-signatures of those positions; a missing stance is stored as ''
and a missing priority as 0, so the key holds no NULL.

The counts are kept by triggers, so every writer (the ORM, bulk moderation, COPY, raw SQL)
keeps them right without knowing about them:
- a position inserted, updated (state, stance, priority, item) or deleted;
- a co-signature inserted, accepted, withdrawn or deleted while its position is published.
On PostgreSQL the inserts and updates are statement-level triggers over transition tables: a
bulk publish of 10,000 positions is one upsert per (stance, priority). Deletes are row-level
BEFORE triggers: they run before the cascade removes the co-signatures they must subtract.

A writer that fills many rows over several concurrent transactions (the synthetic fill) may set
`SET LOCAL consulta.defer_tallies = 'on'` and recount the items it wrote afterwards
(app.consultations.services.recount_published_tallies): its transactions would otherwise wait
for each other's counts until they commit.

The public lists filtered by stance or language (the API) get partial indexes of published
feedback: a filter that matched nothing read every published row of the item (73 ms at 7k).

Beware: a later `batch_alter_table` on `feedback` or `feedback_cosigners` recreates the table on
SQLite and loses its triggers; such a migration must create them again (see _create_triggers).

Revision ID: 0010_published_tallies
Revises: 0009_flag_checks
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_published_tallies"
down_revision = "0009_flag_checks"
branch_labels = None
depends_on = None

# The key of a position's tally row, from a feedback row aliased `f`.
_KEY = "f.item_id, coalesce(f.stance, ''), coalesce(f.priority, 0)"
_UPSERT = """
    ON CONFLICT (item_id, stance, priority) DO UPDATE
    SET positions = published_tallies.positions + excluded.positions,
        cosignatures = published_tallies.cosignatures + excluded.cosignatures
"""
_DEFERRED = """
    IF current_setting('consulta.defer_tallies', true) = 'on' THEN
        RETURN NULL;
    END IF;
"""

POSTGRESQL_TRIGGERS = (
    f"""
    CREATE FUNCTION feedback_tally_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        {_DEFERRED}
        INSERT INTO published_tallies (item_id, stance, priority, positions, cosignatures)
        SELECT {_KEY}, count(*), 0 FROM new_rows AS f WHERE f.state = 'published'
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        {_UPSERT};
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER feedback_tally_insert AFTER INSERT ON feedback
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION feedback_tally_insert()
    """,
    # Each changed position leaves its old row and joins its new one, with its co-signatures
    # (read after the statement: the same for both sides).
    f"""
    CREATE FUNCTION feedback_tally_update() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        {_DEFERRED}
        WITH changed AS (
            SELECT o.id, o.state = 'published' AS was, n.state = 'published' AS is_now,
                   o.item_id AS old_item, o.stance AS old_stance, o.priority AS old_priority,
                   n.item_id, n.stance, n.priority
            FROM old_rows AS o JOIN new_rows AS n ON n.id = o.id
            WHERE (o.state = 'published' OR n.state = 'published')
              AND (o.state IS DISTINCT FROM n.state OR o.item_id IS DISTINCT FROM n.item_id
                   OR o.stance IS DISTINCT FROM n.stance
                   OR o.priority IS DISTINCT FROM n.priority)
        ), weighted AS (
            SELECT changed.*, coalesce(accepted.n, 0) AS cosignatures
            FROM changed LEFT JOIN (
                SELECT c.feedback_id, count(*) AS n FROM feedback_cosigners AS c
                WHERE c.state = 'accepted' AND c.feedback_id IN (SELECT id FROM changed)
                GROUP BY c.feedback_id
            ) AS accepted ON accepted.feedback_id = changed.id
        ), deltas AS (
            SELECT old_item AS item_id, old_stance AS stance, old_priority AS priority,
                   -1 AS positions, -cosignatures AS cosignatures
            FROM weighted WHERE was
            UNION ALL
            SELECT item_id, stance, priority, 1, cosignatures FROM weighted WHERE is_now
        )
        INSERT INTO published_tallies (item_id, stance, priority, positions, cosignatures)
        SELECT {_KEY}, sum(f.positions), sum(f.cosignatures) FROM deltas AS f
        GROUP BY 1, 2, 3
        HAVING sum(f.positions) <> 0 OR sum(f.cosignatures) <> 0
        ORDER BY 1, 2, 3
        {_UPSERT};
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER feedback_tally_update AFTER UPDATE ON feedback
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION feedback_tally_update()
    """,
    f"""
    CREATE FUNCTION feedback_tally_delete() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE published_tallies
        SET positions = positions - 1,
            cosignatures = cosignatures - (
                SELECT count(*) FROM feedback_cosigners AS c
                WHERE c.feedback_id = OLD.id AND c.state = 'accepted')
        WHERE item_id = OLD.item_id AND stance = coalesce(OLD.stance, '')
          AND priority = coalesce(OLD.priority, 0);
        RETURN OLD;
    END
    $$
    """,
    """
    CREATE TRIGGER feedback_tally_delete BEFORE DELETE ON feedback
    FOR EACH ROW WHEN (OLD.state = 'published') EXECUTE FUNCTION feedback_tally_delete()
    """,
    # A co-signature deleted with its position finds the position gone: the position's own
    # trigger subtracted it.
    *(
        statement
        for event, deltas in (
            ("INSERT", "SELECT feedback_id, 1 AS delta FROM new_rows WHERE state = 'accepted'"),
            (
                "UPDATE",
                "SELECT feedback_id, 1 AS delta FROM new_rows WHERE state = 'accepted'"
                " UNION ALL SELECT feedback_id, -1 FROM old_rows WHERE state = 'accepted'",
            ),
            ("DELETE", "SELECT feedback_id, -1 AS delta FROM old_rows WHERE state = 'accepted'"),
        )
        for statement in (
            f"""
            CREATE FUNCTION cosigner_tally_{event.lower()}() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                {_DEFERRED}
                INSERT INTO published_tallies (item_id, stance, priority, positions, cosignatures)
                SELECT {_KEY}, 0, sum(d.delta)
                FROM ({deltas}) AS d JOIN feedback AS f ON f.id = d.feedback_id
                WHERE f.state = 'published'
                GROUP BY 1, 2, 3 HAVING sum(d.delta) <> 0 ORDER BY 1, 2, 3
                {_UPSERT};
                RETURN NULL;
            END
            $$
            """,
            f"""
            CREATE TRIGGER cosigner_tally_{event.lower()} AFTER {event} ON feedback_cosigners
            REFERENCING {"OLD TABLE AS old_rows " if event != "INSERT" else ""}"""
            f"""{"NEW TABLE AS new_rows" if event != "DELETE" else ""}
            FOR EACH STATEMENT EXECUTE FUNCTION cosigner_tally_{event.lower()}()
            """,
        )
    ),
)

DROP_POSTGRESQL = tuple(
    statement
    for name, table in (
        ("feedback_tally_insert", "feedback"),
        ("feedback_tally_update", "feedback"),
        ("feedback_tally_delete", "feedback"),
        ("cosigner_tally_insert", "feedback_cosigners"),
        ("cosigner_tally_update", "feedback_cosigners"),
        ("cosigner_tally_delete", "feedback_cosigners"),
    )
    for statement in (
        f"DROP TRIGGER IF EXISTS {name} ON {table}",
        f"DROP FUNCTION IF EXISTS {name}()",
    )
)

# SQLite: row triggers. Each SELECT of an upsert has a WHERE clause (SQLite's parser needs one
# before ON CONFLICT).
_SQLITE_ACCEPTED = (
    "(SELECT count(*) FROM feedback_cosigners AS c WHERE c.feedback_id = {row}.id"
    " AND c.state = 'accepted')"
)


def _sqlite_add(row: str, positions: str, cosignatures: str) -> str:
    """Add to the tally row of the position `row` (NEW or OLD, or a feedback alias)."""
    return f"""
        INSERT INTO published_tallies (item_id, stance, priority, positions, cosignatures)
        SELECT {row}.item_id, coalesce({row}.stance, ''), coalesce({row}.priority, 0),
               {positions}, {cosignatures}
        WHERE {row}.state = 'published'
        {_UPSERT};
    """


def _sqlite_subtract(row: str, positions: str, cosignatures: str) -> str:
    return f"""
        UPDATE published_tallies
        SET positions = positions - {positions}, cosignatures = cosignatures - {cosignatures}
        WHERE {row}.state = 'published' AND item_id = {row}.item_id
          AND stance = coalesce({row}.stance, '') AND priority = coalesce({row}.priority, 0);
    """


def _sqlite_cosignature(row: str, sign: str) -> str:
    """Count the co-signature `row` (+1 or -1) on its position, when that is published."""
    return f"""
        INSERT INTO published_tallies (item_id, stance, priority, positions, cosignatures)
        SELECT f.item_id, coalesce(f.stance, ''), coalesce(f.priority, 0), 0, {sign}1
        FROM feedback AS f
        WHERE f.id = {row}.feedback_id AND f.state = 'published' AND {row}.state = 'accepted'
        {_UPSERT};
    """


SQLITE_TRIGGERS = (
    f"""
    CREATE TRIGGER feedback_tally_insert AFTER INSERT ON feedback
    WHEN NEW.state = 'published'
    BEGIN {_sqlite_add("NEW", "1", "0")} END
    """,
    f"""
    CREATE TRIGGER feedback_tally_update AFTER UPDATE OF state, stance, priority, item_id
    ON feedback
    WHEN (OLD.state = 'published' OR NEW.state = 'published')
      AND (OLD.state IS NOT NEW.state OR OLD.stance IS NOT NEW.stance
           OR OLD.priority IS NOT NEW.priority OR OLD.item_id IS NOT NEW.item_id)
    BEGIN
        {_sqlite_subtract("OLD", "1", _SQLITE_ACCEPTED.format(row="OLD"))}
        {_sqlite_add("NEW", "1", _SQLITE_ACCEPTED.format(row="NEW"))}
    END
    """,
    f"""
    CREATE TRIGGER feedback_tally_delete BEFORE DELETE ON feedback
    WHEN OLD.state = 'published'
    BEGIN {_sqlite_subtract("OLD", "1", _SQLITE_ACCEPTED.format(row="OLD"))} END
    """,
    f"""
    CREATE TRIGGER cosigner_tally_insert AFTER INSERT ON feedback_cosigners
    WHEN NEW.state = 'accepted'
    BEGIN {_sqlite_cosignature("NEW", "")} END
    """,
    f"""
    CREATE TRIGGER cosigner_tally_update AFTER UPDATE OF state, feedback_id ON feedback_cosigners
    WHEN (OLD.state = 'accepted' OR NEW.state = 'accepted')
      AND (OLD.state IS NOT NEW.state OR OLD.feedback_id IS NOT NEW.feedback_id)
    BEGIN
        UPDATE published_tallies SET cosignatures = cosignatures - 1
        WHERE OLD.state = 'accepted' AND (item_id, stance, priority) = (
            SELECT f.item_id, coalesce(f.stance, ''), coalesce(f.priority, 0) FROM feedback AS f
            WHERE f.id = OLD.feedback_id AND f.state = 'published');
        {_sqlite_cosignature("NEW", "")}
    END
    """,
    """
    CREATE TRIGGER cosigner_tally_delete AFTER DELETE ON feedback_cosigners
    WHEN OLD.state = 'accepted'
    BEGIN
        UPDATE published_tallies SET cosignatures = cosignatures - 1
        WHERE (item_id, stance, priority) = (
            SELECT f.item_id, coalesce(f.stance, ''), coalesce(f.priority, 0) FROM feedback AS f
            WHERE f.id = OLD.feedback_id AND f.state = 'published');
    END
    """,
)
DROP_SQLITE = tuple(
    f"DROP TRIGGER IF EXISTS {name}"
    for name in (
        "feedback_tally_insert",
        "feedback_tally_update",
        "feedback_tally_delete",
        "cosigner_tally_insert",
        "cosigner_tally_update",
        "cosigner_tally_delete",
    )
)

# The counts from the rows as they are, for the backfill (and the same GROUP BY as the triggers).
BACKFILL = """
    INSERT INTO published_tallies (item_id, stance, priority, positions, cosignatures)
    SELECT f.item_id, coalesce(f.stance, ''), coalesce(f.priority, 0), count(*),
           coalesce(sum((SELECT count(*) FROM feedback_cosigners AS c
                         WHERE c.feedback_id = f.id AND c.state = 'accepted')), 0)
    FROM feedback AS f WHERE f.state = 'published'
    GROUP BY f.item_id, coalesce(f.stance, ''), coalesce(f.priority, 0)
"""


FILTERED_COLUMNS = ("stance", "language")


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _create_triggers():
    for statement in POSTGRESQL_TRIGGERS if _postgresql() else SQLITE_TRIGGERS:
        op.execute(statement)


def upgrade():
    op.create_table(
        "published_tallies",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("stance", sa.String(length=32), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("positions", sa.Integer(), nullable=False),
        sa.Column("cosignatures", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["items.id"],
            name="fk_published_tallies_item_id_items",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("item_id", "stance", "priority", name="pk_published_tallies"),
    )
    if _postgresql():
        # No position may change between the backfill and the triggers taking over.
        op.execute("LOCK TABLE feedback, feedback_cosigners IN SHARE ROW EXCLUSIVE MODE")
    _create_triggers()
    op.execute(BACKFILL)
    # The public lists filtered by stance or language: one range of a partial index each.
    for column in FILTERED_COLUMNS:
        op.create_index(
            f"ix_feedback_published_item_id_{column}",
            "feedback",
            ["item_id", column, "published_at", "id"],
            unique=False,
            postgresql_where=sa.text("state = 'published'"),
            sqlite_where=sa.text("state = 'published'"),
        )


def downgrade():
    for column in FILTERED_COLUMNS:
        op.drop_index(f"ix_feedback_published_item_id_{column}", table_name="feedback")
    for statement in DROP_POSTGRESQL if _postgresql() else DROP_SQLITE:
        op.execute(statement)
    op.drop_table("published_tallies")
