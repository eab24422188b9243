"""The report's CSV: one line per submission, streamed as the rows are read (there can be a
million), written by each item's part and joined at the end."""

from __future__ import annotations

import csv
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path

from app.analysis.records import Submission
from app.moderation.exports import csv_safe
from app.reports.storage import partial_path

CSV_COLUMNS = (
    "reference",
    "item",
    "organisation",
    "type",
    "country",
    "verified",
    "stance",
    "priority",
    "populations",
    "language",
    "campaign",
    "cosigners",
    "submitted_at",
    "comment",
    "amendment",
)


CSV_BATCH = 2_000  # rows handed to the csv writer at once


COPY_CHUNK = 1 << 20  # bytes copied at once when the CSV parts are joined


def csv_row(row: Submission) -> list[object]:
    """A submission as CSV values. The reference, organisation name, comment and amendment
    are neutralised against spreadsheet formulas; the other columns are codes, numbers and
    times that cannot carry one."""
    return [
        csv_safe(row.reference),
        row.item_code,
        csv_safe(row.organization_name),
        row.organization_type,
        row.country or "",
        "yes" if row.verified else "no",
        row.stance or "",
        row.priority if row.priority is not None else "",
        ";".join(row.populations),
        row.language or "",
        row.campaign_key or "",
        len(row.cosigners),
        row.submitted_at.isoformat(),
        csv_safe(row.comment),
        csv_safe(row.amendment),
    ]


def csv_line(values: Iterable[object]) -> str:
    """One RFC 4180 record: every text field quoted, quotes doubled; numbers as they are.

    What `csv.writer(quoting=QUOTE_NONNUMERIC)` writes, several times faster on the long
    comments of a million-row report (the csv module examines every character; this leaves
    the scanning to str.replace). `csv.reader` reads it back unchanged (tested)."""
    return (
        ",".join(
            str(value) if isinstance(value, int) else '"' + value.replace('"', '""') + '"'
            for value in values
        )
        + "\r\n"
    )


class CsvRows:
    """Submissions written to a headerless CSV file as they stream past, a batch at a time
    (memory holds one batch). The file appears under its name only when `close()`d, so a
    run that dies half-way leaves no partial file behind it; `join_csv` puts the parts of a
    report together under one header."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path, self._partial = path, partial_path(path)
        self._handle = self._partial.open("w", newline="", encoding="utf-8")
        self._batch: list[str] = []
        self.written = 0

    def add(self, row: Submission) -> None:
        batch = self._batch
        batch.append(csv_line(csv_row(row)))
        if len(batch) >= CSV_BATCH:
            self._flush()

    def _flush(self) -> None:
        self._handle.write("".join(self._batch))
        self.written += len(self._batch)
        self._batch = []

    def close(self) -> int:
        """Finish the file; the number of rows written."""
        self._flush()
        self._handle.close()
        self._partial.replace(self.path)
        return self.written

    def discard(self) -> None:
        self._handle.close()
        self._partial.unlink(missing_ok=True)


def join_csv(parts: Sequence[Path], path: Path) -> None:
    """The header, then each part's lines as they are: a file copy, not a pass over rows."""
    partial = partial_path(path)
    with partial.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerow(CSV_COLUMNS)
        handle.flush()
        for part in parts:
            with part.open("rb") as source:
                shutil.copyfileobj(source, handle.buffer, COPY_CHUNK)
    partial.replace(path)
