"""Compiles the content of a report in two steps that any worker can run.

`compile_item` is one item's part: one streamed pass over its rows feeds the accumulators of
app/analysis (figures, the stance matrix, distinct texts) and writes the item's CSV lines;
then themes, amendments and the summary run on the distinct texts only. `compile_scope` is
the fan-in: it merges the parts' accumulator states and text analyses, finds the coalitions
and adds the small context (invitations, the council's responses, the previous report, the
references of cited submissions). An item report is one part and its fan-in; a consultation
report has a part per item, spread over the workers. The result is plain JSON; the whole
organisation × item matrix, which can have a hundred thousand rows, goes to the files only
(`Compiled.matrix`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from app.analysis.coalitions import StanceMatrix
from app.analysis.coverage import invitation_coverage
from app.analysis.distinct_texts import DistinctTexts
from app.analysis.figures import ReportFigures, compare
from app.analysis.part_merge import merge_summaries, merge_themes
from app.analysis.summary import summarise
from app.analysis.themes import find_themes, group_amendments
from app.extensions import db
from app.models import (
    CouncilResponse,
    Feedback,
    Invitation,
    Item,
    ItemVersion,
    Organization,
    Report,
    ReportStatus,
)
from app.models.base import utcnow
from app.models.council_response import council_response_feedback
from app.reports import rows as report_rows
from app.reports.csv_file import CsvRows, Labels
from app.reports.rows import Scope

RESULT_VERSION = 5  # 5: themes cover every text (groups, other, shares, assignment)
PROGRESS_EVERY = 20_000  # rows between two progress updates
MATRIX_ROWS = 300  # organisations of the matrix shown on the page (all are in the files)
COALITION_MEMBERS = 50  # members named per coalition on the page
NAME_CHUNK = 10_000  # organisation ids per name query
CITED_SHOWN = 5  # references shown per quote (reports/_report.html shows as many)
Progress = Callable[[str, int], None]


@dataclass
class Compiled:
    result: dict[str, Any]
    matrix: list[dict[str, Any]] = field(default_factory=list)  # every row, for the files


def compile_item(
    scope: Scope,
    csv_path: Path,
    alive: Callable[[int], None] | None = None,
    labels: Labels | None = None,
) -> dict:
    """One item's part of a report (`scope.item_id`): its accumulator states, its text
    analysis, and its rows written to `csv_path` (headerless, see `CsvRows`), with the
    theme of each text beside it (`themes_path`).

    `alive(rows read)` is called between stages and every PROGRESS_EVERY rows: the caller
    shows progress (its lease is the job runner's heartbeat's business)."""
    alive = alive or (lambda _seen: None)
    part, texts = read_rows(scope, csv_path, alive, labels)
    alive(part["rows"])
    return {**part, **analyse_texts(texts, part["timings"], themes_path(csv_path))}


def themes_path(csv_path: Path) -> Path:
    """Where the item whose rows are in `csv_path` keeps each text's theme (`analyse_texts`)."""
    return csv_path.with_suffix(".themes.json")


def read_rows(
    scope: Scope,
    csv_path: Path,
    alive: Callable[[int], None] | None = None,
    labels: Labels | None = None,
) -> tuple[dict, DistinctTexts]:
    """One pass over the rows of `scope` (an item, or a range of its rows): the figures' and
    the matrix's accumulator states, the distinct texts, and the CSV lines in `csv_path`
    (codes beside their `labels`)."""
    alive = alive or (lambda _seen: None)
    clock = time.perf_counter()
    figures, matrix, texts = ReportFigures(), StanceMatrix(), DistinctTexts()
    add_figure, add_matrix, add_text = figures.add, matrix.add, texts.add
    rows = CsvRows(csv_path, labels)
    add_line = rows.add
    seen = 0
    try:
        for seen, row in enumerate(report_rows.stream(scope, by_id=True), start=1):
            add_figure(row)
            add_matrix(row)
            add_line(row, add_text(row))  # the line carries its text's marker
            if seen % PROGRESS_EVERY == 0:
                alive(seen)
        rows.close()
    except BaseException:
        rows.discard()
        raise
    timings = {"reading": round(time.perf_counter() - clock, 3), "themes": 0, "summarising": 0}
    part = {"rows": seen, "figures": figures.state(), "matrix": matrix.state(), "timings": timings}
    return part, texts


def analyse_texts(
    texts: DistinctTexts, timings: dict[str, float], assignment: Path | None = None
) -> dict:
    """An item's text analysis, on the distinct texts of all its rows; adds its stages to
    `timings`. Each comment's theme goes to the `assignment` file, {text marker: theme id},
    which the CSV reads (a million rows can have as many texts: too many for the result)."""
    clock = time.perf_counter()
    themes = find_themes(texts.comments())
    if assignment is not None:
        assignment.parent.mkdir(parents=True, exist_ok=True)
        pairs = zip(texts.comment_markers(), themes["assignment"], strict=True)
        assignment.write_text(json.dumps(dict(pairs)), encoding="utf-8")
    del themes["assignment"]
    amendments = group_amendments(texts.amendments())
    del amendments["assignment"]
    timings["themes"] = round(time.perf_counter() - clock, 3)
    clock = time.perf_counter()
    summary = summarise(texts.comments(), themes=themes)
    timings["summarising"] = round(time.perf_counter() - clock, 3)
    return {
        "themes": themes,
        "amendments": amendments,
        "summary": summary,
        "distinct_texts": texts.counts,
        "timings": timings,
    }


def compile_scope(
    scope: Scope,
    scope_key: str,
    parts: Iterable[tuple[str, dict[str, Any]]],
    progress: Progress | None = None,
) -> Compiled:
    """The report of `scope` from its parts ((item code, part result), in the report's
    order): an item read in several row ranges has a part per range, one of which (the one
    with "themes") carries the item's text analysis; `progress(stage, percent)` is called as
    the stages advance.

    Parts are merged one at a time and their accumulator states dropped once merged, so
    memory holds the merged counts and one part, not every part at once."""
    progress = progress or (lambda _stage, _percent: None)
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[stage] = round(now - clock, 3)
        clock = now

    items = _item_codes(scope)
    figures, matrix = ReportFigures(), StanceMatrix()
    texts: list[tuple[str, dict[str, Any]]] = []
    stages = dict.fromkeys(("reading", "themes", "summarising"), 0.0)
    for code, part in parts:
        figures.merge(part.pop("figures"))
        matrix.merge(part.pop("matrix"))
        for stage in stages:  # summed over the parts
            stages[stage] += part["timings"][stage]
        if "themes" in part:
            texts.append((code, part))
    matrix.add_names(_organisation_names(matrix.unnamed()))
    figures_result = figures.result().as_dict()
    for stage, seconds in stages.items():
        timings[f"items_{stage}"] = round(seconds, 3)
    lap("merging")

    themes = merge_themes([(item, part["themes"]) for item, part in texts])
    amendments = merge_themes([(item, part["amendments"]) for item, part in texts])
    summary = merge_summaries([(item, part["summary"]) for item, part in texts])
    distinct = {
        key: sum(part["distinct_texts"][key] for _item, part in texts)
        for key in ("comments", "amendments")
    }

    progress("coalitions", 80)
    matrix_result = matrix.result(items=items).as_dict()
    # Who has not answered stays with the council: in public it would tie anonymous positions
    # to their organisations.
    coverage = (
        None
        if scope.public
        else invitation_coverage(_invited(scope), items, matrix.answered()).as_dict()
    )
    lap("coalitions")

    result = {
        "version": RESULT_VERSION,
        "public": scope.public,
        "compiled_at": utcnow().isoformat(),
        "items": items,
        "item_titles": _item_titles(scope),
        "figures": figures_result,
        "themes": themes,
        "amendments": amendments,
        "summary": summary,
        "coalitions": _bounded_matrix(matrix_result),
        "coverage": coverage,
        "responses": _responses(scope),
        # Submissions still waiting for their flags and campaign when the report was compiled.
        "pending_checks": report_rows.pending_checks(scope),
        "comparison": _comparison(scope_key, scope.public, figures_result),
        "distinct_texts": distinct,
    }
    result["references"] = _references(_cited_ids(result))
    lap("context")
    result["timings"] = timings
    return Compiled(result=result, matrix=matrix_result["matrix"])


def _item_codes(scope: Scope) -> list[str]:
    query = select(Item.code).order_by(Item.position, Item.code)
    if scope.item_id is not None:
        return list(db.session.scalars(query.where(Item.id == scope.item_id)))
    return list(db.session.scalars(query.where(Item.consultation_id == scope.consultation_id)))


def _item_titles(scope: Scope) -> dict[str, dict[str, str]]:
    """Each item's title in every language it has, as it stood when the report was compiled."""
    query = (
        select(Item.code, ItemVersion.title)
        .join(
            ItemVersion,
            (ItemVersion.item_id == Item.id) & (ItemVersion.number == Item.current_version),
        )
        .where(Item.consultation_id == scope.consultation_id)
    )
    if scope.item_id is not None:
        query = query.where(Item.id == scope.item_id)
    return {code: dict(title or {}) for code, title in db.session.execute(query)}


def _organisation_names(ids: set[int]) -> dict[int, str]:
    """The names of the matrix's organisations, read by primary key in chunks. An anonymous
    position never reaches the matrix (see StanceMatrix), so every one of these is named."""
    names: dict[int, str] = {}
    ordered = sorted(ids)
    for start in range(0, len(ordered), NAME_CHUNK):
        chunk = ordered[start : start + NAME_CHUNK]
        rows = db.session.execute(
            select(Organization.id, Organization.name).where(Organization.id.in_(chunk))
        )
        names.update((organisation_id, name) for organisation_id, name in rows)
    return names


def _invited(scope: Scope) -> list[tuple[int, str]]:
    return [
        tuple(row)
        for row in db.session.execute(
            select(Organization.id, Organization.name)
            .join(Invitation, Invitation.organization_id == Organization.id)
            .where(Invitation.consultation_id == scope.consultation_id)
            .distinct()
        )
    ]


def _responses(scope: Scope) -> list[dict[str, Any]]:
    """The council's published responses so far, with how many submissions each answers."""
    query = (
        select(
            CouncilResponse.id,
            Item.code,
            CouncilResponse.theme,
            CouncilResponse.decision,
            CouncilResponse.rationale,
            CouncilResponse.published_at,
            select(func.count())
            .select_from(council_response_feedback)
            .where(council_response_feedback.c.council_response_id == CouncilResponse.id)
            .scalar_subquery()
            .label("answers"),
        )
        .join(Item, Item.id == CouncilResponse.item_id)
        .where(
            CouncilResponse.consultation_id == scope.consultation_id,
            CouncilResponse.published_at.is_not(None),
        )
        .order_by(Item.position, CouncilResponse.published_at)
    )
    if scope.item_id is not None:
        query = query.where(CouncilResponse.item_id == scope.item_id)
    return [
        {
            "id": row.id,
            "item": row.code,
            "theme": row.theme,
            "decision": row.decision.value,
            "rationale": row.rationale,
            "published_at": row.published_at.isoformat(),
            "answers": row.answers,
        }
        for row in db.session.execute(query)
    ]


def _comparison(scope_key: str, public: bool, figures: dict[str, Any]) -> dict[str, Any] | None:
    """Since the last finished report of the same scope and version: what changed."""
    previous = db.session.execute(
        select(Report.id, Report.finished_at, Report.result)
        .where(
            Report.scope == scope_key,
            Report.status == ReportStatus.DONE,
            Report.is_public.is_(public),
        )
        .order_by(Report.finished_at.desc())
        .limit(1)
    ).first()
    if previous is None or not previous.result or "figures" not in previous.result:
        return None
    changes = compare(previous.result["figures"], figures)
    return {
        "report_id": previous.id,
        "finished_at": previous.finished_at.isoformat(),
        **changes,
    }


def _bounded_matrix(matrix: dict[str, Any]) -> dict[str, Any]:
    bounded = {key: value for key, value in matrix.items() if key != "matrix"}
    bounded["matrix"] = matrix["matrix"][:MATRIX_ROWS]
    bounded["coalitions"] = [
        {
            **coalition,
            "members": coalition["members"][:COALITION_MEMBERS],
        }
        for coalition in matrix["coalitions"]
    ]
    return bounded


def _cited_ids(result: dict[str, Any]) -> set[int]:
    """The submissions whose references the report shows: the first CITED_SHOWN of each quote
    and summary sentence (the rest are counted), and each campaign's representative."""
    cited: set[int] = set()
    for section in ("themes", "amendments"):
        for language in result[section]["languages"].values():
            for theme in language["themes"]:
                for quote in theme["quotes"]:
                    cited.update(quote["submission_ids"][:CITED_SHOWN])
    for sentence in result["summary"]["sentences"]:
        cited.update(sentence["submission_ids"][:CITED_SHOWN])
    for campaign in result["figures"]["campaigns"]:
        cited.add(campaign["representative_id"])
    return cited


def _references(ids: set[int]) -> dict[str, str]:
    """Submission id -> its public reference, for every submission the report cites."""
    found: dict[str, str] = {}
    ordered = sorted(ids)
    for start in range(0, len(ordered), 1000):
        chunk = ordered[start : start + 1000]
        for feedback_id, reference in db.session.execute(
            select(Feedback.id, Feedback.reference).where(Feedback.id.in_(chunk))
        ):
            found[str(feedback_id)] = reference
    return found
