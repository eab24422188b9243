"""Median time to import a CSV file of 3,000 organisations and their leads (the admin's
onboarding import, app.organizations.onboarding) into a fresh PostgreSQL database.

Usage: .venv/bin/python bench/onboarding_bench.py [--rows 3000] [--runs 3]
Needs CONSULTA_TEST_PG (default postgresql://postgres@127.0.0.1:5432/postgres) and
CONSULTA_TEST_REDIS (default redis://127.0.0.1:6379/11), where the invitations' wake-ups go (the
bench's queue is emptied at the end). Creates and drops its own database. Not run in CI.

Each run imports a file of new organisations (so every run creates its rows, leads and
invitations); a last run imports the first file again, which must create nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from app import create_app  # noqa: E402
from app.accounts.services import create_user  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Notification, Organization, Role  # noqa: E402
from app.organizations import onboarding  # noqa: E402
from tests.helpers.services import app_settings, fresh_pg_database, migrate_to_head  # noqa: E402

HEADER = "organisation_name,organisation_type,country,website,lead_name,lead_email,lead_language"
TYPES = ("ngo", "migrant_led", "faith_based", "academic", "legal_aid")
COUNTRIES = ("US", "MX", "GT", "HN", "SV", "CA", "PA")
LANGUAGES = ("en", "es", "fr")


def generated_file(run: int, rows: int) -> bytes:
    lines = [HEADER] + [
        f"Bench Organisation {run}-{n},{TYPES[n % 5]},{COUNTRIES[n % 7]},"
        f"https://org{run}-{n}.example.org,Lead {n},lead{run}-{n}@bench.example.org,"
        f"{LANGUAGES[n % 3]}"
        for n in range(rows)
    ]
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    redis_url = os.environ.get("CONSULTA_TEST_REDIS", "redis://127.0.0.1:6379/11")
    queue = "bench-onboarding"
    with fresh_pg_database("consulta_bench") as url, tempfile.TemporaryDirectory() as tmp:
        app = create_app(app_settings(Path(tmp), url, redis_url, queue))
        migrate_to_head(app)
        with app.test_request_context():
            admin = create_user("admin@bench.example.org", "Bench Admin", "x" * 16, Role.ADMIN)
            db.session.commit()
            files = [generated_file(run, args.rows) for run in range(args.runs)]
            times = []
            for data in files:
                started = time.perf_counter()
                result = onboarding.import_organizations(admin.id, data)
                times.append(time.perf_counter() - started)
                assert result.organizations_created == args.rows, result
                assert result.invitations_queued == args.rows, result
            started = time.perf_counter()
            again = onboarding.import_organizations(admin.id, files[0])
            repeat = time.perf_counter() - started
            assert not again.created_anything and again.invitations_queued == 0, again
            organizations = db.session.scalar(select(func.count()).select_from(Organization))
            messages = db.session.scalar(select(func.count()).select_from(Notification))
            db.session.remove()
            db.engine.dispose()
        redis.Redis.from_url(redis_url).delete(queue)
    print(f"rows per file: {args.rows}; organisations {organizations}, invitations {messages}")
    print("runs: " + ", ".join(f"{t:.2f} s" for t in times))
    print(f"median of {args.runs} imports of {args.rows} rows: {statistics.median(times):.2f} s")
    print(f"importing the first file again (creates nothing): {repeat:.2f} s")


if __name__ == "__main__":
    main()
