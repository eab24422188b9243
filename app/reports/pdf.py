"""The report's PDF: the report page's own template, printed by WeasyPrint."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from flask import current_app, has_request_context, render_template

from app.models import Report
from app.reports.charts import chart_images
from app.reports.storage import partial_path

# The PDF is for reading: the longest lists are printed up to these bounds, largest first,
# and say so (every entry is on the report page and in the XLSX). A million-row report
# printed whole would run to hundreds of pages.
PRINT_CAPS = {"themes": 6, "quotes": 2, "campaigns": 20, "coalitions": 15, "matrix": 60}


def report_html(report: Report, result: Mapping[str, Any]) -> str:
    """The report's printable page: the page's own partial, links with the site's address."""
    with ExitStack() as stack:
        if not has_request_context():  # a worker: url_for needs a request of its own
            base_url = current_app.config["SETTINGS"].base_url
            stack.enter_context(current_app.test_request_context(base_url=base_url))
        return render_template(
            "reports/pdf.html",
            report=report,
            result=result,
            absolute_links=True,
            charts=chart_images(result),
            print_caps=PRINT_CAPS,
        )


def pdf_document(report: Report, result: Mapping[str, Any]):  # noqa: ANN201 - weasyprint type
    """The laid-out PDF (a weasyprint Document): its pages can be inspected before writing.

    Only `data:` URLs (the charts) may be fetched: a report never loads anything from afar,
    and the stylesheet is read here from the static folder."""
    from weasyprint import CSS, HTML
    from weasyprint.urls import URLFetcher

    no_network = URLFetcher(allowed_protocols=("data",))
    stylesheet = (Path(current_app.static_folder) / "report.css").read_text(encoding="utf-8")
    html = HTML(string=report_html(report, result), url_fetcher=no_network)
    return html.render(stylesheets=[CSS(string=stylesheet, url_fetcher=no_network)])


def write_pdf(report: Report, result: Mapping[str, Any], path: Path) -> None:
    partial = partial_path(path)
    pdf_document(report, result).write_pdf(partial)
    partial.replace(path)
