"""A large item's rows read in several parts (row ranges by feedback id), on any worker, give
exactly the report that one part per item gives."""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import delete, func, select

from app import create_app
from app.dev import synthetic_feedback
from app.extensions import db
from app.models import Consultation, Feedback, Item, Report, ReportPart, ReportStatus, User
from app.reports import pipeline
from app.reports import services as reports
from app.reports.part_ranges import WHOLE, plan_ranges
from app.reports.rows import Scope, covered, in_scope
from app.reports.storage import report_directory
from tests.helpers.services import app_settings
from tests.helpers.waiting import wait_for
from tests.helpers.worker import start_worker_for

SLUG = "task-force-migration-recommendations"
ROWS = 1_500


@pytest.fixture
def generated(seeded: Flask) -> Flask:
    with seeded.app_context():
        synthetic_feedback.generate(ROWS, consultation_slug=SLUG, seed=9)
    return seeded


def ids(app: Flask) -> tuple[int, int]:
    with app.app_context():
        council = db.session.scalar(select(User.id).where(User.email == "council@example.org"))
        consultation = db.session.scalar(select(Consultation.id).where(Consultation.slug == SLUG))
    return council, consultation


def rows_in(scope: Scope) -> int:
    return db.session.scalar(select(func.count(Feedback.id)).where(in_scope(scope), covered(scope)))


def test_an_items_rows_are_planned_in_contiguous_ranges_of_at_most_the_target(generated):
    _council, consultation = ids(generated)
    with generated.app_context():
        item = db.session.scalar(
            select(Feedback.item_id)
            .join(Item, Item.id == Feedback.item_id)
            .where(Item.consultation_id == consultation)
            .group_by(Feedback.item_id)
            .order_by(func.count().desc())
            .limit(1)
        )
        scope = Scope(consultation, item)
        total = rows_in(scope)
        assert plan_ranges(scope, total) == [WHOLE]
        target = total // 3 - 7
        ranges = plan_ranges(scope, target)
        assert len(ranges) == math.ceil(total / target) >= 4
        assert ranges[0].first_id == 0 and ranges[-1].end_id is None
        assert all(a.end_id == b.first_id for a, b in zip(ranges, ranges[1:], strict=False))
        counts = [rows_in(Scope(consultation, item, False, r.first_id, r.end_id)) for r in ranges]
        assert sum(counts) == total
        assert max(counts) <= target and min(counts) >= max(counts) - 1


def compiled(app: Flask, council: int, consultation: int) -> tuple[dict, bytes, int]:
    """A consultation report run here: its result, its CSV file and its number of parts."""
    with app.app_context():
        report_id = reports.request_report(council, consultation).id
        pipeline.run_in_process(report_id)
        report = db.session.get(Report, report_id)
        assert report.status is ReportStatus.DONE, report.error
        folder = report_directory(Path(app.config["SETTINGS"].instance_path), report_id)
        csv = (folder / report.files["csv"]).read_bytes()
        parts = db.session.scalar(
            select(func.count(ReportPart.id)).where(ReportPart.report_id == report_id)
        )
        result = dict(report.result)
        # The next request of the same snapshot would be this report again.
        db.session.execute(delete(ReportPart).where(ReportPart.report_id == report_id))
        db.session.execute(delete(Report).where(Report.id == report_id))
        db.session.commit()
    for key in ("compiled_at", "timings"):
        result.pop(key)
    return result, csv, parts


def split_app(app: Flask, tmp_path: Path, rows_per_part: int) -> Flask:
    settings = app.config["SETTINGS"]
    return create_app(
        {
            **app_settings(tmp_path / "split", settings.database_url, settings.redis_url, "split"),
            "report_part_rows": rows_per_part,
        }
    )


def test_a_report_read_in_row_ranges_is_the_report_of_one_part_per_item(generated, tmp_path):
    council, consultation = ids(generated)
    whole, whole_csv, items = compiled(generated, council, consultation)
    split, split_csv, parts = compiled(split_app(generated, tmp_path, 90), council, consultation)
    assert parts > 2 * items
    assert whole["figures"]["headline"]["submissions"] >= ROWS
    assert whole["themes"]["languages"] and whole["coalitions"]["coalitions"]
    # Every section the same (figures, coalitions, themes and their quotes, amendments, the
    # summary, distinct texts, references, coverage), named when one differs.
    assert sorted(split) == sorted(whole)
    assert [key for key in whole if split[key] != whole[key]] == []
    assert split_csv == whole_csv, "the CSV files differ"


@pytest.mark.worker
def test_real_workers_complete_a_report_read_in_row_ranges(generated, tmp_path, redis_url):
    council, consultation = ids(generated)
    settings = generated.config["SETTINGS"]
    app = create_app(
        app_settings(tmp_path / "app", settings.database_url, redis_url, f"ranges-{time.time_ns()}")
    )
    workers = [
        start_worker_for(app, tmp_path / f"worker-{n}.log", CONSULTA_REPORT_PART_ROWS="60")
        for n in range(2)
    ]
    try:
        with app.app_context():
            report_id = reports.request_report(council, consultation).id

        def done() -> Report:
            with app.app_context():
                report = db.session.get(Report, report_id)
                db.session.expunge_all()
            return report if report.status in (ReportStatus.DONE, ReportStatus.FAILED) else None

        report = wait_for(done, timeout=120, interval=0.2)
    finally:
        for worker in workers:
            worker.stop()
    assert report.status is ReportStatus.DONE, report.error
    with app.app_context():
        parts = db.session.execute(
            select(ReportPart.item_id, ReportPart.status, ReportPart.result).where(
                ReportPart.report_id == report_id
            )
        ).all()
        expected = rows_in(Scope(consultation))
    items = {item for item, _status, _result in parts}
    assert len(parts) >= 2 * len(items) and report.parts_done == len(parts)
    assert all(status is ReportStatus.DONE for _item, status, _result in parts)
    analysed = [item for item, _status, result in parts if "themes" in result]
    assert sorted(analysed) == sorted(items)  # each item's texts analysed once
    assert report.result["figures"]["headline"]["submissions"] == expected
