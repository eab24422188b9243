"""The workbook's sheets of texts (themes and amendments, the summary, the council's responses,
the submissions themselves) and the writer every sheet uses (`Sheet`). The sheets of figures
are in xlsx.py."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import xlsxwriter
from flask_babel import gettext as _

from app.analysis.cleaning import markdown_text
from app.vocabulary import decision_label

SUBMISSION_ROWS = 20_000
NUMBER_COLUMNS = frozenset({"priority", "cosigners"})


class Sheet:
    """A worksheet filled top to bottom (what constant-memory mode needs), each value written
    by type: text always as a string, so "=1+1" typed in a comment stays text."""

    def __init__(self, workbook: xlsxwriter.Workbook, name: str, bold: Any, widths: Sequence[int]):
        self.sheet = workbook.add_worksheet(name)
        self.bold = bold
        self.row = 0
        for column, width in enumerate(widths):
            self.sheet.set_column(column, column, width)

    def write(self, values: Iterable[object], heading: bool = False) -> None:
        sheet, row = self.sheet, self.row
        style = self.bold if heading else None
        for column, value in enumerate(values):
            if value is None or value == "":
                sheet.write_blank(row, column, None, style)
            elif isinstance(value, bool):
                sheet.write_boolean(row, column, value, style)
            elif isinstance(value, int | float):
                sheet.write_number(row, column, value, style)
            else:
                sheet.write_string(row, column, str(value), style)
        self.row += 1

    def heading(self, *values: object) -> None:
        self.write(values, heading=True)

    def gap(self) -> None:
        self.row += 1


def references(result: Mapping[str, Any], ids: Iterable[int]) -> str:
    found = result.get("references") or {}
    return ", ".join(found.get(str(i), f"#{i}") for i in ids)


def themes_sheet(s: Sheet, result: Mapping[str, Any], section: Mapping[str, Any]) -> None:
    """A row per quote of each theme, themes in the order of their groups (a group holds a
    theme per language that says the same thing), then "other" and the languages not
    analysed."""
    s.heading(
        _("Theme"),
        _("Item"),
        _("Share of the item's submissions with text"),
        _("Language"),
        _("Submissions"),
        _("Distinct texts"),
        _("Terms"),
        _("Quote"),
        _("Cited submissions"),
        _("Submissions saying it"),
    )
    themes = {
        theme["id"]: theme for entry in section["languages"].values() for theme in entry["themes"]
    }
    groups = section.get("groups") or [
        {"id": theme_id, "themes": [theme_id], "item": theme.get("item", "")}
        for theme_id, theme in themes.items()
    ]
    for group in groups:
        for theme in (themes[member] for member in group["themes"]):
            common = (
                group["id"],
                group.get("item", ""),
                group.get("share", ""),
                theme["language"],
                theme["size"],
                theme["texts"],
                ", ".join(theme["terms"]),
            )
            if not theme["quotes"]:
                s.write(common)
            for quote in theme["quotes"]:
                s.write(
                    (
                        *common,
                        quote["text"],
                        references(result, quote["submission_ids"]),
                        quote["submission_count"],
                    )
                )
    other = section.get("other") or {}
    if other.get("submissions"):
        s.write(("other", "", other.get("share", ""), "", other["submissions"], other.get("texts")))
    for language, counts in (section.get("other_languages") or {}).items():
        s.write(
            (_("not analysed"), "", "", language, counts.get("submissions", counts.get("texts")))
        )


def summary_sheet(s: Sheet, result: Mapping[str, Any]) -> None:
    s.heading(
        "#",
        _("Language"),
        _("Item"),
        _("Sentence"),
        _("Submissions saying it"),
        _("Cited submissions"),
    )
    for number, sentence in enumerate(result["summary"]["sentences"], start=1):
        s.write(
            (
                number,
                sentence["language"],
                sentence.get("item", ""),
                sentence["text"],
                sentence["submission_count"],
                references(result, sentence["submission_ids"]),
            )
        )


def responses_sheet(s: Sheet, responses: Iterable[Mapping[str, Any]]) -> None:
    s.heading(
        _("Item"),
        _("Theme"),
        _("Decision"),
        _("Rationale"),
        _("Submissions answered"),
        _("Published (UTC)"),
    )
    for response in responses:
        s.write(
            (
                response["item"],
                response["theme"] or "",
                decision_label(response["decision"]),
                markdown_text(response["rationale"]),
                response["answers"],
                response["published_at"],
            )
        )


def submissions_sheet(s: Sheet, rows_csv: Path) -> None:
    with rows_csv.open(newline="", encoding="utf-8") as handle:
        records = csv.reader(handle)
        header = next(records, None)
        if header is None:
            return
        numbers = [name in NUMBER_COLUMNS for name in header]
        s.heading(*header)
        for written, record in enumerate(records):
            if written == SUBMISSION_ROWS:
                total = written + 1 + sum(1 for _record in records)
                s.gap()
                note = _(
                    "The CSV file has every submission (%(n)s); this sheet the first %(shown)s.",
                    n=total,
                    shown=SUBMISSION_ROWS,
                )
                s.write((note,))
                return
            s.write(
                int(value) if number and value.isdigit() else value
                for value, number in zip(record, numbers, strict=False)
            )
