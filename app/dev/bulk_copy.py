"""Bulk loading for the synthetic data on PostgreSQL: COPY from several processes at once.

The rows are built and written in batches by `WORKERS` forked processes, each with its own
connection and transaction: a batch's Python (texts, times) and its backend's work (parsing the
COPY, the indexes) run beside the other process's, on both cores. Every process commits only
once all of them have written their batches; one that fails rolls every one back.

A row's foreign-key checks and the trigger that copies a submission's state onto its flags cost
one query each: they are skipped with `session_replication_role = replica` when the role may
set it (a superuser). The rows are consistent by construction, and each flag carries its
submission's state and time itself.

What remains is mostly the full-text GIN index (`ix_feedback_search`): its entries cost more
than the rest of a row together. It is kept up to date while loading, so that both backends
compute entries at once; dropping it and building it in one pass afterwards was measured
slower (one core builds it while the other waits).
"""

from __future__ import annotations

import multiprocessing
import traceback
from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from typing import Any

import psycopg

from app.extensions import db

WORKERS = 2

Table = tuple[str, Sequence[str], Iterable[tuple]]  # (table, columns, rows)
Build = Callable[[int, int], tuple[list[Table], Any]]  # (start, stop) -> (tables, summary)


def conninfo() -> str:
    """The app's database as a libpq URL, for connections of our own."""
    url = db.engine.url.set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def copy_rows(cursor: psycopg.Cursor, table: str, columns: Sequence[str], rows: Iterable) -> None:
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def may_skip_triggers(connection: psycopg.Connection) -> bool:
    """Whether this role may set session_replication_role (superusers may)."""
    return connection.execute("SHOW is_superuser").fetchone()[0] == "on"


def load_in_parallel(
    build: Build, ranges: Sequence[tuple[int, int]], *, skip_triggers: bool
) -> list[Any]:
    """Build and COPY every range, spread over WORKERS processes; commit all or none.

    Returns the summaries `build` gave, in the order of `ranges`."""
    context = multiprocessing.get_context("fork")
    target = conninfo()
    workers = []
    for number in range(min(WORKERS, len(ranges))):
        own, theirs = context.Pipe()
        share = list(enumerate(ranges))[number::WORKERS]
        process = context.Process(
            target=_worker, args=(target, build, share, theirs, skip_triggers), daemon=True
        )
        process.start()
        theirs.close()
        workers.append((process, own))
    try:
        answers = [_answer(process, pipe) for process, pipe in workers]
        failed = [detail for kind, detail in answers if kind == "error"]
        if failed:
            raise RuntimeError(f"a COPY worker failed:\n{failed[0]}")
        for _process, pipe in workers:
            pipe.send("commit")
        for process, pipe in workers:
            kind, detail = _answer(process, pipe)
            if kind != "committed":
                # The others may have committed already: say so plainly.
                raise RuntimeError(
                    f"a COPY worker failed to commit (rows may be partial):\n{detail}"
                )
    finally:
        for process, pipe in workers:
            if process.is_alive():
                with suppress(OSError):
                    pipe.send("rollback")
            process.join(timeout=60)
            pipe.close()
    summaries: dict[int, Any] = {}
    for _kind, detail in answers:
        summaries.update(detail)
    return [summaries[index] for index in range(len(ranges))]


def _answer(process: Any, pipe: Any) -> tuple[str, Any]:
    try:
        return pipe.recv()
    except EOFError:
        return "error", f"worker {process.pid} ended without an answer ({process.exitcode})"


def _worker(
    target: str,
    build: Build,
    share: list[tuple[int, tuple[int, int]]],
    pipe: Any,
    skip_triggers: bool,
) -> None:
    db.engine.dispose(close=False)  # the parent's pooled connections are not ours to use
    try:
        with psycopg.connect(target) as connection:
            if skip_triggers:
                connection.execute("SET session_replication_role = replica")
            # Either way the published tallies are not counted row by row here (two writers
            # would wait on each other's count rows): the fill recounts them once committed.
            connection.execute("SET consulta.defer_tallies = 'on'")
            summaries = {}
            with connection.cursor() as cursor:
                for index, (start, stop) in share:
                    tables, summaries[index] = build(start, stop)
                    for table, columns, rows in tables:
                        copy_rows(cursor, table, columns, rows)
            pipe.send(("written", summaries))
            if pipe.recv() != "commit":
                connection.rollback()
                return
            connection.commit()
            pipe.send(("committed", None))
    except BaseException:  # noqa: BLE001 - handed to the parent
        pipe.send(("error", traceback.format_exc()))
