"""A report survives its workers: fan-out per item, fan-in in the database, short leases kept
by a heartbeat.

The workers here are real Celery processes on the real Redis; the whole worker, or only its
pool child, is killed with SIGKILL in the middle of a report, and the report is finished with
exactly one result.
"""

from __future__ import annotations

import csv
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from app import jobs
from app.dev import synthetic_feedback
from app.extensions import db
from app.models import (
    Consultation,
    Feedback,
    FeedbackState,
    Item,
    Report,
    ReportPart,
    ReportStatus,
    User,
)
from app.models.base import utcnow
from app.reports import compiler, pipeline
from app.reports import services as reports
from tests.helpers.fault_processes import children_of, kill_children, kill_tree
from tests.helpers.faults import LEASE_SECONDS, RECONCILE_SECONDS, deliveries
from tests.helpers.waiting import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.worker]

SLUG = "task-force-migration-recommendations"


def council_and_consultation(app) -> tuple[int, int]:
    with app.app_context():
        council = db.session.scalar(select(User.id).where(User.email == "council@example.org"))
        consultation = db.session.scalar(select(Consultation.id).where(Consultation.slug == SLUG))
    return council, consultation


def report_state(app, report_id: int) -> tuple[Report, list[ReportPart]]:
    with app.app_context():
        report = db.session.get(Report, report_id)
        parts = db.session.scalars(
            select(ReportPart).where(ReportPart.report_id == report_id).order_by(ReportPart.id)
        ).all()
        db.session.expunge_all()
        return report, parts


def test_a_worker_killed_mid_report_leaves_it_to_the_next_with_one_result(faults_app, workers):
    app = faults_app
    with app.app_context():
        synthetic_feedback.generate(6_000, consultation_slug=SLUG, seed=7)
        expected = db.session.scalar(
            select(func.count(Feedback.id))
            .join(Item, Item.id == Feedback.item_id)
            .join(Consultation, Consultation.id == Item.consultation_id)
            .where(
                Consultation.slug == SLUG,
                Feedback.state.in_((FeedbackState.SUBMITTED, FeedbackState.PUBLISHED)),
            )
        )
    council, consultation = council_and_consultation(app)
    first = workers(app, "first")
    try:
        with app.app_context():
            report_id = reports.request_report(council, consultation).id

        def a_part_is_running():
            _report, parts = report_state(app, report_id)
            return any(part.status is ReportStatus.RUNNING for part in parts)

        wait_for(a_part_is_running, timeout=60, interval=0.02)
    finally:
        kill_tree(first.process)
    report, parts = report_state(app, report_id)
    assert report.status is ReportStatus.RUNNING and report.parts_done < report.parts_total
    interrupted = [part.id for part in parts if part.status is ReportStatus.RUNNING]
    assert len(interrupted) == 1

    second = workers(app, "second")
    try:
        time.sleep(LEASE_SECONDS + 1)  # the dead worker's lease runs out
        with app.app_context():  # what Celery beat does every minute
            resent = pipeline.reconcile_parts() + pipeline.reconcile_reports()
        assert interrupted[0] in resent

        def finished():
            with app.app_context():
                # Beat keeps reconciling while the report runs (lost wake-ups of other parts).
                pipeline.reconcile_parts()
            return report_state(app, report_id)[0].status is not ReportStatus.RUNNING

        wait_for(finished, timeout=180, interval=1)
    finally:
        second.stop()
    report, parts = report_state(app, report_id)
    assert report.status is ReportStatus.DONE, report.error
    assert report.parts_done == report.parts_total == len(parts) == 9  # counted exactly once
    assert all(part.status is ReportStatus.DONE for part in parts)
    assert next(p for p in parts if p.id == interrupted[0]).attempts == 2
    assert report.result["figures"]["headline"]["submissions"] == expected
    with app.app_context():
        assert db.session.scalar(select(func.count(Report.id))) == 1  # one result, no copy


def test_a_part_that_keeps_failing_fails_its_report_with_the_error_shown(
    seeded, monkeypatch, report_jobs_here
):
    council, consultation = council_and_consultation(seeded)

    def broken(_scope, _csv_path, alive=None, labels=None):
        raise ValueError("the analysis broke")

    monkeypatch.setattr(compiler, "read_rows", broken)  # a part's pass over its rows
    with seeded.app_context():
        report_id = reports.request_report(council, consultation).id
        pipeline.compile_report(report_id)
        part_id = db.session.scalar(
            select(ReportPart.id).where(ReportPart.report_id == report_id).order_by(ReportPart.id)
        )
        attempts = jobs.max_attempts(pipeline.REPORT_PART)
        assert attempts == 3
        for _attempt in range(attempts):
            with pytest.raises(ValueError, match="the analysis broke"):
                pipeline.compile_part(part_id)
        assert pipeline.compile_part(part_id) is False  # no fourth attempt
    report, parts = report_state(seeded, report_id)
    assert report.status is ReportStatus.FAILED
    assert report.error.endswith("ValueError") and report.error.startswith("TF-")
    failed = next(part for part in parts if part.id == part_id)
    assert failed.status is ReportStatus.FAILED and failed.attempts == attempts


def test_a_late_assembly_wake_up_is_sent_again_and_uses_up_no_attempt(seeded, report_jobs_here):
    """Every part is done and the assembly was sent, but it is slow to arrive (a busy queue) or
    lost: nobody holds the report, so no worker was lost and no attempt is counted."""
    council, consultation = council_and_consultation(seeded)
    with seeded.app_context():
        report_id = reports.request_report(council, consultation).id
        pipeline.compile_report(report_id)
        parts = select(ReportPart.id).where(ReportPart.report_id == report_id)
        for part_id in db.session.scalars(parts).all():
            pipeline.compile_part(part_id)
        assert report_jobs_here[-1] == (pipeline.ASSEMBLE_TASK, (report_id,))
        for _lease in range(jobs.max_attempts(pipeline.REPORT) + 1):
            report_jobs_here.clear()
            db.session.execute(
                update(Report)
                .where(Report.id == report_id)
                .values(lease_until=utcnow() - timedelta(seconds=1))
            )
            db.session.commit()
            assert pipeline.reconcile_reports() == [report_id]
            assert report_jobs_here == [(pipeline.ASSEMBLE_TASK, (report_id,))]
        waiting = db.session.get(Report, report_id, populate_existing=True)
        assert waiting.status is ReportStatus.RUNNING and waiting.attempts == 1
        assert pipeline.retry_wait(waiting) is None  # the page does not say "retried"
        assert pipeline.assemble_report(report_id)
    report, _parts = report_state(seeded, report_id)
    assert report.status is ReportStatus.DONE and report.attempts == 1


def test_a_worker_killed_mid_report_is_replaced_within_a_minute_and_the_page_says_so(
    faults_app, workers, tmp_path, login
):
    """Kill -9 a worker while it compiles an item report: its heartbeat stops, the short lease
    runs out, beat's reconciler queues the report again (the page says it waits to be retried)
    and a fresh worker compiles it, once."""
    app = faults_app
    with app.app_context():
        synthetic_feedback.generate(3_000, consultation_slug=SLUG, seed=11)
        item_id = db.session.scalar(
            select(Item.id)
            .join(Consultation, Consultation.id == Item.consultation_id)
            .where(Consultation.slug == SLUG)
            .order_by(Item.position, Item.id)
            .limit(1)
        )
        expected = db.session.scalar(
            select(func.count(Feedback.id)).where(
                Feedback.item_id == item_id,
                Feedback.state.in_((FeedbackState.SUBMITTED, FeedbackState.PUBLISHED)),
            )
        )
    council, _consultation = council_and_consultation(app)
    client = app.test_client()
    login(client, "council@example.org")
    seen_labels: list[str] = []

    def status() -> dict:
        answer = client.get(f"/reports/{report_id}/status").get_json()
        seen_labels.append(answer["progress_label"])
        return answer

    # This worker pauses for a minute once it has read the item's rows.
    first = workers(
        app, "first", include="tests.faults.slow_compile",
        SLOW_COMPILE_SECONDS="60",
    )  # fmt: skip
    try:
        with app.app_context():
            report_id = reports.request_item_report(council, item_id).id
        wait_for(lambda: status()["stage"] == "reading", timeout=60, interval=0.1)
        held, _parts = report_state(app, report_id)
        time.sleep(2 * LEASE_SECONDS)  # longer than its lease: the heartbeat renews it
        still, _parts = report_state(app, report_id)
        assert still.status is ReportStatus.RUNNING and still.lease_token == held.lease_token
        assert still.lease_until > held.lease_until
        assert status()["retry"] is None
    finally:
        kill_tree(first.process)
    killed = time.monotonic()

    # No worker renews the lease now; once it runs out the page says what happens next.
    wait_for(lambda: status()["retry"] is not None, timeout=LEASE_SECONDS + 3, interval=0.1)
    waiting = "Waiting to be retried (attempt 2 of 3)"
    assert seen_labels[-1] == waiting
    # A fresh worker with beat: the reconciler takes the report over and the worker compiles it.
    second = workers(app, "second", "-B", "--schedule", str(tmp_path / "beat-schedule"))
    taken_over = None
    try:

        def finished() -> bool:
            nonlocal taken_over
            answer = status()
            if taken_over is None and answer["status"] == "running" and not answer["retry"]:
                taken_over = time.monotonic() - killed
            return answer["status"] in ("done", "failed")

        wait_for(finished, timeout=90, interval=0.2)
        completed = time.monotonic() - killed
    finally:
        second.stop()
    print(  # noqa: T201
        f"SIGKILL to taken over {taken_over:.1f}s, to complete {completed:.1f}s "
        f"(lease {LEASE_SECONDS}s, beat every {RECONCILE_SECONDS}s)"
    )
    report, _parts = report_state(app, report_id)
    assert report.status is ReportStatus.DONE, report.error
    assert report.attempts == 2 and report.error is None
    assert completed < 60
    assert waiting in seen_labels  # shown while it waited, first for beat, then for a worker
    # Complete and not duplicated: every covered submission counted, and written, once.
    assert report.result["figures"]["headline"]["submissions"] == expected
    directory = Path(app.config["SETTINGS"].instance_path) / "reports" / str(report_id)
    with (directory / report.files["csv"]).open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == expected == len({tuple(row.values()) for row in rows})
    with app.app_context():
        assert db.session.scalar(select(func.count(Report.id))) == 1


def first_item_and_its_count(app) -> tuple[int, int]:
    """The first item of the consultation, and how many submissions a report of it covers."""
    with app.app_context():
        item_id = db.session.scalar(
            select(Item.id)
            .join(Consultation, Consultation.id == Item.consultation_id)
            .where(Consultation.slug == SLUG)
            .order_by(Item.position, Item.id)
            .limit(1)
        )
        expected = db.session.scalar(
            select(func.count(Feedback.id)).where(
                Feedback.item_id == item_id,
                Feedback.state.in_((FeedbackState.SUBMITTED, FeedbackState.PUBLISHED)),
            )
        )
    return item_id, expected


def csv_rows(app, report: Report) -> list[dict]:
    directory = Path(app.config["SETTINGS"].instance_path) / "reports" / str(report.id)
    with (directory / report.files["csv"]).open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_a_pool_child_killed_mid_report_is_replaced_and_the_report_compiled_once(
    faults_app, workers, beats
):
    """SIGKILL only the worker's pool child (as the kernel's OOM killer would) while it
    compiles: the worker forks a new child, the message that was never acknowledged comes back
    (reject on worker lost) and finds the job still leased by the dead run, so it does nothing;
    once the lease runs out, beat's reconciler sends the job again and it is compiled once."""
    app = faults_app
    with app.app_context():
        synthetic_feedback.generate(400, consultation_slug=SLUG, seed=5)
    item_id, expected = first_item_and_its_count(app)
    council, _consultation = council_and_consultation(app)
    # Each pool child pauses for a few seconds once it has read the item's rows.
    worker = workers(app, "worker", include="tests.faults.slow_compile", SLOW_COMPILE_SECONDS="4")
    beats(app, "beat")  # a process of its own: the worker's only child is its pool process
    with app.app_context():
        report_id = reports.request_item_report(council, item_id).id
    wait_for(lambda: report_state(app, report_id)[0].stage == "reading", timeout=60, interval=0.05)
    killed = kill_children(worker.process)
    assert len(killed) == 1
    wait_for(lambda: set(children_of(worker.process.pid)) - set(killed), timeout=30)

    def finished() -> bool:
        return report_state(app, report_id)[0].status in (ReportStatus.DONE, ReportStatus.FAILED)

    wait_for(finished, timeout=120, interval=0.2)
    assert worker.process.poll() is None  # the worker itself lived on
    report, _parts = report_state(app, report_id)
    assert report.status is ReportStatus.DONE, report.error
    assert report.attempts == 2 and report.error is None  # the killed run, then one more
    log = worker.log_path.read_text()
    assert "raised error: WorkerLostError" in log
    # Acknowledged: the first message, its redelivery and the reconciler's; stored: one result.
    assert len(deliveries(log, pipeline.COMPILE_TASK)) >= 2
    assert report.result["figures"]["headline"]["submissions"] == expected
    rows = csv_rows(app, report)
    assert len(rows) == expected == len({tuple(row.values()) for row in rows})
    with app.app_context():
        assert db.session.scalar(select(func.count(Report.id))) == 1
