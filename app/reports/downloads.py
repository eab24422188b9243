"""Downloading a compiled report's files (PDF, CSV of the rows, XLSX), for the council."""

from __future__ import annotations

from pathlib import Path

from flask import current_app, send_from_directory
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.errors import NotFound
from app.models import Report
from app.reports import services as reports
from app.reports.blueprint import bp
from app.reports.files import FORMATS
from app.reports.storage import report_directory


@bp.get("/<int:report_id>/download/<fmt>")
@login_required
def download(report_id: int, fmt: str):  # noqa: ANN201
    return send_report_file(reports.get_report(current_user.id, report_id), fmt)


def send_report_file(report: Report, fmt: str):  # noqa: ANN201
    """One of the report's files as a download, or a 404 that says why."""
    if fmt not in FORMATS:
        raise NotFound(_("Reports can be downloaded as PDF, CSV or XLSX only."))
    filename = (report.files or {}).get(fmt)
    directory = report_directory(Path(current_app.instance_path), report.id)
    if not filename or not (directory / filename).is_file():
        raise NotFound(
            _(
                "The %(format)s file of this report is not ready. It is made when the report "
                "is compiled; ask for the report again if it does not appear.",
                format=fmt.upper(),
            )
        )
    return send_from_directory(
        directory,
        filename,
        mimetype=FORMATS[fmt],
        as_attachment=True,
        download_name=f"consulta-report-{report.id}.{fmt}",
        max_age=0,
    )
