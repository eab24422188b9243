"""PostgreSQL restarted in the middle of a task: every connection is cut, the run's writes roll
back, the task is retried with backoff and the report is compiled whole, once.

A PostgreSQL cluster of the module's own (initdb on a free port, run as the postgres user),
never the machine's shared server: it is set up, migrated and seeded once for the module."""

from __future__ import annotations

import csv
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from app import create_app
from app.dev import synthetic_feedback
from app.extensions import db
from app.models import Consultation, Feedback, FeedbackState, Item, Report, ReportStatus, User
from app.reports import services as reports
from tests.helpers.database import seed_everything
from tests.helpers.fault_processes import PrivatePostgres
from tests.helpers.faults import LEASE_SECONDS, RECONCILE_SECONDS
from tests.helpers.services import app_settings, migrate_to_head
from tests.helpers.waiting import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.worker]

SLUG = "task-force-migration-recommendations"


@pytest.fixture(scope="module")
def private_pg(tmp_path_factory, redis_url, mail_server) -> Iterator[tuple[PrivatePostgres, Flask]]:
    """The private cluster, and an app on a database there, migrated and seeded."""
    server = PrivatePostgres()
    try:
        server.init()
        server.start()
        url = server.create_database("consulta_faults")
        settings = app_settings(
            tmp_path_factory.mktemp("pg-app"), url, redis_url, f"consulta-pg-{uuid.uuid4().hex[:8]}"
        )
        app = create_app(
            {
                **settings,
                "mail_port": mail_server.port,
                "job_lease_seconds": LEASE_SECONDS,
                "job_reconcile_seconds": RECONCILE_SECONDS,
            }
        )
        migrate_to_head(app)
        with app.app_context():
            seed_everything()
            synthetic_feedback.generate(1_500, consultation_slug=SLUG, seed=3)
        yield server, app
        with app.app_context():
            db.engine.dispose()
    finally:
        server.remove()


def test_postgres_restarted_mid_report_is_retried_and_the_report_is_whole(private_pg, workers):
    server, app = private_pg
    with app.app_context():
        council = db.session.scalar(select(User.id).where(User.email == "council@example.org"))
        item_id = db.session.scalar(
            select(Item.id)
            .join(Consultation)
            .where(Consultation.slug == SLUG)
            .order_by(Item.position)
            .limit(1)
        )
        expected = db.session.scalar(
            select(func.count(Feedback.id)).where(
                Feedback.item_id == item_id,
                Feedback.state.in_((FeedbackState.SUBMITTED, FeedbackState.PUBLISHED)),
            )
        )
    # The run pauses for a few seconds once it has read the item's rows: the restart lands there.
    worker = workers(app, "worker", include="tests.faults.slow_compile", SLOW_COMPILE_SECONDS="5")
    with app.app_context():
        report_id = reports.request_item_report(council, item_id).id

    def report() -> Report:
        with app.app_context():
            found = db.session.get(Report, report_id)
            db.session.expunge_all()
            return found

    wait_for(lambda: report().stage == "reading", timeout=60, interval=0.05)
    server.restart()  # fast shutdown: every connection is cut, open transactions roll back
    wait_for(lambda: report().status in (ReportStatus.DONE, ReportStatus.FAILED), timeout=120)
    done = report()
    assert done.status is ReportStatus.DONE, done.error
    assert done.attempts == 2 and done.error is None  # the cut run, then its retry
    log = worker.log_path.read_text()
    assert "OperationalError" in log and " retry: Retry in " in log  # Celery's backoff
    # Whole, and once: every covered submission counted and written, none twice.
    assert done.result["figures"]["headline"]["submissions"] == expected
    folder = Path(app.config["SETTINGS"].instance_path) / "reports" / str(report_id)
    with (folder / done.files["csv"]).open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == expected == len({tuple(row.values()) for row in rows})
    with app.app_context():
        assert db.session.scalar(select(func.count(Report.id))) == 1
