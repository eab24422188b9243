"""The PostgreSQL client programs a backup may run against a server of a given major version
(app/backups/postgres.py): pg_dump as new as the server or newer, pg_restore no newer."""

from __future__ import annotations

import pytest

from app.backups import postgres


def test_an_older_pg_dump_and_a_newer_pg_restore_are_refused():
    older = postgres.Tool("/usr/bin/pg_dump", 15, "pg_dump (PostgreSQL) 15.2")
    newer = postgres.Tool("/usr/bin/pg_restore", 17, "pg_restore (PostgreSQL) 17.1")
    with pytest.raises(postgres.BackupError, match="cannot dump a PostgreSQL 16 server"):
        postgres.check_dump_client(older, 16)
    with pytest.raises(postgres.BackupError, match="PostgreSQL 16 server refuses"):
        postgres.check_restore_client(newer, 16)
    postgres.check_dump_client(newer, 16)  # a newer pg_dump reads an older server
    postgres.check_restore_client(older, 16)


def test_the_password_reaches_the_programs_in_their_environment_not_their_arguments():
    dbname, env = postgres.libpq_arguments(
        "postgresql+psycopg://consulta:s3cret@postgres:5432/consulta?sslmode=require"
    )
    assert dbname == "postgresql://consulta@postgres:5432/consulta?sslmode=require"
    assert env["PGPASSWORD"] == "s3cret"
