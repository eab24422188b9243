"""A compiled report's files: the PDF (pdf.py), the CSV of its rows (csv_file.py) and a
workbook with a sheet per section (xlsx.py), written by the worker that compiled the report,
inside an app context, each through storage.py (a partial name, then renamed)."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from flask_babel import force_locale

from app.models import Report
from app.reports.csv_file import join_csv, theme_columns
from app.reports.pdf import write_pdf
from app.reports.storage import FILENAMES
from app.reports.xlsx import write_xlsx


def render_files(
    report: Report,
    compiled_result: dict[str, Any],
    matrix: list[dict[str, Any]],
    csv_parts: Sequence[Path],
    directory: Path,
    *,
    locale: str | None = None,
    assignments: Sequence[tuple[str, Mapping[str, str]]] | None = None,
) -> dict[str, str]:
    """Write the PDF, CSV and XLSX of `report` into `directory`; {format: file name}.

    `compiled_result` is the report's result (the row may not hold it yet), `matrix` every row
    of the organisation × item matrix (the result keeps only the first ones) and `csv_parts`
    the report's rows as CSV without a header, one file per item (`CsvRows`), joined in this
    order; `assignments` are, for each part, its item's code and the theme of each of its
    texts' markers (`analyse_texts`). Labels are in `locale`, or the default one."""
    directory.mkdir(parents=True, exist_ok=True)
    timings = compiled_result.setdefault("timings", {})
    with ExitStack() as stack:
        if locale:
            stack.enter_context(force_locale(locale))
        started = time.perf_counter()
        columns = None
        if assignments is not None:
            groups = compiled_result.get("themes", {}).get("groups", [])
            columns = [theme_columns(code, found, groups) for code, found in assignments]
        join_csv(csv_parts, directory / FILENAMES["csv"], columns)
        timings["csv"] = round(time.perf_counter() - started, 3)
        started = time.perf_counter()
        write_xlsx(
            compiled_result,
            matrix,
            directory / FILENAMES["xlsx"],
            rows_csv=directory / FILENAMES["csv"],
        )
        timings["xlsx"] = round(time.perf_counter() - started, 3)
        started = time.perf_counter()
        write_pdf(report, compiled_result, directory / FILENAMES["pdf"])
        timings["pdf"] = round(time.perf_counter() - started, 3)
    return dict(FILENAMES)


# --- PDF ------------------------------------------------------------------------------------


# --- CSV ------------------------------------------------------------------------------------


# --- XLSX -----------------------------------------------------------------------------------
