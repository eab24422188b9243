"""Downloading a compiled report's files (PDF, CSV of the rows, XLSX), for the council."""

from __future__ import annotations

from flask_login import current_user, login_required

from app.downloads import send_report_file
from app.reports import services as reports
from app.reports.blueprint import bp


@bp.get("/<int:report_id>/download/<fmt>")
@login_required
def download(report_id: int, fmt: str):  # noqa: ANN201
    return send_report_file(reports.get_report(current_user.id, report_id), fmt)
