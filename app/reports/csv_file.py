"""The report's CSV: one line per submission, streamed as the rows are read (there can be a
million), written by each item's part and joined at the end."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from flask_babel import force_locale
from flask_babel import lazy_gettext as _

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
    "theme",
    "theme_label",
    "cosigners",
    "submitted_at",
    "comment",
    "amendment",
)


CSV_BATCH = 2_000  # rows handed to the csv writer at once


COPY_CHUNK = 1 << 20  # bytes copied at once when the CSV parts are joined


THEME_LABEL_TERMS = 4  # a theme's leading terms in its label


# A row's theme is known only once its item's texts are analysed, after its line is written:
# the line holds its text's marker between two NULs (which no other value keeps), and
# `join_csv` puts the theme and its label in its place.
THEME_MARK = "\x00"
_OPEN, _CLOSE = b'"\x00', b'\x00",""'  # a marker's field opens and closes with them
Themes = Mapping[str, tuple[str, str]]  # marker -> (theme id, label)


def csv_row(
    row: Submission, labels: Labels | None = None, theme: str | None = None
) -> list[object]:
    """A submission as CSV values: each code beside its label in the reader's language
    (`labels`), times in ISO 8601 to the second, and the `theme` marker of its comment's
    text (filled in by `join_csv`). The reference, organisation name, comment and amendment
    are neutralised against spreadsheet formulas and lose any NUL; the other columns are
    codes, numbers, times and our own labels, which cannot carry either."""
    label = labels or Labels()
    return [
        _text(row.reference),
        row.item_code,
        _text(row.organization_name),
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
        f"{THEME_MARK}{theme}{THEME_MARK}" if theme else "",
        "",
        len(row.cosigners),
        row.submitted_at.replace(microsecond=0).isoformat(),
        _text(row.comment),
        _text(row.amendment),
    ]


def _text(value: str | None) -> object:
    return csv_safe(value.replace("\x00", "") if value else value)


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


def theme_columns(
    item: str, assignment: Mapping[str, str], groups: Sequence[Mapping[str, Any]]
) -> dict[str, tuple[str, str]]:
    """The theme column and its label for each text marker of `item`, from the item's
    `assignment` ({marker: theme id within the item, or OTHER}) and the report's merged
    theme groups (ids "<item>-<theme id>"). The label is the theme's leading terms, and its
    languages when it holds more than one."""
    from app.analysis.themes import OTHER  # scikit-learn: only where reports are compiled

    labelled: dict[str, tuple[str, str]] = {OTHER: (OTHER, str(_("Other (no theme)")))}
    for group in groups:
        if group.get("item") == item:
            label = ", ".join(group["terms"][:THEME_LABEL_TERMS])
            if len(group["languages"]) > 1:
                label += f" ({', '.join(group['languages'])})"
            labelled[group["id"].removeprefix(f"{item}-")] = (group["id"], label)
    return {marker: labelled.get(theme, ("", "")) for marker, theme in assignment.items()}


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

    def add(self, row: Submission, theme: str | None = None) -> None:
        batch = self._batch
        batch.append(csv_line(csv_row(row, self.labels, theme)))
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


def join_csv(
    parts: Sequence[Path], path: Path, themes: Sequence[Themes | None] | None = None
) -> None:
    """The header, then each part's lines with their themes filled in from `themes` (one
    mapping per part; a marker it lacks, or a part without one, gets empty fields). A part
    with no theme marker is copied as it is."""
    partial = partial_path(path)
    themes = themes or [None] * len(parts)
    with partial.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerow(CSV_COLUMNS)
        handle.flush()
        for part, found in zip(parts, themes, strict=True):
            _copy_part(part, handle, found or {})
    partial.replace(path)


def _copy_part(part: Path, handle: IO[str], themes: Themes) -> None:
    """`part`'s bytes into `handle`, chunk by chunk, each chunk cut after a line break (a
    marker never holds one) and its markers replaced by their theme's two fields."""
    filled: dict[bytes, bytes] = {}  # a marker's fields, encoded once

    def fields(marker: bytes) -> bytes:
        found = filled.get(marker)
        if found is None:
            theme, label = themes.get(marker.decode("ascii"), ("", ""))
            found = filled[marker] = csv_line((theme, label))[:-2].encode("utf-8")
        return found

    handle.flush()
    out = handle.buffer
    with part.open("rb") as source:
        while chunk := source.read(COPY_CHUNK):
            if not chunk.endswith(b"\n"):
                chunk += source.readline()
            pieces = chunk.split(_OPEN)
            if len(pieces) == 1:
                out.write(chunk)
                continue
            written = [pieces[0]]
            for piece in pieces[1:]:  # a marker, its close, then the rest of the line
                end = piece.index(_CLOSE)
                written.append(fields(piece[:end]))
                written.append(piece[end + len(_CLOSE) :])
            out.write(b"".join(written))
    out.flush()
