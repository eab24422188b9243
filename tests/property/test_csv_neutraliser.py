"""The CSV neutraliser against formula injection, on any text: after it no cell of an export
starts with what a spreadsheet runs as a formula, and text that is not dangerous is untouched.

Every CSV the platform writes goes through `csv_safe`: the moderation queue's export, the audit
log's, and the reports' (`csv_row`, which also drops NULs)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from hypothesis import example, given
from hypothesis import strategies as st

from app.analysis.records import Submission
from app.moderation.exports import csv_safe
from app.reports.csv_file import CSV_COLUMNS, csv_row

# What a spreadsheet runs as a formula (OWASP "CSV injection"), written out here rather than
# read from the code under test.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# Texts that often start with a trigger, and any text at all.
dangerous = st.builds(
    lambda trigger, rest: trigger + rest, st.sampled_from(FORMULA_TRIGGERS), st.text()
)
any_text = st.one_of(dangerous, st.text())


def parsed(values: list[object]) -> list[str]:
    """The cells a spreadsheet reads back from the CSV line of `values`."""
    buffer = io.StringIO()
    csv.writer(buffer).writerow(values)
    return next(csv.reader(io.StringIO(buffer.getvalue(), newline="")))


@given(any_text)
@example('=HYPERLINK("http://x")')
@example("\t=1")
@example("\r\n=1")
def test_no_neutralised_cell_starts_a_formula(value):
    cell = parsed([csv_safe(value)])[0]
    assert not cell.startswith(FORMULA_TRIGGERS)


@given(any_text)
def test_dangerous_text_gets_one_quote_and_is_otherwise_kept(value):
    safe = csv_safe(value)
    if value.startswith(FORMULA_TRIGGERS):
        assert safe == "'" + value
    else:
        assert safe == value  # not dangerous: untouched


@given(st.one_of(st.integers(), st.floats(allow_nan=False), st.none(), st.datetimes()))
def test_typed_values_pass_as_they_are(value):
    assert csv_safe(value) is value


texts_with_nul = st.one_of(
    dangerous, st.text(), st.builds(lambda a, b: a + "\x00" + b, st.text(), dangerous)
)


@given(
    reference=texts_with_nul, name=texts_with_nul, comment=texts_with_nul, amendment=texts_with_nul
)
@example(reference="R-1", name="\x00=cmd|' /C calc'!A0", comment="-2+3", amendment="@SUM(1)")
def test_a_report_line_neutralises_every_free_text_and_keeps_its_words(
    reference, name, comment, amendment
):
    row = Submission(
        id=1,
        reference=reference,
        item_code="A1",
        organization_id=7,
        organization_name=name,
        organization_type="ngo",
        country="MX",
        verified=True,
        stance="oppose",
        priority=2,
        populations=("refugees",),
        language="es",
        comment=comment,
        amendment=amendment,
        submitted_at=datetime(2026, 3, 1, 12, tzinfo=UTC),
        campaign_key=None,
    )
    cells = dict(zip(CSV_COLUMNS, parsed(csv_row(row)), strict=True))
    for column, value in (
        ("reference", reference),
        ("organisation", name),
        ("comment", comment),
        ("amendment", amendment),
    ):
        cell = cells[column]
        assert not cell.startswith(FORMULA_TRIGGERS)
        assert "\x00" not in cell  # a NUL would end the line for some readers
        plain = value.replace("\x00", "")
        assert cell in (plain, "'" + plain)  # nothing else lost or added
