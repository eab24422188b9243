"""The run's PostgreSQL database between tests: seeded once, copied aside, put back cheaply.

The content and demo data are seeded once per session and copied into the `seed_snapshot`
schema. Before each test the tables are emptied with DELETE and, for a test that asks for the
seeded data, refilled from the copy: 1 ms empty and 11 ms seeded, where a TRUNCATE of every
table took 230 ms and seeding with argon2 several seconds. Everything is committed, so the
session's worker process and the live server (other connections) see what the test sees.

Before a reset the session's worker, once started, finishes the task it is running and the
wake-ups no one took are dropped (tests/helpers/worker.py, settle_queue). Sequences keep counting
across tests: a row a test creates never gets the id of a row an earlier test created, so
anything late from an earlier test finds nothing of this one to touch.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

from flask import Flask
from sqlalchemy import Table, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError

from app.extensions import db
from app.models import Consultation, User
from app.models.base import utcnow

SNAPSHOT_SCHEMA = "seed_snapshot"
# Kept by database triggers from the rows copied back: copying them too would count twice.
DERIVED_TABLES = frozenset({"published_tallies"})
EMPTY, SEEDED, UNKNOWN = "empty", "seeded", "unknown"


def open_every_consultation() -> None:
    """Tests must not depend on today's date: every consultation is open now, for 30 days."""
    now = utcnow()
    db.session.execute(
        update(Consultation).values(
            opens_at=now - timedelta(days=1), closes_at=now + timedelta(days=30)
        )
    )
    db.session.commit()


def seed_everything() -> None:
    """The seeded consultations, every one open, plus the demo accounts and feedback."""
    from app.consultations.seeding import seed_content
    from app.dev.demo import seed_demo_data

    seed_content()
    open_every_consultation()
    seed_demo_data()


def user_by_email(app: Flask, email: str):
    """The user row as it is now, detached from any session, for assertions."""
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        db.session.expunge_all()
        return user


class SessionDatabase:
    """Puts the session's database into the state a test starts from: empty, or seeded."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.state = UNKNOWN
        # Set while the session's worker runs: lets it finish what an ended test gave it.
        self.before_reset: Callable[[], None] | None = None
        with app.app_context():
            seed_everything()
            tables = db.metadata.sorted_tables
            with db.engine.begin() as connection:
                connection.execute(text(f"DROP SCHEMA IF EXISTS {SNAPSHOT_SCHEMA} CASCADE"))
                connection.execute(text(f"CREATE SCHEMA {SNAPSHOT_SCHEMA}"))
                for table in tables:
                    connection.execute(
                        text(
                            f'CREATE TABLE {SNAPSHOT_SCHEMA}."{table.name}" AS TABLE "{table.name}"'
                        )
                    )
                seeded = [
                    table
                    for table in tables
                    if connection.scalar(
                        text(f'SELECT EXISTS (TABLE {SNAPSHOT_SCHEMA}."{table.name}")')
                    )
                ]
        self._empty_sql = _deletes(tables)
        self._seeded_sql = self._empty_sql + _inserts(tables, seeded)
        self.state = SEEDED

    def reset(self, state: str) -> None:
        """Start the next test from `state` (EMPTY or SEEDED), unless the database is there."""
        if self.state == state:
            return
        if self.before_reset is not None:
            self.before_reset()
        with self.app.app_context():
            db.session.remove()
            _run_with_retries(self._seeded_sql if state == SEEDED else self._empty_sql)
        self.state = state

    def touched(self) -> None:
        """A test ran: whatever it changed is unknown."""
        self.state = UNKNOWN


def _deletes(tables: list[Table]) -> list[str]:
    # Children first, so that no ON DELETE rule has rows left to cascade to.
    return [f'DELETE FROM "{table.name}"' for table in reversed(tables)]


def _inserts(tables: list[Table], seeded: list[Table]) -> list[str]:
    """Copy the seeded tables back, parents first. A foreign key that points forward in that
    order (users <-> organisations) is filled in once every row is back."""
    position = {table: index for index, table in enumerate(tables)}
    inserts, fill_ins = [], []
    for table in tables:
        if table not in seeded or table.name in DERIVED_TABLES:
            continue
        forward = {
            key.parent.name
            for key in table.foreign_keys
            if position[key.column.table] > position[table]
        }
        columns = [column.name for column in table.columns]
        chosen = ", ".join("NULL" if name in forward else f'"{name}"' for name in columns)
        names = ", ".join(f'"{name}"' for name in columns)
        inserts.append(
            f'INSERT INTO "{table.name}" ({names}) '
            f'SELECT {chosen} FROM {SNAPSHOT_SCHEMA}."{table.name}"'
        )
        if forward:
            keys = " AND ".join(
                f'"{table.name}"."{column.name}" = copy."{column.name}"'
                for column in table.primary_key.columns
            )
            values = ", ".join(f'"{name}" = copy."{name}"' for name in sorted(forward))
            fill_ins.append(
                f'UPDATE "{table.name}" SET {values} '
                f'FROM {SNAPSHOT_SCHEMA}."{table.name}" AS copy WHERE {keys}'
            )
    return inserts + fill_ins


def _run_with_retries(statements: list[str], attempts: int = 10) -> None:
    """Run `statements` in one transaction. Another connection (a worker started by a test, a
    thread of the test that just ended) may still be writing: when PostgreSQL picks this
    transaction as a deadlock victim, it waits too long for a lock, or a row appears under a
    parent being deleted, try again (the other side, if it is the victim, finds nothing)."""
    script = ";\n".join(["SET LOCAL lock_timeout = '5s'", *statements])
    for attempt in range(attempts):
        try:
            with db.engine.begin() as connection:
                connection.exec_driver_sql(script)
            return
        except (OperationalError, IntegrityError):
            if attempt == attempts - 1:
                raise
            time.sleep(0.2 * (attempt + 1))
