"""Council pages for requesting reports and watching them compile."""

from __future__ import annotations

from flask import flash, jsonify, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.accounts.auth_forms import EmptyForm
from app.consultations import services as consultations
from app.models import Report
from app.reports import pipeline
from app.reports import services as reports
from app.reports.blueprint import bp
from app.vocabulary import retry_label, stage_label


@bp.get("/")
@login_required
def index():  # noqa: ANN201
    return render_template(
        "reports/index.html",
        reports=reports.list_reports(current_user.id),
        consultations=consultations.list_consultations(),
    )


@bp.post("/items/<int:item_id>")
@login_required
def request_for_item(item_id: int):  # noqa: ANN201
    if not EmptyForm().validate_on_submit():
        return redirect(url_for("reports.index"))
    report = reports.request_item_report(current_user.id, item_id)
    return redirect(url_for("reports.show", report_id=report.id))


@bp.post("/consultations/<int:consultation_id>")
@login_required
def request_for_consultation(consultation_id: int):  # noqa: ANN201
    if not EmptyForm().validate_on_submit():
        return redirect(url_for("reports.index"))
    report = reports.request_report(current_user.id, consultation_id)
    return redirect(url_for("reports.show", report_id=report.id))


@bp.post("/<int:report_id>/public-version")
@login_required
def request_public_version(report_id: int):  # noqa: ANN201
    """The public version of the same scope, compiled from what the public may read."""
    if not EmptyForm().validate_on_submit():
        return redirect(url_for("reports.show", report_id=report_id))
    report = reports.get_report(current_user.id, report_id)
    public = reports.request_report(
        current_user.id, report.consultation_id, item_id=report.item_id, public=True
    )
    return redirect(url_for("reports.show", report_id=public.id))


@bp.post("/<int:report_id>/compile-again")
@login_required
def compile_again(report_id: int):  # noqa: ANN201
    """The same scope compiled anew, from what the database holds now."""
    if not EmptyForm().validate_on_submit():
        return redirect(url_for("reports.show", report_id=report_id))
    report = reports.compile_again(current_user.id, report_id)
    return redirect(url_for("reports.show", report_id=report.id))


@bp.post("/<int:report_id>/publish")
@login_required
def publish(report_id: int):  # noqa: ANN201
    if not EmptyForm().validate_on_submit():
        return redirect(url_for("reports.show", report_id=report_id))
    report = reports.publish_report(current_user.id, report_id)
    flash(_("The public version is published on the consultation's page."), "success")
    return redirect(url_for("reports.show", report_id=report.id))


@bp.get("/<int:report_id>")
@login_required
def show(report_id: int):  # noqa: ANN201
    report = reports.get_report(current_user.id, report_id)
    return render_template("reports/show.html", report=report, **_progress(report))


@bp.get("/<int:report_id>/diagnostics")
@login_required
def diagnostics(report_id: int):  # noqa: ANN201
    """How a report was compiled: its stages' times and its methods' names and settings."""
    report = reports.get_diagnostics(current_user.id, report_id)
    return render_template("reports/diagnostics.html", report=report, result=report.result or {})


@bp.get("/<int:report_id>/status")
@login_required
def status(report_id: int):  # noqa: ANN201
    report = reports.get_report(current_user.id, report_id)
    return jsonify(
        id=report.id,
        status=report.status.value,
        stage=report.stage,
        stage_label=stage_label(report.stage),
        percent=report.percent,
        readable=report.readable,  # before the files are written too (pipeline._readable)
        error=report.error,
        **_progress(report),
    )


def _progress(report: Report) -> dict[str, object]:
    """What the progress bar says: the stage, or that the report waits to be retried."""
    retry = pipeline.retry_wait(report)
    return {
        "progress_label": retry_label(*retry) if retry else stage_label(report.stage),
        "retry": retry._asdict() if retry else None,
    }
