"""A report's files: the PDF carries the report, the CSV every row (formulas neutralised), the
workbook a sheet per section with the whole matrix; the charts are valid, deterministic SVG."""

from __future__ import annotations

import copy
import csv
import json
import re
import time
import tracemalloc
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.etree import ElementTree

import pytest

from app import create_app
from app.analysis.figures import report_figures
from app.analysis.part_merge import merge_themes
from app.analysis.records import Submission
from app.analysis.themes import find_themes
from app.models import Consultation, Item, Report
from app.reports import charts as report_charts
from app.reports import csv_file, pdf, xlsx, xlsx_texts
from app.reports import files as report_files
from tests.helpers.services import app_settings

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "sample_report.json"
SHEETS = (
    "Headline",
    "Stances",
    "Items",
    "Distinct positions",
    "Campaigns",
    "Themes",
    "Amendments",
    "Summary",
    "Coalitions",
    "Matrix",
    "Timeline",
    "Coverage",
    "Responses",
    "Comparison",
)


@pytest.fixture(scope="module")
def sample() -> dict:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def sqlite_app(tmp_path_factory):
    return create_app(app_settings(tmp_path_factory.mktemp("instance"), "", None, "q"))


@pytest.fixture
def app_context(sqlite_app):
    with sqlite_app.app_context():
        yield sqlite_app


def council_report(public: bool = False, item_code: str | None = None) -> Report:
    """A report row as the worker holds it, never saved: the files need no database."""
    consultation = Consultation(slug="regional-migration", title={"en": "Regional migration"})
    item = Item(code=item_code) if item_code else None
    return Report(id=7, consultation=consultation, item=item, is_public=public, files={})


def submission(number: int, **values: object) -> Submission:
    fields = {
        "id": number,
        "reference": f"FB-{number:016X}",
        "item_code": "P4",
        "organization_id": 100 + number % 50,
        "organization_name": f"Organisation {number % 50}",
        "organization_type": "ngo",
        "country": "MX",
        "verified": number % 3 != 0,
        "stance": "support",
        "priority": 4,
        "populations": ("refugees", "returnees"),
        "language": "en",
        "comment": f"Comment number {number}, about safe routes and local funding.",
        "amendment": "",
        "submitted_at": datetime(2026, 11, 1, tzinfo=UTC) + timedelta(minutes=number),
        "campaign_key": None,
        "cosigners": (),
    }
    fields.update(values)
    return Submission(**fields)


def many_rows(count: int) -> Iterator[Submission]:
    return (submission(number) for number in range(1, count + 1))


def pdf_text(document) -> str:
    """The words laid out on every page of a weasyprint Document, spaces normalised."""

    def texts(box) -> Iterator[str]:
        if hasattr(box, "text"):
            yield box.text
        for child in getattr(box, "children", None) or ():
            yield from texts(child)

    words = " ".join(text for page in document.pages for text in texts(page._page_box))
    return " ".join(words.split())


# --- PDF ------------------------------------------------------------------------------------


def test_render_files_writes_the_three_files_and_names_them(app_context, sample, tmp_path):
    parts = []
    for number, rows in enumerate((many_rows(3), many_rows(2)), start=1):
        part = csv_file.CsvRows(tmp_path / "parts" / f"{number}.csv")
        for row in rows:
            part.add(row)
        part.close()
        parts.append(part.path)
    out = tmp_path / "report"
    files = report_files.render_files(
        council_report(), sample["result"], sample["matrix"], parts, out
    )
    assert set(files) == {"pdf", "csv", "xlsx"}
    for name in files.values():
        assert (out / name).is_file()
    assert (out / files["pdf"]).read_bytes().startswith(b"%PDF")
    assert (out / files["xlsx"]).read_bytes().startswith(b"PK")
    # The CSV is one header, then the parts' lines in order.
    with (out / files["csv"]).open(newline="", encoding="utf-8") as handle:
        lines = list(csv.reader(handle))
    assert lines[0] == list(csv_file.CSV_COLUMNS)
    assert len(lines) == 1 + 3 + 2
    # Nothing half-written is left behind.
    assert sorted(p.name for p in out.iterdir()) == sorted(files.values())


def test_the_pdf_carries_the_summary_the_themes_and_the_cited_references(app_context, sample):
    result = sample["result"]
    text = pdf_text(pdf.pdf_document(council_report(), result))
    first_sentence = result["summary"]["sentences"][0]
    assert " ".join(first_sentence["text"].split()) in text
    assert result["themes"]["languages"]["en"]["themes"][0]["terms"][0] in text
    for feedback_id in first_sentence["submission_ids"]:
        assert result["references"][str(feedback_id)] in text
    assert "How this report was made" in text
    assert "Headline figures" in text


def test_council_pdf_links_each_citation_to_its_review_page(app_context, sample):
    document = pdf.pdf_document(council_report(), sample["result"])
    targets = {link[1] for page in document.pages for link in page.links}
    cited = sample["result"]["summary"]["sentences"][0]["submission_ids"][0]
    assert f"http://127.0.0.1:5000/moderation/feedback/{cited}" in targets


def test_public_version_links_to_the_item_page_and_shows_no_council_only_parts(app_context, sample):
    result = copy.deepcopy(sample["result"])
    result.update(public=True, coverage=None)
    with app_context.test_request_context():
        html = pdf.report_html(council_report(public=True, item_code="P4"), result)
    reference = result["references"][str(result["summary"]["sentences"][0]["submission_ids"][0])]
    assert f"/c/regional-migration/items/P4#{reference}" in html
    assert "/moderation/feedback/" not in html
    assert "Time taken by each stage" not in html
    assert "Coverage of invited organisations" not in html


def test_council_version_shows_coverage_but_no_timings_or_method_names(app_context, sample):
    with app_context.test_request_context():
        html = pdf.report_html(council_report(), sample["result"])
    assert "Coverage of invited organisations" in html
    assert "Time taken by each stage" not in html  # an admin's diagnostics, not the council's
    words = re.sub(r'src="data:[^"]*"', "", html).lower()
    assert not any(name in words for name in ("tfidf", "nmf", "extractive", "mmr"))


def test_report_html_is_accessible_tables_and_charts(app_context, sample):
    with app_context.test_request_context():
        html = pdf.report_html(council_report(), sample["result"])
    tables = html.count("<table")
    assert tables > 5
    assert html.count("<caption>") == tables
    assert '<th scope="col">' in html and '<th scope="row">' in html
    images = re.findall(r"<img [^>]*>", html)
    assert images and all('alt="' in image and 'alt=""' not in image for image in images)
    assert all('src="data:image/svg+xml;base64,' in image for image in images)
    levels = [int(level) for level in re.findall(r"<h([1-6])\b", html)]
    assert levels[0] == 1
    assert all(b - a <= 1 for a, b in zip(levels, levels[1:], strict=False)), levels


# --- CSV ------------------------------------------------------------------------------------


def write_csv(rows, path: Path) -> int:
    """The rows as a report's CSV: one part written as they stream, joined under the header."""
    part = csv_file.CsvRows(path.with_name(path.name + ".part"))
    for row in rows:
        part.add(row)
    written = part.close()
    csv_file.join_csv([part.path], path)
    part.path.unlink()
    return written


@pytest.mark.parametrize("chunk", [7, 64, 1 << 20])
def test_the_join_fills_each_rows_theme_whatever_the_chunks(tmp_path, monkeypatch, chunk):
    monkeypatch.setattr(csv_file, "COPY_CHUNK", chunk)
    parts = []
    for number, marker in enumerate(["aa11", "bb22"]):
        part = csv_file.CsvRows(tmp_path / f"part-{number}.csv")
        part.add(submission(1 + 3 * number, comment='Line one\r\n"quoted" \x00 line two'), marker)
        part.add(submission(2 + 3 * number, comment=""), None)
        part.add(submission(3 + 3 * number, comment="Unknown text"), "cc33")
        part.close()
        parts.append(part.path)
    themes = [{"aa11": ("P4-theme-1", 'visas, "work"')}, {"bb22": ("other", "Other")}]

    csv_file.join_csv(parts, tmp_path / "rows.csv", themes)

    with (tmp_path / "rows.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["theme"], r["theme_label"]) for r in rows] == [
        ("P4-theme-1", 'visas, "work"'),
        ("", ""),
        ("", ""),  # a marker the item's themes lack
        ("other", "Other"),
        ("", ""),
        ("", ""),
    ]
    assert rows[0]["comment"] == 'Line one\r\n"quoted"  line two'  # no NUL left in text
    assert len(rows[0]) == len(csv_file.CSV_COLUMNS)


def test_csv_has_the_header_and_one_record_per_row(tmp_path):
    path = tmp_path / "rows.csv"
    rows = [
        submission(1, comment="Line one\nline two, with a comma"),
        submission(2, organization_name="", cosigners=(5, 6), campaign_key="c-1"),
        submission(3, stance=None, priority=None, country=None, language=None, populations=()),
    ]
    assert write_csv(iter(rows), path) == 3
    with path.open(newline="", encoding="utf-8") as handle:
        records = list(csv.reader(handle))
    assert tuple(records[0]) == csv_file.CSV_COLUMNS
    assert len(records) == 1 + len(rows)
    first, anonymous, blank = (dict(zip(records[0], r, strict=True)) for r in records[1:])
    assert first["reference"] == rows[0].reference
    assert first["comment"] == "Line one\nline two, with a comma"
    assert first["populations"] == "refugees;returnees"
    assert first["verified"] == "yes"
    assert anonymous["organisation"] == ""
    assert anonymous["cosigners"] == "2"
    assert anonymous["campaign"] == "c-1"
    assert blank["stance"] == blank["priority"] == blank["country"] == ""


def test_csv_puts_labels_in_the_readers_language_beside_codes(app_context, tmp_path):
    row = submission(
        1,
        stance="support_with_amendments",
        country="GT",
        populations=("refugees",),
        countries=("MX", "HN"),
        language="es",
        submitted_at=datetime(2026, 11, 1, 9, 30, 5, 123456, tzinfo=UTC),
    )
    path = tmp_path / "rows.csv"
    part = csv_file.CsvRows(tmp_path / "part.csv", csv_file.labels_in("es"))
    part.add(row)
    part.close()
    csv_file.join_csv([part.path], path)
    with path.open(newline="", encoding="utf-8") as handle:
        record = dict(zip(*list(csv.reader(handle)), strict=True))
    assert record["stance"] == "support_with_amendments"
    assert record["stance_label"] == "Apoyo con enmiendas"
    assert (record["country"], record["country_name"]) == ("GT", "Guatemala")
    assert record["language_name"] == "Español"
    assert record["type_label"] == "Organización no gubernamental"
    assert record["countries_concerned"] == "MX;HN"
    assert record["population_labels"] != "" and record["populations"] == "refugees"
    assert record["submitted_at"] == "2026-11-01T09:30:05+00:00"  # to the second


def test_files_name_no_overall_position_and_international_not_by_code(
    app_context, sample, tmp_path
):
    rows = [submission(1, stance="no_position", country="XX"), submission(2, stance="neutral")]
    part = csv_file.CsvRows(tmp_path / "part.csv", csv_file.labels_in("en"))
    for row in rows:
        part.add(row)
    part.close()
    csv_file.join_csv([part.path], tmp_path / "rows.csv")
    with (tmp_path / "rows.csv").open(newline="", encoding="utf-8") as handle:
        header, first, _second = list(csv.reader(handle))
    record = dict(zip(header, first, strict=True))
    assert (record["stance"], record["stance_label"]) == ("no_position", "No overall position")
    assert record["country_name"] == "International / several countries"
    result = copy.deepcopy(sample["result"])
    result["figures"] = report_figures(rows).as_dict()
    xlsx.write_xlsx(result, sample["matrix"], tmp_path / "report.xlsx")
    stances_sheet = sheet_xml(tmp_path / "report.xlsx")["Stances"]
    assert "No overall position" in stances_sheet
    assert "International / several countries" in stances_sheet and "Mexico" in stances_sheet


def test_csv_neutralises_spreadsheet_formulas(tmp_path):
    path = tmp_path / "rows.csv"
    row = submission(
        1,
        organization_name='=HYPERLINK("http://evil")',
        comment="+1 vote",
        amendment="@SUM(A1)",
        reference="-FB",
    )
    write_csv(iter([row]), path)
    with path.open(newline="", encoding="utf-8") as handle:
        record = dict(zip(*list(csv.reader(handle)), strict=True))
    assert record["organisation"] == '\'=HYPERLINK("http://evil")'
    assert record["comment"] == "'+1 vote"
    assert record["amendment"] == "'@SUM(A1)"
    assert record["reference"] == "'-FB"
    assert record["priority"] == "4"  # a number is not text: left as it is


def test_csv_streams_rows_in_constant_memory(tmp_path):
    # Materialising 30,000 rows takes tens of megabytes; streaming holds one batch.
    tracemalloc.start()
    try:
        write_csv(many_rows(30_000), tmp_path / "rows.csv")
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024, peak
    with (tmp_path / "rows.csv").open(newline="", encoding="utf-8") as handle:
        assert sum(1 for _ in csv.reader(handle)) == 30_001


# --- XLSX -----------------------------------------------------------------------------------


def sheet_xml(path: Path) -> dict[str, str]:
    """Sheet name -> its XML, read through the workbook's relationships."""
    with zipfile.ZipFile(path) as archive:
        workbook = archive.read("xl/workbook.xml").decode()
        rels = archive.read("xl/_rels/workbook.xml.rels").decode()
        targets = dict(re.findall(r'Id="(rId\d+)"[^>]*Target="([^"]+)"', rels))
        targets.update(
            {rid: target for target, rid in re.findall(r'Target="([^"]+)"[^>]*Id="(rId\d+)"', rels)}
        )
        sheets = re.findall(r'<sheet name="([^"]+)" sheetId="\d+" r:id="(rId\d+)"', workbook)
        return {
            name.replace("&amp;", "&"): archive.read("xl/" + targets[rid]).decode()
            for name, rid in sheets
        }


def test_xlsx_has_a_sheet_per_section(sample, app_context, tmp_path):
    path = tmp_path / "report.xlsx"
    xlsx.write_xlsx(sample["result"], sample["matrix"], path)
    with zipfile.ZipFile(path) as archive:
        workbook = archive.read("xl/workbook.xml").decode()
    for name in SHEETS:
        assert f'name="{name}"' in workbook


def test_xlsx_matrix_sheet_holds_every_row_not_only_the_page_ones(sample, app_context, tmp_path):
    result = copy.deepcopy(sample["result"])
    items = result["coalitions"]["items"]
    matrix = [
        {
            "id": i,
            "name": f"Organisation {i}",
            "stances": ["support", None] + [None] * (len(items) - 2),
        }
        for i in range(1, 1_501)
    ]
    result["coalitions"]["matrix"] = matrix[:300]
    result["coalitions"]["organisations"] = len(matrix)
    path = tmp_path / "report.xlsx"
    xlsx.write_xlsx(result, matrix, path)
    xml = sheet_xml(path)["Matrix"]
    assert xml.count("<row ") == 1 + len(matrix)
    assert "Organisation 1500" in xml


def test_xlsx_writes_formula_like_text_as_text(sample, app_context, tmp_path):
    result = copy.deepcopy(sample["result"])
    result["responses"][0]["rationale"] = '=HYPERLINK("http://evil","click")'
    matrix = [{"id": 1, "name": "+Organisation", "stances": [None] * len(result["items"])}]
    path = tmp_path / "report.xlsx"
    xlsx.write_xlsx(result, matrix, path)
    sheets = sheet_xml(path)
    assert all("<f>" not in xml for xml in sheets.values())
    assert "=HYPERLINK(" in sheets["Responses"]
    assert "+Organisation" in sheets["Matrix"]


def test_xlsx_has_the_submissions_with_the_csv_columns_up_to_its_bound(
    sample, app_context, tmp_path, monkeypatch
):
    monkeypatch.setattr(xlsx_texts, "SUBMISSION_ROWS", 3)
    rows_csv = tmp_path / "rows.csv"
    write_csv(iter([submission(n, countries=("MX", "HN")) for n in range(1, 6)]), rows_csv)
    path = tmp_path / "report.xlsx"
    xlsx.write_xlsx(sample["result"], sample["matrix"], path, rows_csv=rows_csv)
    sheet = sheet_xml(path)["Submissions"]
    assert "countries_concerned" in sheet and "stance_label" in sheet  # the CSV's header
    assert "FB-0000000000000003" in sheet and "FB-0000000000000004" not in sheet
    assert "MX;HN" in sheet
    assert "every submission (5)" in sheet  # says the CSV has them all
    assert sheet.count("<row ") == 1 + 3 + 1


def test_xlsx_themes_sheet_lists_each_theme_with_its_share_languages_and_other(
    sample, app_context, tmp_path
):
    said = [
        "Family reunification takes years and UNHCR says so.",
        "Speed up family reunification for children, as UNHCR asks.",
        "Family reunification separates children from parents.",
    ]
    dicho = [
        "La reunificación familiar tarda años y UNHCR lo dice.",
        "Acelerar la reunificación familiar de los hijos, como pide UNHCR.",
        "La reunificación familiar separa a los hijos de sus padres.",
    ]
    texts = [(t, 1, [n], "en") for n, t in enumerate(said)]
    texts += [(t, 2, [10 + n], "es") for n, t in enumerate(dicho)] + [("ok", 4, [30], None)]
    themes = find_themes(texts)
    del themes["assignment"]
    result = copy.deepcopy(sample["result"])
    result["themes"] = merge_themes([("P2", themes)])
    path = tmp_path / "report.xlsx"
    xlsx.write_xlsx(result, sample["matrix"], path)
    sheet = sheet_xml(path)["Themes"]
    (group,) = result["themes"]["groups"]
    assert group["id"] == "P2-theme-1" and sorted(group["languages"]) == ["en", "es"]
    assert sheet.count(">P2-theme-1<") >= 2  # a row per language's quote, both under the theme
    assert f"<v>{group['share']}</v>" in sheet and group["share"] == round(9 / 13, 4)
    assert ">other<" in sheet and "<v>4</v>" in sheet


def test_council_responses_read_as_text_in_the_workbook_and_as_markup_in_the_pdf_html(
    sample, app_context, tmp_path
):
    result = copy.deepcopy(sample["result"])
    result["responses"][0]["rationale"] = "We will fund **two** new shelters:\n\n- in the *south*"
    path = tmp_path / "report.xlsx"
    xlsx.write_xlsx(result, sample["matrix"], path)
    sheet = sheet_xml(path)["Responses"]
    assert "We will fund two new shelters:" in sheet and "in the south" in sheet
    assert "**" not in sheet and "*south*" not in sheet
    html = pdf.report_html(council_report(), result)
    assert "<strong>two</strong>" in html and "**two**" not in html


def test_xlsx_without_coverage_or_comparison_still_has_every_sheet(sample, app_context, tmp_path):
    result = copy.deepcopy(sample["result"])
    result.update(public=True, coverage=None, comparison=None)
    path = tmp_path / "report.xlsx"
    xlsx.write_xlsx(result, sample["matrix"], path)
    assert set(SHEETS) <= set(sheet_xml(path))


# --- charts ---------------------------------------------------------------------------------


def chart_texts() -> dict:
    return {
        "stances": "Stances",
        "items": "Items",
        "timeline": "Timeline",
        "per_day": "Submissions",
        "labels": {stance: stance for stance in report_charts.STANCES},
    }


def test_charts_are_valid_svg_and_identical_across_runs(sample):
    report_charts._cached_charts.cache_clear()
    started = time.perf_counter()
    first = report_charts.report_charts(sample["result"], chart_texts())
    elapsed = time.perf_counter() - started
    report_charts._cached_charts.cache_clear()
    second = report_charts.report_charts(sample["result"], chart_texts())
    assert set(first) == {"stances", "items", "timeline"}
    assert first == second
    for svg in first.values():
        root = ElementTree.fromstring(svg.encode())
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        assert "<dc:date>" not in svg
    assert elapsed < 1.0, elapsed


def test_every_stance_has_a_colour_of_its_own_and_no_position_is_not_neutrals_grey():
    colours = report_charts.STANCE_COLOURS
    assert set(colours) == set(report_charts.STANCES)
    assert len(set(colours.values())) == len(colours)


def test_chart_images_state_the_numbers_in_their_text_alternative(app_context, sample):
    images = report_charts.chart_images(sample["result"])
    overall = sample["result"]["figures"]["distributions"]["overall"]
    assert images["stances"]["src"].startswith("data:image/svg+xml;base64,")
    assert f"Support {overall['stances']['support']}" in images["stances"]["alt"]
    assert f"Oppose {overall['stances']['oppose']}" in images["stances"]["alt"]
    assert sample["result"]["figures"]["timeline"][0]["date"] in images["timeline"]["alt"]


@pytest.mark.parametrize(
    "text",
    [
        'She said "no", then left',
        "line one\nline two\r\nline three",
        'a,b,"c"',
        "",
        '"',
        "ünïcödé — ñ, 中文, emoji 🙂",
        "trailing space ",
        "tab\tseparated",
    ],
)
def test_csv_lines_read_back_unchanged(text, tmp_path):
    # The CSV lines are formatted by hand for speed: the standard reader must get back exactly
    # what was written, whatever the text holds.
    part = csv_file.CsvRows(tmp_path / "part.csv")
    part.add(submission(1, comment=text, amendment=text + text, organization_name=text))
    part.close()
    csv_file.join_csv([part.path], tmp_path / "rows.csv")
    with (tmp_path / "rows.csv").open(newline="", encoding="utf-8") as handle:
        header, record = list(csv.reader(handle))
    values = dict(zip(header, record, strict=True))
    assert values["comment"] == text
    assert values["amendment"] == text + text
    assert values["organisation"] == text
    assert values["priority"] == "4" and values["cosigners"] == "0"
