"""The report's workbook: a sheet per section, written in xlsxwriter's constant-memory mode so
memory does not grow with the size of the consultation."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import xlsxwriter
from flask_babel import gettext as _

from app.reports.storage import partial_path
from app.reports.xlsx_texts import (
    Sheet,
    references,
    responses_sheet,
    submissions_sheet,
    summary_sheet,
    themes_sheet,
)
from app.vocabulary import STANCES, breakdown_label, language_name, stance_label

PRIORITIES = ("1", "2", "3", "4", "5")


DIMENSIONS = ("by_verification", "by_organisation_type", "by_country", "by_population")


def _stance_headers() -> list[str]:
    return [stance_label(s) for s in STANCES]


def _tally_cells(t: Mapping[str, Any]) -> list[object]:
    priorities = {str(p): n for p, n in t["priorities"].items()}
    return [
        t["total"],
        *(t["stances"].get(s, 0) for s in STANCES),  # a result older than a stance lacks it
        *(t["stance_shares"].get(s, 0.0) for s in STANCES),
        t["mean_priority"],
        *(priorities.get(p, 0) for p in PRIORITIES),
    ]


def _tally_headers() -> list[str]:
    return [
        _("Submissions"),
        *_stance_headers(),
        *(_("Share: %(stance)s", stance=label) for label in _stance_headers()),
        _("Mean priority"),
        *(_("Priority %(p)s", p=p) for p in PRIORITIES),
    ]


def write_xlsx(
    result: Mapping[str, Any],
    matrix: list[dict[str, Any]],
    path: Path,
    rows_csv: Path | None = None,
) -> None:
    """The workbook at `path`; with `rows_csv` (the report's CSV file), a sheet of the
    submissions too, the CSV's columns, up to SUBMISSION_ROWS of them."""
    partial = partial_path(path)
    workbook = xlsxwriter.Workbook(
        str(partial),
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
    bold = workbook.add_format({"bold": True})

    def sheet(name: str, *widths: int) -> Sheet:
        return Sheet(workbook, name, bold, widths)

    figures = result["figures"]
    _headline_sheet(sheet("Headline", 48, 14, 10), result)
    _stances_sheet(sheet("Stances", 22, 14, 32), figures["distributions"])
    _items_sheet(sheet("Items", 10, 22, 14, 32), figures["distributions"]["items"])
    _distinct_sheet(sheet("Distinct positions", 14, 14, 14), figures)
    _campaigns_sheet(sheet("Campaigns", 6, 24, 10, 14, 60, 20, 22, 22), result)
    themes_sheet(sheet("Themes", 16, 8, 10, 8, 10, 8, 50, 80, 30), result, result["themes"])
    themes_sheet(sheet("Amendments", 16, 8, 10, 8, 10, 8, 50, 80, 30), result, result["amendments"])
    summary_sheet(sheet("Summary", 6, 10, 8, 90, 12, 40), result)
    _coalitions_sheet(sheet("Coalitions", 14, 10, 10, 80), result["coalitions"])
    _matrix_sheet(sheet("Matrix", 10, 40), result["coalitions"]["items"], matrix)
    _timeline_sheet(sheet("Timeline", 12, 12), figures["timeline"])
    _coverage_sheet(sheet("Coverage", 40, 12, 12, 10), result.get("coverage"))
    responses_sheet(sheet("Responses", 10, 20, 20, 80, 12, 22), result["responses"])
    _comparison_sheet(sheet("Comparison", 36, 12, 12, 12, 12), result.get("comparison"))
    if rows_csv is not None:
        submissions_sheet(sheet("Submissions", 14, 8, 30, 14, 24), rows_csv)
    workbook.close()
    partial.replace(path)


def _headline_sheet(s: Sheet, result: Mapping[str, Any]) -> None:
    headline = result["figures"]["headline"]
    s.heading(_("Figure"), _("Value"))
    for label, value in (
        (_("Submissions"), headline["submissions"]),
        (
            _("Submissions from verified organisations"),
            headline["submissions_by_verification"]["verified"],
        ),
        (
            _("Submissions from unverified organisations"),
            headline["submissions_by_verification"]["unverified"],
        ),
        (_("Organisations that submitted"), headline["organisations"]["submitting"]),
        (_("Verified organisations"), headline["organisations"]["verified"]),
        (_("Unverified organisations"), headline["organisations"]["unverified"]),
        (_("Organisations, co-signers included"), headline["organisations"]["with_cosigners"]),
        (_("Countries"), headline["countries"]),
        (_("Languages"), headline["languages"]),
        (_("Campaigns"), headline["campaigns"]),
        (_("Submissions in campaigns"), headline["campaign_members"]),
        (_("Submissions in no campaign"), headline["own_positions"]),
        (_("Distinct positions"), headline["distinct_positions"]),
    ):
        s.write((label, value))
    s.write((_("Version"), _("Public") if result.get("public") else _("Council")))
    s.write((_("Compiled at (UTC)"), result.get("compiled_at", "")))
    s.gap()
    s.heading(_("Language of the respondents"), _("Code"), _("Organisations"), _("Share"))
    for code, entry in result["figures"]["languages"].items():
        s.write((language_name(code), code, entry["count"], entry["share"]))


def _stances_sheet(s: Sheet, distributions: Mapping[str, Any]) -> None:
    s.heading(_("Breakdown"), _("Group"), _("Name"), *_tally_headers())
    s.write(("overall", "", _("All submissions"), *_tally_cells(distributions["overall"])))
    for dimension in DIMENSIONS:
        for group, t in distributions[dimension].items():
            s.write((dimension, group, breakdown_label(dimension, group), *_tally_cells(t)))


def _items_sheet(s: Sheet, items: Mapping[str, Any]) -> None:
    s.heading(_("Item"), _("Breakdown"), _("Group"), _("Name"), *_tally_headers())
    for code, breakdown in items.items():
        s.write((code, "overall", "", _("All submissions"), *_tally_cells(breakdown["overall"])))
        for dimension in DIMENSIONS:
            for group, t in breakdown[dimension].items():
                name = breakdown_label(dimension, group)
                s.write((code, dimension, group, name, *_tally_cells(t)))


def _distinct_sheet(s: Sheet, figures: Mapping[str, Any]) -> None:
    distinct, raw = figures["distinct_positions"], figures["distributions"]
    s.heading(
        _("Item"),
        _("All submissions"),
        _("Distinct positions"),
        *(_("Distinct: %(stance)s", stance=label) for label in _stance_headers()),
        *(_("All: %(stance)s", stance=label) for label in _stance_headers()),
    )
    s.write(
        (
            _("All items"),
            raw["overall"]["total"],
            distinct["total"],
            *(distinct["stances"].get(st, 0) for st in STANCES),
            *(raw["overall"]["stances"].get(st, 0) for st in STANCES),
        )
    )
    for code, entry in distinct["items"].items():
        overall = raw["items"].get(code, {}).get("overall") or {"total": 0, "stances": {}}
        s.write(
            (
                code,
                overall["total"],
                entry["total"],
                *(entry["stances"].get(st, 0) for st in STANCES),
                *(overall["stances"].get(st, 0) for st in STANCES),
            )
        )


def _campaigns_sheet(s: Sheet, result: Mapping[str, Any]) -> None:
    s.heading(
        "#",
        _("Campaign key"),
        _("Submissions"),
        _("Organisations"),
        _("Named organisations"),
        _("Items"),
        _("Dominant stance"),
        _("Representative submission"),
        *_stance_headers(),
    )
    for number, campaign in enumerate(result["figures"]["campaigns"], start=1):
        s.write(
            (
                number,
                campaign["key"],
                campaign["size"],
                campaign["organisation_count"],
                ", ".join(o["name"] for o in campaign["organisations"]),
                ", ".join(campaign["items"]),
                stance_label(campaign["dominant_stance"]) if campaign["dominant_stance"] else "",
                references(result, [campaign["representative_id"]]),
                *(campaign["stances"].get(st, 0) for st in STANCES),
            )
        )


def _coalitions_sheet(s: Sheet, coalitions: Mapping[str, Any]) -> None:
    s.heading(_("Figure"), _("Value"))
    for label, key in (
        (_("Organisations in the matrix"), "organisations"),
        (_("Compared"), "clustered"),
        (_("In a coalition"), "in_coalitions"),
        (_("Too few items answered"), "too_few_items"),
        (_("Joined no group"), "not_joined"),
        (_("Anonymous positions (not shown)"), "anonymous_positions"),
    ):
        s.write((label, coalitions[key]))
    s.write((_("Method"), coalitions["method"]))
    s.gap()
    items = coalitions["items"]
    s.heading(_("Coalition"), _("Size"), _("Cohesion"), _("Members"), *items)
    for number, coalition in enumerate(coalitions["coalitions"], start=1):
        shared = coalition["shared"]
        s.write(
            (
                number,
                coalition["size"],
                coalition["cohesion"],
                ", ".join(m["name"] for m in coalition["members"]),
                *(
                    stance_label(shared[code]["stance"])
                    if code in shared and shared[code]["stance"]
                    else ""
                    for code in items
                ),
            )
        )


def _matrix_sheet(s: Sheet, items: Sequence[str], matrix: Iterable[Mapping[str, Any]]) -> None:
    s.heading(_("Organisation id"), _("Organisation"), *items)
    for row in matrix:
        s.write((row["id"], row["name"], *(stance or "" for stance in row["stances"])))


def _timeline_sheet(s: Sheet, timeline: Iterable[Mapping[str, Any]]) -> None:
    s.heading(_("Day (UTC)"), _("Submissions"), *_stance_headers())
    for day in timeline:
        s.write((day["date"], day["total"], *(day["stances"].get(st, 0) for st in STANCES)))


def _coverage_sheet(s: Sheet, coverage: Mapping[str, Any] | None) -> None:
    if coverage is None:
        s.write((_("Coverage of invited organisations is not part of the public version."),))
        return
    s.heading(_("Figure"), _("Value"))
    s.write((_("Invited organisations"), coverage["invited"]))
    s.write((_("Answered every item"), coverage["answered_all"]))
    s.write((_("Answered no item"), coverage["answered_none"]))
    s.gap()
    s.heading(_("Item"), _("Invited"), _("Answered"), _("Share"))
    for code, entry in coverage["items"].items():
        s.write((code, entry["invited"], entry["answered"], entry["share"]))
    s.gap()
    s.heading(_("Organisation"), _("Items not answered"))
    for entry in coverage["missing"]:
        s.write((entry["name"], ", ".join(entry["items"])))


def _comparison_sheet(s: Sheet, comparison: Mapping[str, Any] | None) -> None:
    if comparison is None:
        s.write((_("This is the first report of this scope: there is nothing to compare with."),))
        return
    s.write((_("Previous report"), comparison["report_id"], comparison["finished_at"]))
    s.gap()
    s.heading(_("Figure"), _("Previous"), _("Now"), _("Difference"))
    for key in (
        "submissions",
        "organisations",
        "organisations_with_cosigners",
        "campaigns",
        "distinct_positions",
    ):
        change = comparison[key]
        s.write((key, change["previous"], change["current"], change["change"]))
    for key in ("stance_shifts", "distinct_stance_shifts"):
        s.gap()
        s.heading(key, *_stance_headers())
        shifts = comparison[key]
        s.write((_("All items"), *(shifts["overall"][st] for st in STANCES)))
        for code, points in shifts["items"].items():
            s.write((code, *(points[st] for st in STANCES)))
    s.gap()
    s.write((_("New items"), ", ".join(comparison["new_items"])))
    s.heading(_("New campaign"), _("Submissions"), _("Dominant stance"), _("Items"))
    for campaign in comparison["new_campaigns"]:
        s.write(
            (
                campaign["key"],
                campaign["size"],
                campaign["dominant_stance"] or "",
                ", ".join(campaign["items"]),
            )
        )


# A sheet of a million rows takes xlsxwriter minutes: past this many, the CSV has them all.
