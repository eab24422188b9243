"""Downloading a compiled report: the council gets the PDF, CSV and XLSX; nobody else does."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Item, Report, ReportStatus, User
from app.reports import pipeline
from app.reports import services as reports
from app.reports.storage import report_directory

pytestmark = [pytest.mark.postgres]


def _user_id(email: str) -> int:
    return db.session.scalar(select(User.id).where(User.email == email))


def _compiled_item_report(app) -> int:
    """An item report compiled here, with its files (written by the compilation itself once it
    renders them; until then, the same way the worker will)."""
    with app.test_request_context():
        council = _user_id("council@example.org")
        item = db.session.scalar(select(Item).where(Item.code == "P4"))
        # Recorded without a wake-up, so no worker of this session races the test.
        report = Report(
            scope=reports.item_scope(item.id),
            consultation_id=item.consultation_id,
            item_id=item.id,
            snapshot_key=reports.snapshot_key(item.id),
            requested_by_id=council,
            files={},
        )
        db.session.add(report)
        db.session.commit()
        assert pipeline.compile_report(report.id) is True
        report = db.session.get(Report, report.id)
        assert report.status is ReportStatus.DONE
        # Compiling wrote the three files into the report's folder.
        directory = report_directory(Path(app.instance_path), report.id)
        assert sorted(report.files) == ["csv", "pdf", "xlsx"]
        assert all((directory / name).is_file() for name in report.files.values())
        return report.id


@pytest.fixture
def compiled_report(seeded) -> int:
    return _compiled_item_report(seeded)


def test_council_downloads_the_pdf(compiled_report, client, login):
    login(client, "council@example.org")
    response = client.get(f"/reports/{compiled_report}/download/pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert f"consulta-report-{compiled_report}.pdf" in response.headers["Content-Disposition"]
    assert response.data.startswith(b"%PDF")
    # "no-cache" would still let a shared cache store the council's report: never stored.
    assert response.headers["Cache-Control"] == "private, no-store"


def test_council_downloads_the_rows_as_csv(seeded, compiled_report, client, login):
    login(client, "council@example.org")
    response = client.get(f"/reports/{compiled_report}/download/csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert f"consulta-report-{compiled_report}.csv" in response.headers["Content-Disposition"]
    records = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert records[0][:3] == ["reference", "item", "organisation"]
    with seeded.app_context():
        report = db.session.get(Report, compiled_report)
        submissions = report.result["figures"]["headline"]["submissions"]
    assert submissions > 0
    assert len(records) == 1 + submissions
    assert {record[1] for record in records[1:]} == {"P4"}


def test_council_downloads_the_workbook(compiled_report, client, login):
    login(client, "council@example.org")
    response = client.get(f"/reports/{compiled_report}/download/xlsx")
    assert response.status_code == 200
    assert response.mimetype == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert f"consulta-report-{compiled_report}.xlsx" in response.headers["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        workbook = archive.read("xl/workbook.xml").decode()
    assert 'name="Matrix"' in workbook and 'name="Summary"' in workbook


def test_the_report_page_shows_the_report_and_links_its_files(compiled_report, client, login):
    login(client, "council@example.org")
    html = client.get(f"/reports/{compiled_report}").get_data(as_text=True)
    for fmt in ("pdf", "csv", "xlsx"):
        assert f"/reports/{compiled_report}/download/{fmt}" in html
    assert "Headline figures" in html
    assert "How this report was made" in html
    assert 'data-stance="neutral"' in html  # the organisations' tally is still shown


def test_a_stakeholder_may_not_download(compiled_report, client, login):
    login(client, "lead@example.org")
    assert client.get(f"/reports/{compiled_report}/download/pdf").status_code == 403


def test_a_visitor_may_not_download(compiled_report, client):
    assert client.get(f"/reports/{compiled_report}/download/csv").status_code == 403


def test_a_missing_file_is_a_404_with_a_message(seeded, compiled_report, client, login):
    with seeded.app_context():
        report = db.session.get(Report, compiled_report)
        directory = report_directory(Path(seeded.instance_path), report.id)
        (directory / report.files["pdf"]).unlink()
    login(client, "council@example.org")
    response = client.get(f"/reports/{compiled_report}/download/pdf")
    assert response.status_code == 404
    assert "PDF file of this report is not ready" in response.get_data(as_text=True)


def test_a_report_without_files_and_an_unknown_format_are_404(seeded, client, login):
    with seeded.app_context():
        council = _user_id("council@example.org")
        item = db.session.scalar(select(Item).where(Item.code == "P3"))
        report = Report(
            scope=reports.item_scope(item.id),
            consultation_id=item.consultation_id,
            item_id=item.id,
            snapshot_key="no-files",
            requested_by_id=council,
            status=ReportStatus.DONE,
            files={},
        )
        db.session.add(report)
        db.session.commit()
        report_id = report.id
    login(client, "council@example.org")
    response = client.get(f"/reports/{report_id}/download/xlsx")
    assert response.status_code == 404
    assert "XLSX file of this report is not ready" in response.get_data(as_text=True)
    assert client.get(f"/reports/{report_id}/download/docx").status_code == 404
    assert client.get("/reports/999999/download/pdf").status_code == 404


def test_the_report_is_readable_while_its_files_are_written(seeded, client, login, monkeypatch):
    # The council reads the compiled report while the PDF, CSV and XLSX are being written:
    # at rendering time the row holds the result, the status JSON says readable, and the page
    # shows the report with the progress of the files but no downloads and no publication.
    login(client, "council@example.org")
    seen: dict[str, object] = {}
    render = pipeline._render

    def observed(report, compiled, item_ids):
        with db.engine.connect() as other:  # what any other process sees now
            row = other.execute(
                select(Report.status, Report.stage, Report.result).where(Report.id == report.id)
            ).one()
        seen["row"] = row
        seen["status"] = client.get(f"/reports/{report.id}/status").get_json()
        seen["page"] = client.get(f"/reports/{report.id}").get_data(as_text=True)
        return render(report, compiled, item_ids)

    monkeypatch.setattr(pipeline, "_render", observed)
    report_id = _compiled_item_report(seeded)
    status, stage, result = seen["row"]
    assert (status, stage) == (ReportStatus.RUNNING, "rendering")
    assert result["figures"]["headline"]["submissions"] > 0
    assert seen["status"]["readable"] is True and seen["status"]["status"] == "running"
    page = seen["page"]
    assert "its files are being prepared" in page
    assert 'id="report-headline"' in page  # the report itself
    assert f"/reports/{report_id}/download/" not in page
    assert "Prepare the public version" not in page
    # Once the files are written the page offers them.
    finished = client.get(f"/reports/{report_id}").get_data(as_text=True)
    assert f"/reports/{report_id}/download/pdf" in finished
    assert "its files are being prepared" not in finished
    assert client.get(f"/reports/{report_id}/status").get_json()["readable"] is True
