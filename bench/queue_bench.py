"""Median latency of the moderation queue (review_queue.page) over N feedback rows in PostgreSQL.

Usage: .venv/bin/python bench/queue_bench.py [--rows 1000000] [--runs 50]
Needs CONSULTA_TEST_PG (default postgresql://postgres@127.0.0.1:5432/postgres); creates and
drops its own database. Not run in CI.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select, text  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Role, User  # noqa: E402
from app.moderation import queue as review_queue  # noqa: E402
from app.moderation.queue import QueueFilter  # noqa: E402
from tests.helpers.services import app_settings, fresh_pg_database, migrate_to_head  # noqa: E402

ITEMS = 20
FILL = """
INSERT INTO consultations (slug, title, summary, opens_at, closes_at, created_at)
VALUES ('bench', '{"en": "Bench"}', '{"en": ""}', now() - interval '1 day',
        now() + interval '30 days', now());
INSERT INTO items (consultation_id, code, kind, source, position, current_version)
SELECT 1, 'B' || g, 'pledge', '{}', g, 1 FROM generate_series(1, :items) g;
INSERT INTO item_versions (item_id, number, title, body, created_at)
SELECT id, 1, '{"en": "t"}', '{"en": "b"}', now() FROM items;
INSERT INTO organizations (name, type, country, verification, created_at)
SELECT 'Org ' || g,
       (ARRAY['ngo','migrant_led','faith_based','academic','legal_aid'])[1 + g % 5],
       (ARRAY['US','MX','GT','HN','SV','CA','PA'])[1 + g % 7],
       CASE WHEN g % 3 = 0 THEN 'pending' ELSE 'verified' END, now()
FROM generate_series(1, :orgs) g;
INSERT INTO feedback (reference, item_id, item_version_id, organization_id, state, stance, priority,
  affected_populations, countries, comment, comment_disclosure, amendment, amendment_disclosure,
  evidence_links, attribution, language, lock_version, created_at, updated_at, submitted_at)
SELECT 'B' || lpad(g::text, 10, '0'), 1 + g % :items, 1 + g % :items, 1 + g / :items,
       CASE WHEN g % 10 < 6 THEN 'submitted' WHEN g % 10 < 9 THEN 'published' ELSE 'rejected' END,
       'support', 1 + g % 5, '[]', '[]',
       (ARRAY['Las visas temporales deben ser portátiles entre empleadores.',
              'Les demandeurs d''asile attendent trop longtemps une décision.',
              'Shelters at the border need stable funding and trained staff.',
              'Los albergues necesitan financiación estable y personal capacitado.'])[1 + g % 4]
         || CASE WHEN g % 5000 = 0 THEN ' cuarentena' ELSE '' END,
       'public', '', 'public', '[]', 'named', (ARRAY['es','fr','en','es'])[1 + g % 4], 1,
       now(), now(), now() - interval '400 days' + g * interval '30 seconds'
FROM generate_series(0, :rows - 1) g;
INSERT INTO moderation_flags (feedback_id, kind, detail, created_at)
SELECT id, 'links', 'a link', now() FROM feedback WHERE id % 50 = 0;
INSERT INTO moderation_flags (feedback_id, kind, detail, created_at)
SELECT id, 'personal_data', 'an email', now() FROM feedback WHERE id % 37 = 0;
INSERT INTO moderation_flags (feedback_id, kind, detail, created_at)
SELECT id, 'profanity', 'a word', now() FROM feedback WHERE id % 5000 = 1;
"""
# Flags (inserted through the triggers of migration 0005, which copy state and submitted_at):
# - links on id % 50 = 0: every one on a rejected row, none submitted (the worst case, 2 %);
# - personal_data on id % 37 = 0: rows of every state, 60 % of them submitted (2.7 %);
# - profanity on id % 5000 = 1: 200 submitted rows only (a rare kind).


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    with fresh_pg_database("consulta_bench") as url, tempfile.TemporaryDirectory() as tmp:
        app = create_app(app_settings(Path(tmp), url, None, "bench"))
        migrate_to_head(app)
        with app.app_context():
            started = time.perf_counter()
            orgs = args.rows // ITEMS + 1  # one position per (organisation, item)
            for statement in FILL.strip().split(";\n"):
                db.session.execute(
                    text(statement), {"rows": args.rows, "items": ITEMS, "orgs": orgs}
                )
            db.session.add(
                User(email="mod@bench.example", name="Mod", role=Role.MODERATOR, password_hash="x")
            )
            db.session.commit()
            # What autovacuum does soon after a bulk load: statistics, and the visibility map
            # that lets the capped counts read the index alone.
            with db.engine.connect() as connection:
                connection.execution_options(isolation_level="AUTOCOMMIT").execute(
                    text("VACUUM ANALYZE")
                )
            print(f"{args.rows:,} rows loaded in {time.perf_counter() - started:.1f}s")
            moderator = db.session.scalar(select(User.id).where(User.role == Role.MODERATOR))
            run_cases(moderator, args.runs)
            db.session.remove()
            db.engine.dispose()


def run_cases(moderator: int, runs: int) -> None:
    middle = review_queue.page(moderator, QueueFilter(), limit=1)[0]
    deep = db.session.execute(
        text(
            "SELECT submitted_at, id FROM feedback WHERE state = 'submitted'"
            " ORDER BY submitted_at, id OFFSET (SELECT count(*) / 2 FROM feedback) LIMIT 1"
        )
    ).one()
    del middle
    cases = {
        "first page, oldest first": (QueueFilter(), None),
        "first page, newest first": (QueueFilter(order="newest"), None),
        "deep page (keyset, middle)": (QueueFilter(), tuple(deep)),
        "deep page, newest first": (QueueFilter(order="newest"), tuple(deep)),
        "filter: language es + verified": (QueueFilter(language="es", verified=True), None),
        "filter: country GT + type faith": (
            QueueFilter(country="GT", organization_type="faith_based"),
            None,
        ),
        "filter: flag, none submitted": (QueueFilter(flag="links"), None),
        "filter: flag, none submitted, newest": (QueueFilter(flag="links", order="newest"), None),
        "filter: flag, 60 % submitted": (QueueFilter(flag="personal_data"), None),
        "filter: flag, 60 % submitted, deep": (QueueFilter(flag="personal_data"), tuple(deep)),
        "filter: flag, 60 %, newest, deep": (
            QueueFilter(flag="personal_data", order="newest"),
            tuple(deep),
        ),
        "filter: flag + language es + verified": (
            QueueFilter(flag="personal_data", language="es", verified=True),
            None,
        ),
        "filter: rare flag (200 rows)": (QueueFilter(flag="profanity"), None),
        "filter: flag, state rejected": (QueueFilter(flag="links", state="rejected"), None),
        "search: common word (asile)": (QueueFilter(q="asile"), None),
        "search: rare word (cuarentena)": (QueueFilter(q="cuarentena"), None),
        "counts (capped at 10,000)": (QueueFilter(), "counts"),
        "counts with a flag filter": (QueueFilter(flag="personal_data"), "counts"),
    }
    for name, (filt, after) in cases.items():
        timings = []
        for _ in range(runs):
            started = time.perf_counter()
            if after == "counts":
                review_queue.counts(moderator, filt)
            else:
                review_queue.page(moderator, filt, after=after, limit=50)
            timings.append((time.perf_counter() - started) * 1000)
            db.session.rollback()
        print(f"{name:40} median {statistics.median(timings):7.2f} ms  max {max(timings):7.2f} ms")


if __name__ == "__main__":
    main()
