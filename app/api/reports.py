"""Council reports through the API: request one, follow its stage and percent, read its result
and file links. Published public versions are read by anyone, under their consultation."""

from __future__ import annotations

from flask import url_for
from marshmallow import Schema, fields, validate

from app.api.errors import ApiBlueprint
from app.api.http import ID_MAX, checked_first, signed_in, signed_in_as
from app.consultations import services as consultations
from app.downloads import send_report_file
from app.models import Report, ReportStatus
from app.reports import services as reports
from app.reports.storage import FORMATS
from app.vocabulary import stage_label

blp = ApiBlueprint(
    "api_reports",
    __name__,
    description="Council reports: request, progress, result and files (council and admins).",
)
public_blp = ApiBlueprint(
    "api_public_reports",
    __name__,
    description="The public versions of reports that the council published.",
)


class ReportRequestSchema(Schema):
    consultation_id = fields.Integer(required=True, validate=validate.Range(min=1, max=ID_MAX))
    item_id = fields.Integer(
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=1, max=ID_MAX),
        metadata={"description": "One item of the consultation; none for the whole of it"},
    )
    public = fields.Boolean(
        load_default=False,
        metadata={"description": "The public version: published feedback only, redacted"},
    )


class ReportSchema(Schema):
    id = fields.Integer(required=True)
    scope = fields.String(required=True)
    consultation_id = fields.Integer(required=True)
    item_id = fields.Integer(allow_none=True, required=True)
    public = fields.Boolean(required=True)
    status = fields.String(required=True, metadata={"enum": [s.value for s in ReportStatus]})
    stage = fields.String(required=True)
    stage_label = fields.String(required=True, metadata={"description": "Translated"})
    percent = fields.Integer(required=True)
    error = fields.String(allow_none=True, required=True)
    readable = fields.Boolean(
        required=True, metadata={"description": "The result can be read (files may follow)"}
    )
    finished_at = fields.DateTime(allow_none=True, required=True)
    published_at = fields.DateTime(allow_none=True, required=True)
    files = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        required=True,
        metadata={"description": "Format (pdf, csv, xlsx) -> download address, once written"},
    )
    result = fields.Dict(
        allow_none=True,
        required=True,
        metadata={"description": "The compiled report (every section), once readable"},
    )
    url = fields.String(required=True)


class ReportListSchema(Schema):
    data = fields.List(fields.Nested(ReportSchema), required=True)
    next = fields.String(allow_none=True, required=True)


def _body(report: Report, *, public_slug: str | None = None, with_result: bool = True) -> dict:
    readable = report.readable
    if public_slug:
        url = url_for("api_public_reports.one_public", slug=public_slug, report_id=report.id)
        download = "consultations.report_download"
        extra = {"slug": public_slug}
    else:
        url = url_for("api_reports.one", report_id=report.id)
        download, extra = "api_reports.file", {}
    done = report.status is ReportStatus.DONE
    return {
        "id": report.id,
        "scope": report.scope,
        "consultation_id": report.consultation_id,
        "item_id": report.item_id,
        "public": report.is_public,
        "status": report.status.value,
        "stage": report.stage,
        "stage_label": stage_label(report.stage),
        "percent": report.percent,
        "error": report.error,
        "readable": readable,
        "finished_at": report.finished_at,
        "published_at": report.published_at,
        "files": {
            fmt: url_for(download, report_id=report.id, fmt=fmt, **extra)
            for fmt in FORMATS
            if done and (report.files or {}).get(fmt)
        },
        "result": report.result if readable and with_result else None,
        "url": url,
    }


@blp.post("")
@checked_first(lambda: signed_in_as(*reports.READERS))
@blp.arguments(ReportRequestSchema)
@blp.response(202, ReportSchema, headers={"Location": {"schema": {"type": "string"}}})
@blp.errors(403, 404, 422, 429)
def request_report(data: dict):  # noqa: ANN201
    """Ask for the report of the consultation's (or the item's) current snapshot; the same
    snapshot asked twice is the same report. Follow `Location` for its progress."""
    user_id = signed_in()
    item_id = data["item_id"]  # the service checks it belongs to the consultation
    report = reports.request_report(
        user_id, data["consultation_id"], item_id=item_id, public=data["public"]
    )
    return _body(report), 202, {"Location": url_for("api_reports.one", report_id=report.id)}


@blp.get("")
@blp.response(200, ReportListSchema)
@blp.errors(403, 429)
def listing():  # noqa: ANN201
    """The 50 newest reports, without their results (read each for it)."""
    found = reports.list_reports(signed_in())
    return {"data": [_body(report, with_result=False) for report in found], "next": None}


@blp.get("/<id:report_id>")
@blp.response(200, ReportSchema)
@blp.errors(403, 404, 429)
def one(report_id: int):  # noqa: ANN201
    """A report: its stage and percent while it compiles, its result once readable, its files
    once written."""
    return _body(reports.get_report(signed_in(), report_id))


@blp.get("/<id:report_id>/files/<any(pdf, csv, xlsx):fmt>")
@blp.response(
    200,
    content_type="application/octet-stream",
    description="The file: application/pdf, text/csv or the XLSX type",
)
@blp.errors(403, 404, 429)
def file(report_id: int, fmt: str):  # noqa: ANN201
    """One of the report's files, once written (404 until then)."""
    return send_report_file(reports.get_report(signed_in(), report_id), fmt)


@public_blp.get("/<string:slug>/reports")
@public_blp.response(200, ReportListSchema)
@public_blp.errors(404, 429)
def public_listing(slug: str):  # noqa: ANN201
    """The public versions the council published for this consultation, newest first."""
    consultation = consultations.get_consultation(slug)
    found = reports.published_reports(consultation.id)
    return {
        "data": [_body(r, public_slug=slug, with_result=False) for r in found],
        "next": None,
    }


@public_blp.get("/<string:slug>/reports/<id:report_id>")
@public_blp.response(200, ReportSchema)
@public_blp.errors(404, 429)
def one_public(slug: str, report_id: int):  # noqa: ANN201
    consultation = consultations.get_consultation(slug)
    return _body(reports.published_report(consultation.id, report_id), public_slug=slug)
