"""Reports on a whole consultation, the public version, publishing it, and "since the last"."""

from __future__ import annotations

import itertools
import json

import pytest
from sqlalchemy import func, select

from app import jobs
from app.errors import InvalidState
from app.extensions import db
from app.models import (
    AuditEvent,
    Consultation,
    Disclosure,
    Feedback,
    FeedbackState,
    Item,
    Organization,
    Report,
    ReportPart,
    ReportStatus,
    User,
    VerificationState,
)
from app.models.base import utcnow
from app.models.moderation import Redaction
from app.reports import pipeline
from app.reports import services as reports

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("report_jobs_here")]

SLUG = "leaders-summit-2021-migration"
SECRET = "Councilonlyzebra phrase that must never reach the public."
_numbers = itertools.count(1)


def ids(app) -> tuple[int, int]:
    with app.app_context():
        council = db.session.scalar(select(User.id).where(User.email == "council@example.org"))
        consultation = db.session.scalar(select(Consultation.id).where(Consultation.slug == SLUG))
    return council, consultation


def add_position(app, code: str, state: FeedbackState, comment: str, **fields) -> int:
    with app.app_context():
        number = next(_numbers)
        organization = Organization(
            name=f"Versions organisation {number}",
            country="HN",
            verification=VerificationState.VERIFIED,
        )
        db.session.add(organization)
        db.session.flush()
        item = db.session.scalar(
            select(Item).join(Consultation).where(Consultation.slug == SLUG, Item.code == code)
        )
        feedback = Feedback(
            reference=f"VER-{number}",
            item_id=item.id,
            item_version_id=item.versions[-1].id,
            organization_id=organization.id,
            state=state,
            stance=fields.pop("stance", "oppose"),
            priority=2,
            comment=comment,
            language="en",
            submitted_at=utcnow(),
            **fields,
        )
        db.session.add(feedback)
        db.session.commit()
        return feedback.id


def compiled(app, council: int, consultation: int, **options) -> Report:
    with app.app_context():
        report = reports.request_report(council, consultation, **options)
        pipeline.run_in_process(report.id)
        db.session.expire_all()
        found = db.session.get(Report, report.id)
        assert found.status is ReportStatus.DONE, found.error
        db.session.expunge(found)
        return found


def covered_count(app, consultation: int, states) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count(Feedback.id))
            .join(Item, Item.id == Feedback.item_id)
            .where(Item.consultation_id == consultation, Feedback.state.in_(states))
        )


def test_a_consultation_report_covers_every_item_with_every_section(seeded):
    council, consultation = ids(seeded)
    report = compiled(seeded, council, consultation)
    result = report.result
    assert report.scope == f"consultation:{consultation}" and report.item_id is None
    expected = covered_count(
        seeded, consultation, (FeedbackState.SUBMITTED, FeedbackState.PUBLISHED)
    )
    assert result["figures"]["headline"]["submissions"] == expected > 2
    assert result["items"] == ["P1", "P2", "P3", "P4", "P5", "P6"]
    for section in ("themes", "amendments", "summary", "coalitions", "coverage", "responses"):
        assert result[section] is not None, section
    assert result["coalitions"]["method"].startswith("Each organisation's stance")
    assert [r["item"] for r in result["responses"]] == ["P4"]  # the demo council response
    cited = {i for s in result["summary"]["sentences"] for i in s["submission_ids"]}
    assert cited and {str(i) for i in cited} <= set(result["references"])
    assert set(result["timings"]) >= {"items_reading", "merging", "coalitions", "pdf"}
    with seeded.app_context():
        parts = db.session.scalars(select(ReportPart).where(ReportPart.report_id == report.id))
        assert sorted(p.status.value for p in parts) == ["done"] * 6  # one part per item
    assert report.parts_done == report.parts_total == 6
    # Themes come from the parts, each tagged with its item.
    themes = [t for lang in result["themes"]["languages"].values() for t in lang["themes"]]
    assert themes and {t["item"] for t in themes} <= set(result["items"])


def test_the_public_version_reads_only_what_the_public_may(seeded):
    council, consultation = ids(seeded)
    add_position(
        seeded,
        "P1",
        FeedbackState.PUBLISHED,
        SECRET,
        comment_disclosure=Disclosure.COUNCIL_ONLY,
    )
    add_position(seeded, "P1", FeedbackState.SUBMITTED, "Awaitingreview walrus text here.")
    redacted = add_position(
        seeded, "P2", FeedbackState.PUBLISHED, "Write to ana.lopez at home about shelters."
    )
    with seeded.app_context():
        db.session.add(
            Redaction(feedback_id=redacted, field="comment", start=9, end=18, reason="name")
        )
        db.session.commit()
    council_version = compiled(seeded, council, consultation)
    public = compiled(seeded, council, consultation, public=True)
    assert public.is_public and public.scope == f"consultation:{consultation}:public"
    council_text = json.dumps(council_version.result)
    public_text = json.dumps(public.result)
    assert "Councilonlyzebra" in council_text  # the council reads everything
    assert "walrus" not in public_text.lower() and "Councilonlyzebra" not in public_text
    assert "ana.lopez" not in public_text
    assert public.result["coverage"] is None and council_version.result["coverage"] is not None
    assert public.result["figures"]["headline"]["submissions"] == covered_count(
        seeded, consultation, (FeedbackState.PUBLISHED,)
    )
    assert "timings" in council_version.result


def test_a_redaction_is_a_new_public_snapshot_but_not_a_new_council_one(seeded):
    council, consultation = ids(seeded)
    feedback_id = add_position(seeded, "P3", FeedbackState.PUBLISHED, "Call Rosa at the shelter.")
    with seeded.app_context():
        council_before = reports.snapshot_key(consultation_id=consultation)
        public_before = reports.snapshot_key(consultation_id=consultation, public=True)
        db.session.add(
            Redaction(feedback_id=feedback_id, field="comment", start=5, end=9, reason="name")
        )
        db.session.commit()
        assert reports.snapshot_key(consultation_id=consultation) == council_before
        assert reports.snapshot_key(consultation_id=consultation, public=True) != public_before


def test_only_a_finished_public_version_is_published_and_only_once(seeded):
    council, consultation = ids(seeded)
    council_version = compiled(seeded, council, consultation)
    with seeded.app_context():
        with pytest.raises(InvalidState, match="Only the public version"):
            reports.publish_report(council, council_version.id)
        queued = reports.request_report(council, consultation, public=True)
        with pytest.raises(InvalidState, match="not compiled yet"):
            reports.publish_report(council, queued.id)
        pipeline.run_in_process(queued.id)
        assert reports.published_reports(consultation) == []
        reports.publish_report(council, queued.id)
        assert [r.id for r in reports.published_reports(consultation)] == [queued.id]
        with pytest.raises(InvalidState, match="already published"):
            reports.publish_report(council, queued.id)


def test_a_new_report_says_what_changed_since_the_last(seeded):
    council, consultation = ids(seeded)
    first = compiled(seeded, council, consultation)
    assert first.result["comparison"] is None
    add_position(seeded, "P4", FeedbackState.SUBMITTED, "Oppose: returns are not voluntary.")
    second = compiled(seeded, council, consultation)
    assert second.id != first.id
    comparison = second.result["comparison"]
    assert comparison["report_id"] == first.id
    assert comparison["submissions"]["change"] == 1
    shifts = comparison["stance_shifts"]["items"]["P4"]
    assert shifts["oppose"] > 0


def test_progress_updates_do_not_break_a_long_read(seeded, monkeypatch):
    """Progress is written while rows are still being read through a server-side cursor;
    writing it in the reading transaction once closed the cursor mid-report. (An item report
    shows its reading progress; a consultation's parts leave progress to their report.)"""
    from app.dev import synthetic_feedback
    from app.reports import compiler as report_compiler
    from app.reports import rows as report_rows

    stream = report_rows.stream
    monkeypatch.setattr(report_rows, "stream", lambda scope, **kw: stream(scope, batch=2, **kw))
    monkeypatch.setattr(report_compiler, "PROGRESS_EVERY", 3)
    written: list[str] = []
    progress = pipeline._progress

    def observed(lease, stage: str, percent: int) -> None:
        written.append(stage)
        progress(lease, stage, percent)

    monkeypatch.setattr(pipeline, "_progress", observed)
    council, consultation = ids(seeded)
    with seeded.app_context():
        synthetic_feedback.generate(300, consultation_slug=SLUG, seed=3)
        item_id, rows = db.session.execute(
            select(Feedback.item_id, func.count(Feedback.id))
            .join(Item, Item.id == Feedback.item_id)
            .where(
                Item.consultation_id == consultation,
                Feedback.state.in_((FeedbackState.SUBMITTED, FeedbackState.PUBLISHED)),
            )
            .group_by(Feedback.item_id)
            .order_by(func.count(Feedback.id).desc())
            .limit(1)
        ).one()
    report = compiled(seeded, council, consultation, item_id=item_id)
    assert written.count("reading") >= 3  # written again and again while the cursor was open
    assert report.result["figures"]["headline"]["submissions"] == rows


def test_the_command_line_compiles_a_consultation_or_an_item(seeded):
    runner = seeded.test_cli_runner()
    whole = runner.invoke(args=["compile-report", "--consultation", SLUG, "--wait"])
    assert whole.exit_code == 0, whole.output
    assert "done" in whole.output and "submissions" in whole.output
    public = runner.invoke(
        args=["compile-report", "--consultation", SLUG, "--item", "P4", "--public", "--wait"]
    )
    assert public.exit_code == 0, public.output
    with seeded.app_context():
        found = db.session.scalars(select(Report).order_by(Report.id)).all()
        assert [(r.item_id is None, r.is_public, r.status.value) for r in found] == [
            (True, False, "done"),
            (False, True, "done"),
        ]
    missing = runner.invoke(args=["compile-report", "--consultation", SLUG, "--item", "P99"])
    assert missing.exit_code != 0 and "no such item" in missing.output


def test_the_council_prepares_and_publishes_the_public_version_on_the_web(seeded, client, login):
    from tests.helpers.web import hidden_fields

    council, consultation = ids(seeded)
    add_position(
        seeded, "P1", FeedbackState.PUBLISHED, SECRET, comment_disclosure=Disclosure.COUNCIL_ONLY
    )
    council_version = compiled(seeded, council, consultation)
    login(client, "council@example.org")
    page = client.get(f"/reports/{council_version.id}").get_data(as_text=True)
    assert "Prepare the public version" in page
    token = hidden_fields(page)
    prepared = client.post(f"/reports/{council_version.id}/public-version", data=token)
    public_id = int(prepared.headers["Location"].rsplit("/", 1)[-1])
    with seeded.app_context():
        pipeline.run_in_process(public_id)
    visitor = seeded.test_client()
    public_page = f"/c/{SLUG}/reports/{public_id}"
    assert visitor.get(public_page).status_code == 404  # not before the council publishes
    page = client.get(f"/reports/{public_id}").get_data(as_text=True)
    assert "Publish it on the consultation" in page
    assert client.post(f"/reports/{public_id}/publish", data=token).status_code == 302
    shown = visitor.get(public_page)
    assert shown.status_code == 200
    assert "Councilonlyzebra" not in shown.get_data(as_text=True)
    assert f"/c/{SLUG}/reports/{public_id}" in visitor.get(f"/c/{SLUG}").get_data(as_text=True)
    pdf = visitor.get(f"{public_page}/download/pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    csv_file = visitor.get(f"{public_page}/download/csv").get_data(as_text=True)
    assert "Councilonlyzebra" not in csv_file and "reference" in csv_file.splitlines()[0].lower()
    # The council's own version is never downloadable by the public.
    council_download = f"/c/{SLUG}/reports/{council_version.id}/download/csv"
    assert visitor.get(council_download).status_code == 404


def test_a_redaction_of_a_published_position_retracts_the_published_report(seeded):
    from app.moderation import redactions

    council, consultation = ids(seeded)
    feedback_id = add_position(seeded, "P6", FeedbackState.PUBLISHED, "Phone Ana on 555-0199.")
    public = compiled(seeded, council, consultation, public=True)
    with seeded.app_context():
        reports.publish_report(council, public.id)
        moderator = db.session.scalar(select(User.id).where(User.email == "moderator@example.org"))
        redactions.redact(moderator, feedback_id, "comment", 6, 9, "A name.")
        assert reports.published_reports(consultation) == []  # no longer public
        actions = db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.target_id == public.id)
        ).all()
        assert "report.retract" in actions
    assert seeded.test_client().get(f"/c/{SLUG}/reports/{public.id}").status_code == 404


def test_a_failed_report_asked_for_again_is_compiled_afresh(seeded, monkeypatch):
    council, consultation = ids(seeded)
    with seeded.app_context():
        item = db.session.scalar(select(Item.id).where(Item.code == "P1"))
        failed = reports.request_report(council, consultation, item_id=item)
        failed.status, failed.attempts, failed.error = ReportStatus.FAILED, 3, "ValueError"
        db.session.commit()
        again = reports.request_report(council, consultation, item_id=item)
        assert again.id == failed.id  # the same snapshot ...
        assert again.status is ReportStatus.QUEUED and again.attempts == 0  # ... compiled afresh
        pipeline.run_in_process(again.id)
        assert db.session.get(Report, again.id).status is ReportStatus.DONE


def test_a_run_that_lost_its_job_cannot_overwrite_the_new_owner(seeded):
    council, consultation = ids(seeded)
    with seeded.app_context():
        item = db.session.scalar(select(Item.id).where(Item.code == "P2"))
        report = reports.request_report(council, consultation, item_id=item)
        first = jobs.claim(pipeline.REPORT, report.id)
        # Its lease runs out; another worker takes over and finishes.
        report.lease_until = utcnow()
        db.session.commit()
        second = jobs.claim(pipeline.REPORT, report.id)
        assert None not in (first, second) and first != second
        assert db.session.get(Report, report.id).attempts == 2
        assert pipeline._finish(report.id, {"who": "second"}, {}, second) is True
        # The first run wakes up: neither its result nor its failure changes anything.
        assert pipeline._finish(report.id, {"who": "first"}, {}, first) is False
        assert jobs.fail(pipeline.REPORT, report.id, first, ValueError("late")) is False
        db.session.expire_all()
        done = db.session.get(Report, report.id)
        assert done.status is ReportStatus.DONE and done.result == {"who": "second"}
