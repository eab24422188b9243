"""Report jobs: one report per snapshot, exactly one compilation, lost wake-ups re-sent."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app import jobs
from app.errors import Forbidden
from app.extensions import db
from app.feedback import positions
from app.feedback import services as feedback
from app.feedback.feedback_input import FeedbackInput
from app.models import (
    CosignState,
    Feedback,
    FeedbackCosigner,
    FeedbackState,
    Item,
    Organization,
    OrganizationType,
    Report,
    ReportPart,
    ReportStatus,
    Role,
    Stance,
    User,
)
from app.models.base import utcnow
from app.models.organization import INTERNATIONAL_COUNTRY
from app.reports import pipeline
from app.reports import services as reports
from tests import factories
from tests.helpers.waiting import wait_for

pytestmark = [pytest.mark.postgres]


def _ids(app):
    with app.app_context():
        council = db.session.scalar(select(User.id).where(User.email == "council@example.org"))
        stakeholder = db.session.scalar(select(User.id).where(User.email == "lead@example.org"))
        item = db.session.scalar(select(Item.id).where(Item.code == "P3"))
    return council, stakeholder, item


def _submit(stakeholder_id: int, item_id: int, stance: Stance = Stance.SUPPORT) -> None:
    existing = positions.feedback_of_organization(
        db.session.get(User, stakeholder_id).organization_id, item_id
    )
    feedback.save_feedback(
        stakeholder_id,
        item_id,
        FeedbackInput(stance, 3, "text"),
        submit=True,
        lock_version=existing.lock_version if existing else 0,
    )


def _unsent_report(item_id: int, council_id: int, **values) -> int:
    """A job row recorded without a wake-up, so no worker of this session races the test."""
    report = Report(
        scope=reports.item_scope(item_id),
        consultation_id=1,
        item_id=item_id,
        snapshot_key=reports.snapshot_key(item_id),
        requested_by_id=council_id,
        files={},
        **values,
    )
    db.session.add(report)
    db.session.commit()
    return report.id


def test_same_snapshot_gives_the_same_report(seeded):
    council, _stakeholder, item = _ids(seeded)
    with seeded.test_request_context():
        first = reports.request_item_report(council, item).id
        second = reports.request_item_report(council, item).id
        assert first == second
        assert db.session.scalar(select(db.func.count()).select_from(Report)) == 1


def test_a_new_submission_gives_a_new_snapshot(seeded):
    council, stakeholder, item = _ids(seeded)
    with seeded.test_request_context():
        first = reports.request_item_report(council, item)
        _submit(stakeholder, item)
        second = reports.request_item_report(council, item)
        assert second.id != first.id
        assert second.snapshot_key != first.snapshot_key


def test_only_council_and_admins_may_request_reports(seeded):
    _council, stakeholder, item = _ids(seeded)
    with seeded.test_request_context(), pytest.raises(Forbidden):
        reports.request_item_report(stakeholder, item)


def test_compiling_twice_produces_one_result(seeded):
    council, _stakeholder, item = _ids(seeded)
    with seeded.test_request_context():
        report_id = _unsent_report(item, council)
        assert pipeline.compile_report(report_id) is True
        assert pipeline.compile_report(report_id) is False  # a duplicate message does no harm
        report = db.session.get(Report, report_id)
        assert report.status is ReportStatus.DONE
        assert report.attempts == 1
        # Demo data has one submitted (neutral) position on P3.
        assert report.result["tally"]["stances"]["neutral"] == 1


def test_an_accepted_co_signature_is_a_new_snapshot_and_counts_in_the_report(seeded):
    council, _stakeholder, item = _ids(seeded)
    with seeded.test_request_context():
        before = reports.snapshot_key(item)
        position = db.session.scalar(
            select(Feedback).where(
                Feedback.item_id == item, Feedback.state == FeedbackState.SUBMITTED
            )
        )
        partner = db.session.scalar(
            select(Organization.id).where(Organization.id != position.organization_id).limit(1)
        )
        db.session.add(
            FeedbackCosigner(
                feedback_id=position.id, organization_id=partner, state=CosignState.ACCEPTED
            )
        )
        db.session.commit()
        assert reports.snapshot_key(item) != before
        report_id = _unsent_report(item, council)
        assert pipeline.compile_report(report_id) is True
        # The neutral position on P3 now speaks for two organisations.
        assert db.session.get(Report, report_id).result["tally"]["stances"]["neutral"] == 2


def test_a_run_whose_worker_died_is_taken_over_after_its_lease(seeded):
    council, _stakeholder, item = _ids(seeded)
    with seeded.test_request_context():
        report_id = _unsent_report(
            item,
            council,
            status=ReportStatus.RUNNING,
            attempts=1,
            lease_token="a-worker-that-will-die",
            lease_until=utcnow() + timedelta(minutes=1),
        )
        assert pipeline.compile_report(report_id) is False  # the lease still holds
        db.session.execute(
            update(Report)
            .where(Report.id == report_id)
            .values(lease_until=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
        assert pipeline.compile_report(report_id) is True
        assert db.session.get(Report, report_id).attempts == 2


def test_exhausted_attempts_end_as_failed(seeded):
    council, _stakeholder, item = _ids(seeded)
    with seeded.test_request_context():
        report_id = _unsent_report(
            item,
            council,
            status=ReportStatus.RUNNING,
            attempts=jobs.max_attempts(pipeline.REPORT),
            lease_token="a-worker-that-died",
            lease_until=utcnow() - timedelta(seconds=1),
        )
        pipeline.reconcile_reports()
        report = db.session.get(Report, report_id)
        assert report.status is ReportStatus.FAILED
        assert report.error


@pytest.mark.worker
@pytest.mark.redis
def test_reconciler_resends_a_lost_wake_up_and_the_worker_compiles_it(seeded, celery_worker):
    council, _stakeholder, item = _ids(seeded)
    with seeded.test_request_context():
        # Record a job as if its message had been lost: a queued row, never sent.
        report_id = _unsent_report(item, council, enqueued_at=None)  # never sent
        assert pipeline.reconcile_reports() == [report_id]

        def finished() -> bool:
            db.session.expire_all()
            return db.session.get(Report, report_id).status is ReportStatus.DONE

        wait_for(finished, timeout=30)
        assert db.session.get(Report, report_id).attempts == 1


def test_the_reconciler_does_not_resend_a_job_it_just_sent(seeded):
    council, _stakeholder, item = _ids(seeded)
    with seeded.test_request_context():
        report_id = _unsent_report(item, council, enqueued_at=None)  # never sent
        assert pipeline.reconcile_reports() == [report_id]
        assert pipeline.reconcile_reports() == []  # sent moments ago: wait before sending again


def test_a_report_without_a_result_shows_a_message_not_an_error(seeded, client, login):
    council, _stakeholder, item = _ids(seeded)
    with seeded.test_request_context():
        report_id = _unsent_report(item, council, status=ReportStatus.DONE)
    login(client, "council@example.org")
    response = client.get(f"/reports/{report_id}")
    assert response.status_code == 200
    assert "could not be compiled" in response.get_data(as_text=True)


def test_reports_are_listed_by_title_with_their_status_as_a_tag(seeded, client, login):
    council, _stakeholder, item = _ids(seeded)
    with seeded.test_request_context():
        report_id = _unsent_report(item, council, status=ReportStatus.FAILED)
    login(client, "council@example.org")
    listing = client.get("/reports/").get_data(as_text=True)
    row = re.search(
        rf'<tr class="govuk-table__row" data-report="{report_id}">.*?</tr>', listing, re.S
    )[0]
    assert re.search(rf'href="/reports/{report_id}">[^<]*North American Leaders[^<]*· P3', row)
    assert f"#{report_id}" not in row
    assert 'class="govuk-tag govuk-tag--red app-tag" data-state="failed">Failed<' in row
    page = client.get(f"/reports/{report_id}").get_data(as_text=True)
    assert 'data-state="failed">Failed<' in page
    assert 'class="govuk-breadcrumbs' in page and 'href="/reports/"' in page


def test_a_report_whose_worker_was_lost_shows_it_waits_to_be_retried(
    seeded, client, login, report_jobs_here
):
    council, _stakeholder, item = _ids(seeded)
    with seeded.test_request_context():
        report_id = _unsent_report(
            item,
            council,
            status=ReportStatus.RUNNING,
            stage="reading",
            percent=40,
            attempts=1,
            lease_token="a-dead-worker",
            lease_until=utcnow() - timedelta(seconds=1),
        )
    login(client, "council@example.org")
    waiting = "Waiting to be retried (attempt 2 of 3)"

    def status() -> dict:
        return client.get(f"/reports/{report_id}/status").get_json()

    # The lease ran out: waiting, before the reconciler has even queued it again ...
    assert status()["retry"] == {"attempt": 2, "attempts": 3}
    assert status()["progress_label"] == waiting
    assert waiting in client.get(f"/reports/{report_id}").get_data(as_text=True)
    with seeded.test_request_context():
        assert pipeline.reconcile_reports() == [report_id]
    # ... and after, queued again (its wake-up recorded here, for no worker to race the test) ...
    assert report_jobs_here == [(pipeline.COMPILE_TASK, (report_id,))]
    answer = status()
    assert (answer["status"], answer["progress_label"]) == ("queued", waiting)
    # ... until a worker takes it: then the bar shows its stage again.
    with seeded.test_request_context():
        assert jobs.claim(pipeline.REPORT, report_id, values={"stage": "loading"}) is not None
    assert status()["retry"] is None
    assert status()["progress_label"] == status()["stage_label"] == "Loading submissions"


def test_a_consultation_report_shows_a_part_waiting_to_be_retried(seeded, client, login):
    council, _stakeholder, item = _ids(seeded)
    with seeded.test_request_context():
        consultation = db.session.get(Item, item).consultation_id
        report = Report(
            scope=reports.consultation_scope(consultation),
            consultation_id=consultation,
            snapshot_key="k" * 64,
            requested_by_id=council,
            status=ReportStatus.RUNNING,  # handed over to its parts: no worker holds it
            stage="items",
            parts_total=2,
            files={},
        )
        db.session.add(report)
        db.session.flush()
        db.session.add_all(
            [
                ReportPart(report_id=report.id, item_id=item, status=ReportStatus.DONE),
                ReportPart(
                    report_id=report.id, item_id=item + 1, status=ReportStatus.QUEUED, attempts=1
                ),
            ]
        )
        db.session.commit()
        report_id = report.id
    login(client, "council@example.org")
    status = client.get(f"/reports/{report_id}/status").get_json()
    assert status["retry"] == {"attempt": 2, "attempts": 3}
    assert status["progress_label"] == "Waiting to be retried (attempt 2 of 3)"


def test_a_report_counts_and_names_no_overall_position_and_international_organisations(
    unseeded, client, login, report_jobs_here
):
    with unseeded.test_request_context():
        item = factories.item(code="A1")
        international = factories.organization(
            kind=OrganizationType.INTERNATIONAL, country=INTERNATIONAL_COUNTRY
        )
        factories.feedback(factories.lead(international), item, stance=Stance.NO_POSITION)
        factories.feedback(factories.lead(), item, stance=Stance.NEUTRAL)  # from Mexico
        council = factories.staff(Role.COUNCIL)
        report_id = reports.request_item_report(council.id, item.id).id
        pipeline.run_in_process(report_id)
        figures = db.session.get(Report, report_id).result["figures"]
        council_email = council.email
    overall = figures["distributions"]["overall"]
    assert (overall["stances"]["no_position"], overall["stances"]["neutral"]) == (1, 1)
    by_country = figures["distributions"]["by_country"]
    assert {code: t["total"] for code, t in by_country.items()} == {"MX": 1, "XX": 1}
    assert by_country["XX"]["stances"]["no_position"] == 1
    assert figures["headline"]["countries"] == 1

    login(client, council_email)
    page = client.get(f"/reports/{report_id}").get_data(as_text=True)
    assert '<th scope="col">No overall position</th>' in page
    assert '<th scope="row">International / several countries</th>' in page
    assert '<th scope="row">XX</th>' not in page
    rows = client.get(f"/reports/{report_id}/download/csv").get_data(as_text=True)
    assert "International / several countries" in rows and "No overall position" in rows
