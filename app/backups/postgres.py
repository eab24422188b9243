"""The PostgreSQL client programs a backup runs (pg_dump, pg_restore), and what it asks the
server: its version, whether a database is empty, how many rows each table holds.

A dump is made and restored by the programs of the server's own major version: an older
pg_dump cannot read a newer server, and a newer pg_restore writes settings an older server
refuses (pg_restore 17 sets transaction_timeout, which PostgreSQL 16 does not know)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, func, select, table, text
from sqlalchemy.engine import URL, make_url

VERSION = re.compile(r"\(PostgreSQL\) (\d+)")
TABLES = text(
    "SELECT table_schema, table_name FROM information_schema.tables"
    " WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')"
    " ORDER BY table_schema, table_name"
)


class BackupError(RuntimeError):
    """A backup cannot be made, verified or restored; the message says why."""


@dataclass(frozen=True)
class Tool:
    path: str
    major: int
    version: str  # as the program says it, e.g. "pg_dump (PostgreSQL) 16.4"


def tool(name: str) -> Tool:
    """The client program `name` on PATH, with its version."""
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"{name} is not installed: install the PostgreSQL client of the server's version"
        )
    said = _run([path, "--version"]).strip()
    match = VERSION.search(said)
    if match is None:
        raise BackupError(f"cannot tell the version of {path}: {said!r}")
    return Tool(path, int(match[1]), said)


def server_major(connection: Connection) -> int:
    return int(connection.scalar(text("SHOW server_version_num"))) // 10_000


def check_dump_client(pg_dump: Tool, server: int) -> None:
    if pg_dump.major < server:
        raise BackupError(
            f"{pg_dump.version} cannot dump a PostgreSQL {server} server:"
            f" use the client of version {server}"
        )


def check_restore_client(pg_restore: Tool, server: int) -> None:
    if pg_restore.major > server:
        raise BackupError(
            f"{pg_restore.version} writes settings a PostgreSQL {server} server refuses:"
            f" restore with the client of version {server}"
        )


def dump(pg_dump: Tool, url: str, target: Path, snapshot: str) -> None:
    """The whole database, as the exported `snapshot` sees it, in pg_dump's custom format."""
    dbname, env = libpq_arguments(url)
    _run(
        [
            pg_dump.path,
            "--format=custom",
            f"--snapshot={snapshot}",
            f"--file={target}",
            f"--dbname={dbname}",
        ],
        env,
    )


def restore(pg_restore: Tool, url: str, source: Path) -> None:
    """Into an empty database, all or nothing; objects belong to the user who restores."""
    dbname, env = libpq_arguments(url)
    _run(
        [
            pg_restore.path,
            "--exit-on-error",
            "--single-transaction",
            "--no-owner",
            "--no-privileges",
            f"--dbname={dbname}",
            str(source),
        ],
        env,
    )


def check_archive(pg_restore: Tool, source: Path) -> None:
    """pg_restore can read the dump's table of contents."""
    _run([pg_restore.path, "--list", str(source)])


def has_tables(connection: Connection) -> bool:
    return connection.execute(TABLES).first() is not None


def table_rows(connection: Connection) -> dict[str, int]:
    """Rows per table (`schema.table`), as this connection's transaction sees them."""
    names = connection.execute(TABLES).all()
    return {
        f"{schema}.{name}": connection.scalar(
            select(func.count()).select_from(table(name, schema=schema))
        )
        for schema, name in names
    }


def libpq_arguments(url: str) -> tuple[str, dict[str, str]]:
    """The --dbname for `url`, and an environment carrying its password (never an argument,
    which any process of the machine could read)."""
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    # URL.set() reads password=None as "unchanged": build the URL without it instead.
    conninfo = URL.create(
        "postgresql",
        username=parsed.username,
        host=parsed.host,
        port=parsed.port,
        database=parsed.database,
        query=parsed.query,
    )
    return conninfo.render_as_string(hide_password=False), env


def _run(argv: list[str], env: dict[str, str] | None = None) -> str:
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)  # noqa: S603 - PostgreSQL's own programs
    if done.returncode != 0:
        said = done.stderr.strip() or f"exit status {done.returncode}"
        raise BackupError(f"{Path(argv[0]).name} failed: {said}")
    return done.stdout
