"""Where a report's files live, and how each is written: under a partial name first, then
renamed, so a download never sees half a file and a retried run simply replaces it."""

from __future__ import annotations

import os
from pathlib import Path

# A report's files by format: their media types, and their names in the report's directory.
FORMATS = {
    "pdf": "application/pdf",
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
FILENAMES = {"pdf": "report.pdf", "csv": "rows.csv", "xlsx": "report.xlsx"}


def report_directory(instance_path: Path, report_id: int) -> Path:
    """Where a report's files live: `<instance>/reports/<id>/` (the mailer attaches from here)."""
    return instance_path / "reports" / str(report_id)


def partial_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.part")
