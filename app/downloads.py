"""Files as downloads, shared by the pages and the API: an attachment (if the viewer may read
it) and a compiled report's files, each with the headers that keep a browser from running or
storing what it should not."""

from __future__ import annotations

from pathlib import Path

from flask import current_app, send_file, send_from_directory
from flask_babel import gettext as _
from flask_login import current_user

from app.errors import NotFound
from app.feedback import attachments
from app.models import Report
from app.reports.storage import FORMATS, report_directory

# Downloads are never rendered by the browser; if one were, it could run nothing.
DOWNLOAD_CSP = "default-src 'none'; sandbox"


def send_attachment(attachment_id: int):  # noqa: ANN201
    """The file as a download, if the viewer (signed in, by session or API token) may read it."""
    viewer_id = current_user.id if current_user.is_authenticated else None
    attachment, stored = attachments.open_attachment(viewer_id, attachment_id)
    # From an object store the file streams through here, so the checks above always apply.
    response = send_file(
        stored.path or stored.stream,
        mimetype=attachment.content_type,
        as_attachment=True,
        download_name=attachment.filename,
        etag=attachment.sha256,
        conditional=True,
    )
    if stored.path is None and response.status_code == 200:
        response.content_length = stored.size
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = DOWNLOAD_CSP
    if attachments.is_public(attachment):
        response.headers["Cache-Control"] = "no-cache"
    else:
        response.headers["Cache-Control"] = "private, no-store"
    return response


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
