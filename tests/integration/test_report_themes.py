"""Every submission with a comment has its theme in the report's CSV and workbook, and the
themes' sizes and shares in the report are the rows the CSV gives each theme."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter, defaultdict
from pathlib import Path

from flask import Flask
from openpyxl import load_workbook
from sqlalchemy import select

from app.dev import synthetic_feedback
from app.extensions import db
from app.models import Consultation, Report, ReportStatus, User
from app.reports import pipeline
from app.reports import services as reports
from app.reports.storage import report_directory

SLUG = "task-force-migration-recommendations"


def compiled_report(app: Flask) -> tuple[dict, list[dict], Path, int]:
    """A consultation report over synthetic feedback with campaigns: its result, its CSV
    rows, its workbook and its id."""
    with app.app_context():
        synthetic_feedback.generate(500, consultation_slug=SLUG, seed=4)
        council = db.session.scalar(select(User.id).where(User.email == "council@example.org"))
        consultation = db.session.scalar(select(Consultation.id).where(Consultation.slug == SLUG))
        report_id = reports.request_report(council, consultation).id
        pipeline.run_in_process(report_id)
        report = db.session.get(Report, report_id)
        assert report.status is ReportStatus.DONE, report.error
        folder = report_directory(Path(app.config["SETTINGS"].instance_path), report_id)
        text = (folder / report.files["csv"]).read_text(encoding="utf-8")
        return (
            dict(report.result),
            list(csv.DictReader(io.StringIO(text))),
            folder / report.files["xlsx"],
            report_id,
        )


def test_each_submissions_theme_is_in_the_csv_and_workbook_and_adds_up_to_the_report(
    seeded, client, login
):
    """One report, compiled once, checked four ways."""
    report = compiled_report(seeded)
    every_comment_has_one_theme_or_other_and_the_sizes_are_the_csv_rows(report)
    a_campaigns_members_share_their_theme(report)
    the_workbook_lists_each_submissions_theme_as_the_csv_does(report)
    login(client, "council@example.org")
    the_page_shows_each_themes_share_and_languages_and_other(report, client)
    admin = seeded.test_client()
    login(admin, "admin@example.org")
    timings_and_method_names_are_for_admins_only(report, client, admin)


def timings_and_method_names_are_for_admins_only(report, council, admin):
    _result, _rows, _workbook, report_id = report
    page = council.get(f"/reports/{report_id}").get_data(as_text=True)
    words = re.sub(r'src="data:[^"]*"', "", page)  # the charts' base64 spells anything
    for hidden in ("tfidf", "nmf", "extractive", "mmr", "time taken", "average-linkage"):
        assert hidden not in words.lower()
    assert f"/reports/{report_id}/diagnostics" not in page
    assert council.get(f"/reports/{report_id}/diagnostics").status_code == 403
    seen = admin.get(f"/reports/{report_id}").get_data(as_text=True)
    assert f"/reports/{report_id}/diagnostics" in seen
    diagnostics = admin.get(f"/reports/{report_id}/diagnostics").get_data(as_text=True)
    assert "tfidf-nmf" in diagnostics and "extractive-tfidf-mmr" in diagnostics
    assert 'data-stage="items_reading"' in diagnostics


def the_page_shows_each_themes_share_and_languages_and_other(report, client):
    result, _rows, _workbook, report_id = report
    page = client.get(f"/reports/{report_id}").get_data(as_text=True)
    themes = result["themes"]
    for group in themes["groups"]:
        share = f'<span data-share="{group["id"]}">{round(group["share"] * 100):.0f}%</span>'
        assert share in page
    assert ("data-other=" in page) == (themes["other"]["submissions"] > 0)


def every_comment_has_one_theme_or_other_and_the_sizes_are_the_csv_rows(report):
    result, rows, _workbook, _id = report
    themes = result["themes"]
    groups = {group["id"]: group for group in themes["groups"]}

    with_text = [row for row in rows if row["comment"]]
    assert with_text and all(row["theme"] for row in with_text)
    assert all(row["theme"] == row["theme_label"] == "" for row in rows if not row["comment"])
    counted = Counter(row["theme"] for row in with_text)
    assert {theme: n for theme, n in counted.items() if theme != "other"} == {
        theme: group["size"] for theme, group in groups.items()
    }
    assert counted["other"] == themes["other"]["submissions"]
    assert themes["total"]["submissions"] == len(with_text)
    # Each theme is one item's, labelled by its leading terms; its share is of its item's texts.
    for row in with_text:
        if row["theme"] != "other":
            group = groups[row["theme"]]
            assert row["theme"].startswith(f"{row['item']}-") and group["item"] == row["item"]
            assert row["theme_label"].startswith(", ".join(group["terms"][:4]))
    for item, found in themes["by_item"].items():
        item_texts = sum(1 for row in with_text if row["item"] == item)
        assert found["total"]["submissions"] == item_texts
        for group in (g for g in groups.values() if g["item"] == item):
            assert group["share"] == round(group["size"] / item_texts, 4)


def a_campaigns_members_share_their_theme(report):
    _result, rows, _workbook, _id = report
    by_campaign = defaultdict(set)
    for row in rows:
        if row["campaign"] and row["comment"]:
            by_campaign[row["item"], row["campaign"]].add(row["theme"])
    assert by_campaign
    assert all(len(found) == 1 for found in by_campaign.values())


def the_workbook_lists_each_submissions_theme_as_the_csv_does(report):
    _result, rows, workbook, _id = report
    sheet = load_workbook(workbook, read_only=True)["Submissions"]
    lines = sheet.iter_rows(values_only=True)
    header = list(next(lines))
    theme, reference = header.index("theme"), header.index("reference")
    listed = {line[reference]: line[theme] or "" for line in lines if line[reference]}
    assert listed == {row["reference"]: row["theme"] for row in rows}
