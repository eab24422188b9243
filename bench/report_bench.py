"""Time and peak memory of a whole-consultation report over N generated submissions.

Usage: .venv/bin/python bench/report_bench.py [--rows 100000] [--public]
Fills a fresh PostgreSQL database with `flask generate-feedback`'s generator (multilingual,
realistic lengths, campaigns making up most of the volume), then compiles the report of the
Leaders' Summit consultation as the workers would: the fan-out, one part per item, and the
fan-in. Parts run one after the other in this process, so the total is what one worker core
takes; with two workers the parts share two cores. Prints each stage's seconds and the peak
resident memory. Needs CONSULTA_TEST_PG (default postgresql://postgres@127.0.0.1:5432/postgres);
creates and drops its own database. Not run in CI.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Consultation, Report, ReportPart, Role, User  # noqa: E402
from app.services import reports, synthetic_feedback  # noqa: E402
from app.services.accounts import create_user  # noqa: E402
from app.services.content import seed_content  # noqa: E402
from tests.conftest import app_settings, fresh_pg_database, migrate_to_head  # noqa: E402

SLUG = "leaders-summit-2021-migration"


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--public", action="store_true", help="compile the public version")
    args = parser.parse_args()
    with fresh_pg_database("consulta_report_bench") as url, tempfile.TemporaryDirectory() as tmp:
        app = create_app(app_settings(Path(tmp), url, None, "bench"))
        migrate_to_head(app)
        with app.app_context():
            seed_content()
            council = create_user(
                "council@bench.example", "Bench", "bench-password-1234", role=Role.COUNCIL
            )
            db.session.commit()
            started = time.perf_counter()
            synthetic_feedback.generate(args.rows, consultation_slug=SLUG, seed=1)
            print(f"generated {args.rows:,} rows in {time.perf_counter() - started:.1f} s")
            db.session.execute(db.text("ANALYZE"))
            db.session.commit()
            consultation = db.session.scalar(
                select(Consultation.id).where(Consultation.slug == SLUG)
            )
            council_id = db.session.scalar(select(User.id).where(User.id == council.id))
            baseline = peak_mb()

            total = time.perf_counter()
            report = reports.request_report(council_id, consultation, public=args.public)
            reports.compile_report(report.id)
            parts = db.session.scalars(
                select(ReportPart.id).where(ReportPart.report_id == report.id)
            ).all()
            part_seconds = []
            for part_id in parts:
                begun = time.perf_counter()
                reports.compile_part(part_id)
                part_seconds.append(time.perf_counter() - begun)
            begun = time.perf_counter()
            reports.assemble_report(report.id)
            assembly = time.perf_counter() - begun
            elapsed = time.perf_counter() - total
            db.session.expire_all()
            done = db.session.get(Report, report.id)
            assert done.status.value == "done", done.error
            result = done.result
            print(
                f"report: {done.status.value}, {result['figures']['headline']['submissions']:,}"
                f" submissions, {result['figures']['headline']['campaigns']} campaigns"
            )
            print(
                f"parts: {len(parts)}, {sum(part_seconds):.1f} s in all "
                f"(slowest {max(part_seconds):.1f} s)"
            )
            print(f"assembly: {assembly:.1f} s; stages {json.dumps(result['timings'])}")
            print(
                f"total (one core): {elapsed:.1f} s; with two workers about "
                f"{sum(part_seconds) / 2 + assembly:.1f} s"
            )
            print(f"peak memory: {peak_mb():.0f} MB (before the report: {baseline:.0f} MB)")
            print(f"distinct texts: {json.dumps(result['distinct_texts'])}")


if __name__ == "__main__":
    main()
