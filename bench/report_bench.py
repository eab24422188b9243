"""Time and peak memory of a whole-consultation report over N generated submissions.

Usage: .venv/bin/python bench/report_bench.py [--rows 100000] [--public] [--workers 2]
                                              [--part-rows 100000] [--keep NAME]
Fills a PostgreSQL database with `flask generate-feedback`'s generator (multilingual,
realistic lengths, campaigns making up most of the volume), then compiles the report of the
Leaders' Summit consultation: one part per item, or per range of about --part-rows of an
item's rows (one pass over the rows: counts, matrix, distinct texts, CSV lines; then, once per
item, themes and summary) and the fan-in (merge, coalitions, files). With --workers N the
report runs as in production, on N real Celery worker processes through Redis, and the bench
prints the stages as the report page shows them, the wall time and each worker's peak memory;
without it every task runs here, one after the other (the one-core time). --keep NAME keeps
the filled database for the next run (drop it by hand). Needs CONSULTA_TEST_PG (default
postgresql://postgres@127.0.0.1:5432/postgres) and, with --workers, CONSULTA_TEST_REDIS.
Not run in CI.
"""

from __future__ import annotations

import argparse
import json
import resource
import secrets
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import delete, select  # noqa: E402

from app import create_app  # noqa: E402
from app.accounts.services import create_user  # noqa: E402
from app.consultations.seeding import seed_content  # noqa: E402
from app.dev import synthetic_feedback  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Consultation, Report, ReportPart, Role, User  # noqa: E402
from app.reports import pipeline
from app.reports import services as reports  # noqa: E402
from tests.helpers.services import (  # noqa: E402
    PG_ADMIN_URL,
    REDIS_TEST_URL,
    app_settings,
    fresh_pg_database,
    migrate_to_head,
)
from tests.helpers.worker import start_worker  # noqa: E402

SLUG = "leaders-summit-2021-migration"


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def _database(keep: str | None) -> Iterator[tuple[str, bool]]:
    """(URL, already filled): a fresh database dropped at the end, or the kept one."""
    if keep is None:
        with fresh_pg_database("consulta_report_bench") as url:
            yield url, False
        return
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (keep,)).fetchone()
        if not exists:
            admin.execute(f'CREATE DATABASE "{keep}"')
    yield f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{keep}", bool(exists)


def _fill(app, rows: int) -> None:  # noqa: ANN001 - the Flask app
    migrate_to_head(app)
    seed_content()
    create_user("council@bench.example", "Bench", "bench-password-1234", role=Role.COUNCIL)
    db.session.commit()
    started = time.perf_counter()
    synthetic_feedback.generate(rows, consultation_slug=SLUG, seed=1)
    print(f"generated {rows:,} rows in {time.perf_counter() - started:.1f} s")
    db.session.execute(db.text("ANALYZE"))
    db.session.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--public", action="store_true", help="compile the public version")
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="run the report on N real Celery worker processes (default: in this process)",
    )
    parser.add_argument(
        "--part-rows",
        type=int,
        default=100_000,
        help="rows per part: a larger item is read in several parts (row ranges)",
    )
    parser.add_argument(
        "--keep",
        metavar="NAME",
        help="use (or fill, then keep) the database NAME, so that later runs skip generation",
    )
    args = parser.parse_args()
    redis_url = REDIS_TEST_URL if args.workers else None
    with _database(args.keep) as (url, filled), tempfile.TemporaryDirectory() as tmp:
        settings = app_settings(Path(tmp), url, redis_url, f"bench-{secrets.token_hex(4)}")
        settings["report_part_rows"] = args.part_rows
        app = create_app(settings)
        with app.app_context():
            if not filled:
                _fill(app, args.rows)
            # A kept database: the last run's report would be this snapshot's answer.
            db.session.execute(delete(ReportPart))
            db.session.execute(delete(Report))
            db.session.commit()
            consultation = db.session.scalar(
                select(Consultation.id).where(Consultation.slug == SLUG)
            )
            council_id = db.session.scalar(select(User.id).where(User.role == Role.COUNCIL))
            if args.workers:
                done, elapsed, memory = _on_workers(settings, args, council_id, consultation)
            else:
                done, elapsed, memory = _in_process(args, council_id, consultation)
            _print(done, elapsed, memory)


def _in_process(args: argparse.Namespace, council_id: int, consultation: int):  # noqa: ANN202
    """Every task one after the other in this process: the one-core time."""
    baseline = peak_mb()
    total = time.perf_counter()
    report = reports.request_report(council_id, consultation, public=args.public)
    pipeline.run_in_process(report.id)
    elapsed = time.perf_counter() - total
    db.session.expire_all()
    memory = f"{peak_mb():.0f} MB in this process (before the report: {baseline:.0f} MB)"
    return db.session.get(Report, report.id), elapsed, memory


def _on_workers(settings: dict, args: argparse.Namespace, council_id: int, consultation: int):  # noqa: ANN202
    """The report as production runs it: requested, then compiled by N worker processes
    (one task at a time each). Prints each stage as the page would show it."""
    with tempfile.TemporaryDirectory() as logs:
        part_rows = {"CONSULTA_REPORT_PART_ROWS": str(args.part_rows)}
        workers = [
            start_worker(settings, Path(logs) / f"worker-{n}.log", extra_env=part_rows)
            for n in range(args.workers)
        ]
        try:
            total = time.perf_counter()
            report = reports.request_report(council_id, consultation, public=args.public)
            seen, readable = None, None
            while True:
                db.session.expire_all()
                done = db.session.get(Report, report.id)
                if (done.stage, done.percent) != seen:
                    seen = (done.stage, done.percent)
                    print(f"  {time.perf_counter() - total:6.1f} s  {done.stage} {done.percent}%")
                if readable is None and (done.stage == "rendering" or done.status.value == "done"):
                    readable = time.perf_counter() - total
                if done.status.value in ("done", "failed"):
                    break
                time.sleep(0.2)
            elapsed = time.perf_counter() - total
            peaks = [_peak_of_children(worker.process.pid) for worker in workers]
        finally:
            for worker in workers:
                worker.stop()
    memory = (
        f"readable after {readable:.1f} s (files written while it is read); peak per worker "
        "process: " + ", ".join(f"{mb:.0f} MB" for mb in peaks)
    )
    return done, elapsed, memory


def _peak_of_children(pid: int) -> float:
    """The highest peak resident memory (MB) among a Celery worker's pool processes."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    peaks = []
    for child in children:
        for line in Path(f"/proc/{child}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]) / 1024)
    return max(peaks, default=0.0)


def _print(done: Report, elapsed: float, memory: str) -> None:
    assert done.status.value == "done", done.error
    result = done.result
    print(f"parts: {done.parts_total}")
    headline = result["figures"]["headline"]
    print(
        f"report: {headline['submissions']:,} submissions, {headline['campaigns']} campaigns, "
        f"distinct texts {json.dumps(result['distinct_texts'])}"
    )
    print(f"stages (s; items_* summed over the parts): {json.dumps(result['timings'])}")
    print(f"total: {elapsed:.1f} s; {memory}")


if __name__ == "__main__":
    main()
