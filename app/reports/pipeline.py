"""Compiling a report on the workers: one leased job per report (app.jobs), fanned out for a
consultation one part per item, or per range of a large item's rows (app/reports/part_ranges.py);
the last part sends the assembly, which merges the parts, stores the readable result, writes the
files and tells the council. Every step is safe to run twice."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from typing import TYPE_CHECKING

from flask import current_app
from sqlalchemy import func, select, update

from app import jobs
from app.consultations.services import organization_tally
from app.extensions import db
from app.jobs import enqueue_after_commit
from app.models import (
    Feedback,
    FeedbackState,
    Item,
    Report,
    ReportPart,
    ReportStatus,
    Role,
    User,
)
from app.models.base import utcnow
from app.notifications import mail
from app.reports import rows as report_rows
from app.reports import workdir
from app.reports.csv_file import labels_in
from app.reports.part_ranges import plan_ranges
from app.reports.rows import Scope

if TYPE_CHECKING:
    from app.reports.compiler import Compiled

# The compiler and the file renderers (scikit-learn, matplotlib, the PDF) are imported by the
# functions that run in the worker: web processes import this module to queue and reconcile
# reports, and would otherwise pay about 1.5 s at every start.

COMPILE_TASK = "worker.reports.compile_report"


PART_TASK = "worker.reports.compile_part"


ASSEMBLE_TASK = "worker.reports.assemble_report"


# Feedback that a council report covers: everything submitted for review or published.
COUNTED_STATES = (FeedbackState.SUBMITTED, FeedbackState.PUBLISHED)


STATUSES = jobs.Statuses(
    ReportStatus.QUEUED, ReportStatus.RUNNING, ReportStatus.DONE, ReportStatus.FAILED
)


# A report is one leased job (app.jobs); a consultation report fans out one per item, and the
# last part to finish sends the assembly, which resumes the report.
REPORT = jobs.JobKind(
    name="report",
    model=Report,
    task=COMPILE_TASK,
    statuses=STATUSES,
    attempts_setting="report_attempts",
    lease_setting="report_lease_seconds",
    requeued_values={"stage": "retrying"},
    failed_values={"stage": "failed"},
    resume_task=ASSEMBLE_TASK,
)


def _fail_with_parts(part_ids: list[int]) -> None:
    """A part out of attempts fails its report, naming the item."""
    failed = db.session.execute(
        select(ReportPart.report_id, ReportPart.error, Item.code)
        .join(Item, Item.id == ReportPart.item_id)
        .where(ReportPart.id.in_(part_ids))
    ).all()
    for report_id, error, code in failed:
        jobs.abandon(REPORT, report_id, f"{code}: {error or jobs.WORKER_LOST}")


REPORT_PART = jobs.JobKind(
    name="report part",
    model=ReportPart,
    task=PART_TASK,
    statuses=STATUSES,
    attempts_setting="report_attempts",
    lease_setting="report_lease_seconds",
    # Only while its report still waits for it.
    only_while=lambda: ReportPart.report_id.in_(
        select(Report.id).where(Report.status == ReportStatus.RUNNING)
    ),
    on_failed=_fail_with_parts,
)


def notify_council(report: Report) -> None:
    """Queue the "report ready" email, with the PDF, to every active council member."""
    pdf = report.files.get("pdf") if report.files else None
    attachment = f"reports/{report.id}/{pdf}" if pdf else None
    headline = (report.result or {}).get("figures", {}).get("headline", {})
    members = db.session.scalars(
        select(User).where(User.role == Role.COUNCIL, User.active.is_(True)).order_by(User.id)
    )
    for member in members:
        mail.queue_email(
            "report_ready",
            member.email,
            member.locale,
            dedupe_key=f"report-ready:{report.id}:user:{member.id}",
            user_id=member.id,
            attachment=attachment,
            name=member.name,
            title=report.consultation.title_in(member.locale),
            submissions=headline.get("submissions", 0),
            organisations=headline.get("organisations", {}).get("with_cosigners", 0),
            change=((report.result or {}).get("comparison") or {})
            .get("submissions", {})
            .get("change"),
            link=mail.absolute_url("reports.show", report_id=report.id),
        )


def compile_report(report_id: int) -> bool:
    """Compile one report if it is ours to run; False when another run owns or finished it.

    An item report is compiled here: its one part, then its fan-in. A consultation report fans
    out: one part per item (on any worker), and the last part to finish sends the assembly."""
    loading = {"stage": "loading", "percent": 10, "started_at": utcnow()}
    with jobs.running(REPORT, report_id, values=loading) as lease:
        if lease is None:
            return False
        report = db.session.get(Report, report_id)
        if report.item_id is None:
            return _fan_out(report, lease.token)
        from app.reports.compiler import compile_item, compile_scope

        scope = Scope(report.consultation_id, report.item_id, report.is_public)
        code = db.session.scalar(select(Item.code).where(Item.id == report.item_id))
        expected = max(1, _row_count(scope))
        part = compile_item(
            scope,
            workdir.csv_part(report.id, f"item-{report.item_id}"),
            alive=lambda seen: _progress(lease, "reading", 10 + 60 * seen // expected),
            labels=labels_in(_reader_locale(report)),
        )
        compiled = compile_scope(
            scope,
            report.scope,
            [(code, part)],
            progress=lambda stage, percent: _progress(lease, stage, percent),
        )
        result = compiled.result
        states = (FeedbackState.PUBLISHED,) if report.is_public else COUNTED_STATES
        result["tally"] = organization_tally(report.item_id, states).as_dict()  # co-signers in
        if not _readable(report_id, result, lease.token):
            return False
        files = _render(report, compiled, [(f"item-{report.item_id}", report.item_id, code)])
        return _finish(report_id, result, files, lease.token)


def _row_count(scope: Scope) -> int:
    """The rows an item's pass will read, for the progress bar."""
    condition = [report_rows.in_scope(scope), report_rows.covered(scope)]
    return db.session.scalar(select(func.count(Feedback.id)).where(*condition)) or 0


def run_in_process(report_id: int) -> None:
    """Everything the workers would do for a report, here and now (the CLI's --wait)."""
    compile_report(report_id)
    for part_id in db.session.scalars(
        select(ReportPart.id).where(ReportPart.report_id == report_id).order_by(ReportPart.id)
    ).all():
        compile_part(part_id)
    assemble_report(report_id)


def compile_part(part_id: int) -> bool:
    """One item's part of a consultation report, or one range of its rows; False when not
    ours to run.

    Each part reads its rows (counts, matrix, CSV lines, distinct texts). The item's text
    analysis needs the distinct texts of all its rows: the part that finishes reading when
    every other part of its item is done merges theirs (left in files) and analyses them."""
    with jobs.running(REPORT_PART, part_id) as lease:
        if lease is None:
            return False
        from app.reports.compiler import analyse_texts, read_rows

        part = db.session.get(ReportPart, part_id)
        report = db.session.get(Report, part.report_id)
        scope = Scope(
            report.consultation_id, part.item_id, report.is_public, part.first_id, part.end_id
        )
        result, texts = read_rows(
            scope,
            workdir.csv_part(report.id, f"part-{part_id}"),
            labels=labels_in(_reader_locale(report)),
        )
        siblings = db.session.execute(
            select(ReportPart.id, ReportPart.status)
            .where(ReportPart.report_id == report.id, ReportPart.item_id == part.item_id)
            .order_by(ReportPart.id)
            .with_for_update()  # parts of one item finishing at once decide one after the other
        ).all()
        others = [sibling for sibling, _status in siblings if sibling != part_id]
        if all(status is ReportStatus.DONE for sibling, status in siblings if sibling != part_id):
            db.session.commit()  # the others are done and stay so: no need to hold them
            for other in others:
                texts.merge(
                    json.loads(workdir.texts_file(report.id, other).read_text(encoding="utf-8"))
                )
            assignment = workdir.themes_file(report.id, part.item_id)
            result.update(analyse_texts(texts, result["timings"], assignment))
        else:  # the item's last part to finish reads these
            workdir.texts_file(report.id, part_id).write_text(
                json.dumps(texts.state()), encoding="utf-8"
            )
        if not lease.finish(result=result, finished_at=utcnow()):
            db.session.rollback()  # taken over meanwhile: the other run counts it
            return False
        # Fan-in: counted in the same transaction that marks the part done, so each part counts
        # exactly once, and whoever counts the last one sends the assembly.
        counted = db.session.execute(
            update(Report)
            .where(Report.id == report.id, Report.status == ReportStatus.RUNNING)
            .values(
                parts_done=Report.parts_done + 1,
                # parts_total >= 1: it was set with the parts, in one transaction.
                percent=15 + (40 * (Report.parts_done + 1)) // Report.parts_total,
            )
            .returning(Report.parts_done, Report.parts_total)
        ).first()
        if counted is None:  # the report failed meanwhile: nothing is waiting for this part
            db.session.rollback()
            return False
        if counted[0] >= counted[1]:
            _send_assembly(report.id)
        db.session.commit()
        return True


def assemble_report(report_id: int) -> bool:
    """The fan-in of a consultation report: the parts' counts and texts merged, then files."""
    with jobs.running(
        REPORT,
        report_id,
        resume=True,  # the assembly is the report's next stage, not a new attempt
        where=(
            Report.item_id.is_(None),  # only a consultation report has parts to assemble
            Report.parts_done >= Report.parts_total,
        ),
        values={"stage": "assembling", "percent": 60},
    ) as lease:
        if lease is None:
            return False
        from app.reports.compiler import compile_scope

        report = db.session.get(Report, report_id)
        parts = db.session.execute(
            select(ReportPart.id, ReportPart.item_id, Item.code)
            .join(Item, Item.id == ReportPart.item_id)
            .where(ReportPart.report_id == report_id)
            .order_by(Item.position, Item.code, ReportPart.first_id)
        ).all()
        compiled = compile_scope(
            Scope(report.consultation_id, None, report.is_public),
            report.scope,
            _part_results(parts),
            progress=lambda stage, percent: _progress(lease, stage, max(percent, 60)),
        )
        if not _readable(report_id, compiled.result, lease.token):
            return False
        files = _render(
            report, compiled, [(f"part-{part_id}", item, code) for part_id, item, code in parts]
        )
        return _finish(report_id, compiled.result, files, lease.token)


def _part_results(parts: list) -> Iterator[tuple[str, dict]]:
    """Each part's result, read when the fan-in gets to it: one part's counts in memory."""
    for part_id, _item_id, code in parts:
        yield code, db.session.scalar(select(ReportPart.result).where(ReportPart.id == part_id))


def _fan_out(report: Report, token: str) -> bool:
    """Create the report's parts (once), hand the report over to them and send every part
    still to do, or the assembly when none is left. False when the run lost the report."""
    # Planned once: a run taking the fan-out over keeps the parts an earlier one created.
    parts = db.session.scalar(
        select(func.count(ReportPart.id)).where(ReportPart.report_id == report.id)
    )
    if not parts:
        items = db.session.scalars(
            select(Item.id)
            .where(Item.consultation_id == report.consultation_id)
            .order_by(Item.position, Item.id)
        ).all()
        rows_per_part = current_app.config["SETTINGS"].report_part_rows
        for item_id in items:
            scope = Scope(report.consultation_id, item_id, report.is_public)
            for rows in plan_ranges(scope, rows_per_part):
                db.session.add(
                    ReportPart(
                        report_id=report.id,
                        item_id=item_id,
                        first_id=rows.first_id,
                        end_id=rows.end_id,
                        status=ReportStatus.QUEUED,
                    )
                )
                parts += 1
        db.session.flush()
    if not jobs.hand_over(REPORT, report.id, token, parts_total=parts, stage="items", percent=15):
        db.session.rollback()
        return False
    todo = db.session.scalars(
        select(ReportPart).where(ReportPart.report_id == report.id, jobs.due(REPORT_PART))
    ).all()
    for part in todo:
        jobs.enqueue(REPORT_PART, part)
    if db.session.scalar(
        select(Report.parts_done >= Report.parts_total).where(Report.id == report.id)
    ):
        _send_assembly(report.id)
    db.session.commit()
    return True


def _send_assembly(report_id: int) -> None:
    """Every part is done: send the assembly, which resumes the report (in the caller's
    transaction)."""
    jobs.expect_resume(REPORT, report_id)
    enqueue_after_commit(ASSEMBLE_TASK, report_id)


def _readable(report_id: int, result: dict, token: str) -> bool:
    """Store the compiled result before the files are written: the council reads the report
    while its PDF, CSV and XLSX are prepared (the "rendering" stage). The job stays running
    under its lease until `_finish`: a worker lost while rendering leaves it to the next
    one. False when another run owns the job by now."""
    stored = db.session.execute(
        update(Report)
        .where(jobs.owned(REPORT, report_id, token))
        .values(result=result, stage="rendering", percent=90)
    )
    db.session.commit()
    return stored.rowcount == 1


def _render(
    report: Report, compiled: Compiled, parts: list[tuple[str, int, str]]
) -> dict[str, str]:
    """The PDF, CSV (the parts' CSV lines joined, in order, each with its text's theme) and
    XLSX, in the requester's language. `parts` are (CSV part name, item id, item code)."""
    from app.reports.files import render_files

    return render_files(
        report,
        compiled.result,
        compiled.matrix,
        [workdir.csv_part(report.id, name) for name, _item, _code in parts],
        workdir.directory(report.id),
        locale=_reader_locale(report),
        assignments=workdir.assignments(report.id, [(item, code) for _n, item, code in parts]),
    )


def _reader_locale(report: Report) -> str:
    """The language the report's files are written in: its requester's."""
    requester = db.session.get(User, report.requested_by_id) if report.requested_by_id else None
    return requester.locale if requester else "en"


def _finish(report_id: int, result: dict, files: dict[str, str], token: str) -> bool:
    """Store the result, if this run (`token`) still owns the job; tell the council in the
    same transaction when it asked to be told (read from the updated row: beat may have asked
    while the report was compiling)."""
    finished = jobs.finish(
        REPORT,
        report_id,
        token,
        stage="done",
        percent=100,
        result=result,
        files=files,
        finished_at=utcnow(),
    )
    if not finished:  # taken over meanwhile: the other run's result stands
        db.session.rollback()
        return False
    report = db.session.get(Report, report_id, populate_existing=True)
    if report.notify_council:
        notify_council(report)
    db.session.commit()
    shutil.rmtree(workdir.parts(report_id), ignore_errors=True)  # joined into the CSV
    return True


def reconcile_reports() -> list[int]:
    """Ids of reports whose wake-up was lost or whose worker died, re-sent; exhausted ones fail.

    A consultation report waiting for its parts is held by no worker: its parts are the live
    work, reconciled by `reconcile_parts`, and the last of them sends the assembly."""
    return jobs.reconcile(REPORT)


def reconcile_parts() -> list[int]:
    """Ids of report parts whose wake-up was lost or whose worker died, re-sent; a part that
    exhausted its attempts fails its report."""
    return jobs.reconcile(REPORT_PART)


def retry_wait(report: Report) -> jobs.Retry | None:
    """The attempt the report, or one of its parts, waits for after a failure or a lost worker;
    None while nothing waits to be retried."""
    waiting = jobs.waiting_for_retry(REPORT, report)
    if waiting is None and report.status is ReportStatus.RUNNING and report.item_id is None:
        parts = db.session.scalars(
            select(ReportPart).where(
                ReportPart.report_id == report.id,
                ReportPart.attempts > 0,
                ReportPart.status.in_((ReportStatus.QUEUED, ReportStatus.RUNNING)),
            )
        )
        retries = [jobs.waiting_for_retry(REPORT_PART, part) for part in parts]
        waiting = max(filter(None, retries), default=None)
    return waiting


def _progress(lease: jobs.Lease, stage: str, percent: int) -> None:
    """Show the stage, in a transaction of its own: the compiler may be in the middle of
    reading rows through a server-side cursor, which a commit of the session's transaction
    would close. (The run's heartbeat keeps its lease.)"""
    with db.engine.begin() as connection:
        connection.execute(update(Report).where(lease.owned()).values(stage=stage, percent=percent))
