"""The report's CSV: one line per submission, streamed as the rows are read (there can be a
million), written by each item's part and joined at the end."""

from __future__ import annotations

import csv
import shutil
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from flask_babel import force_locale

from app.analysis.records import Submission
from app.moderation.exports import csv_safe
from app.reports.storage import partial_path
from app.vocabulary import report_labels

CSV_COLUMNS = (
    "reference",
    "item",
    "organisation",
    "type",
    "type_label",
    "country",
    "country_name",
    "verified",
    "stance",
    "stance_label",
    "priority",
    "populations",
    "population_labels",
    "countries_concerned",
    "language",
    "language_name",
    "campaign",
    "cosigners",
    "submitted_at",
    "comment",
    "amendment",
)


CSV_BATCH = 2_000  # rows handed to the csv writer at once


COPY_CHUNK = 1 << 20  # bytes copied at once when the CSV parts are joined


def csv_row(row: Submission, labels: Labels | None = None) -> list[object]:
    """A submission as CSV values: each code beside its label in the reader's language
    (`labels`), times in ISO 8601 to the second. The reference, organisation name, comment
    and amendment are neutralised against spreadsheet formulas; the other columns are codes,
    numbers, times and our own labels, which cannot carry one."""
    label = labels or Labels()
    return [
        csv_safe(row.reference),
        row.item_code,
        csv_safe(row.organization_name),
        row.organization_type,
        label.of("type", row.organization_type),
        row.country or "",
        label.of("country", row.country),
        "yes" if row.verified else "no",
        row.stance or "",
        label.of("stance", row.stance),
        row.priority if row.priority is not None else "",
        ";".join(row.populations),
        "; ".join(label.of("population", code) for code in row.populations),
        ";".join(row.countries),
        row.language or "",
        label.of("language", row.language),
        row.campaign_key or "",
        len(row.cosigners),
        row.submitted_at.replace(microsecond=0).isoformat(),
        csv_safe(row.comment),
        csv_safe(row.amendment),
    ]


class Labels:
    """Codes' labels in `locale`, looked up once per code (a million rows share a few dozen
    codes). `words` maps a kind of code to a function giving its label; without it (or for an
    unknown kind) a label is empty."""

    def __init__(
        self, words: dict[str, Callable[[str], str]] | None = None, locale: str = "en"
    ) -> None:
        self._words, self._locale = words or {}, locale
        self._known: dict[tuple[str, str | None], str] = {}

    def of(self, kind: str, code: str | None) -> str:
        key = (kind, code)
        found = self._known.get(key)
        if found is None:
            word = self._words.get(kind)
            if word is None or not code:
                found = ""
            else:
                with force_locale(self._locale):
                    found = str(word(code))
            self._known[key] = found
        return found


def labels_in(locale: str) -> Labels:
    """The labels the report's files put beside codes, in the reader's language."""
    return Labels(report_labels(), locale)


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

    def __init__(self, path: Path, labels: Labels | None = None) -> None:
        self.labels = labels or Labels()
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path, self._partial = path, partial_path(path)
        self._handle = self._partial.open("w", newline="", encoding="utf-8")
        self._batch: list[str] = []
        self.written = 0

    def add(self, row: Submission) -> None:
        batch = self._batch
        batch.append(csv_line(csv_row(row, self.labels)))
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
