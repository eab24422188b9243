"""A report read in parts gives the figures of one pass over every row: split the rows any way,
each part's state stored as JSON (as between workers), merged in any order. And one pass gives
the same figures whatever the order it reads the rows in (the stream has no set order)."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from app.analysis.coalitions import StanceMatrix
from app.analysis.distinct_texts import DistinctTexts
from app.analysis.figures import ReportFigures
from app.analysis.part_merge import merge_themes
from tests.helpers.nested import differences
from tests.helpers.strategies import ORGANISATIONS, split, submissions

# Small limits, so that merging has to choose which names and ids to keep.
LIST_LIMIT = 2
MAX_IDS = 3


def stored(state: dict) -> dict:
    """A part's state as the next worker reads it back."""
    return json.loads(json.dumps(state))


@st.composite
def rows_and_parts(draw: st.DrawFn) -> tuple[list, list[list]]:
    rows = draw(submissions())
    parts = draw(split(rows))
    return rows, draw(st.permutations(parts))


def figures_of(rows: list) -> dict:
    return ReportFigures(LIST_LIMIT).update(rows).result().as_dict()


@given(rows_and_parts())
def test_figures_merged_from_parts_equal_one_pass(rows_and_parts):
    rows, parts = rows_and_parts
    merged = ReportFigures(LIST_LIMIT)
    for part in parts:
        merged.merge(stored(ReportFigures(LIST_LIMIT).update(part).state()))
    assert differences(merged.result().as_dict(), figures_of(rows)) == []


@given(submissions(), st.randoms(use_true_random=False))
def test_figures_do_not_depend_on_the_order_of_the_rows(rows, random):
    shuffled = list(rows)
    random.shuffle(shuffled)
    assert differences(figures_of(shuffled), figures_of(rows)) == []


def matrix_of(accumulator: StanceMatrix) -> dict:
    # The fan-in names the organisations it merged from the database, as the compiler does.
    names = {i: ORGANISATIONS[i][0] for i in accumulator.unnamed()}
    return accumulator.add_names(names).result().as_dict()


@given(rows_and_parts())
def test_the_stance_matrix_merged_from_parts_equals_one_pass(rows_and_parts):
    rows, parts = rows_and_parts
    merged = StanceMatrix()
    for part in parts:
        merged.merge(stored(StanceMatrix().update(part).state()))
    assert differences(matrix_of(merged), matrix_of(StanceMatrix().update(rows))) == []
    assert merged.answered() == StanceMatrix().update(rows).answered()


def texts_of(collector: DistinctTexts) -> tuple:
    return (
        list(collector.comments()),
        list(collector.amendments()),
        collector.comment_markers(),
        collector.counts,
    )


@given(rows_and_parts())
def test_distinct_texts_merged_from_parts_equal_one_pass(rows_and_parts):
    rows, parts = rows_and_parts
    merged = DistinctTexts(MAX_IDS)
    for part in parts:
        collector = DistinctTexts(MAX_IDS)
        for row in part:
            collector.add(row)
        merged.merge(stored(collector.state()))
    whole = DistinctTexts(MAX_IDS)
    for row in rows:
        whole.add(row)
    assert texts_of(merged) == texts_of(whole)


themes = st.fixed_dictionaries(
    {
        "id": st.sampled_from(["t1", "t2", "t3"]),
        "size": st.integers(0, 50),
    }
)
theme_results = st.fixed_dictionaries(
    {
        "languages": st.dictionaries(
            st.sampled_from(["en", "es"]),
            st.fixed_dictionaries(
                {
                    "texts": st.integers(0, 50),
                    "submissions": st.integers(0, 50),
                    "themes": st.lists(themes, max_size=3, unique_by=lambda t: t["id"]),
                }
            ),
        ),
        "other": st.fixed_dictionaries(
            {"texts": st.integers(0, 50), "submissions": st.integers(0, 50)}
        ),
        "total": st.fixed_dictionaries(
            {"texts": st.integers(0, 50), "submissions": st.integers(0, 50)}
        ),
    }
)


@given(st.lists(theme_results, max_size=4))
def test_merged_themes_keep_every_theme_of_every_item_and_add_up_the_counts(results):
    parts = [(f"P{number}", result) for number, result in enumerate(results)]
    merged = merge_themes(parts)
    for key in ("other", "total"):
        for count in ("texts", "submissions"):
            assert merged[key][count] == sum(result[key][count] for result in results)
    for language, section in merged["languages"].items():
        sections = [r["languages"][language] for r in results if language in r["languages"]]
        assert section["texts"] == sum(s["texts"] for s in sections)
        assert section["submissions"] == sum(s["submissions"] for s in sections)
        assert len(section["themes"]) == sum(len(s["themes"]) for s in sections)
        assert len({theme["id"] for theme in section["themes"]}) == len(section["themes"])
        sizes = [theme["size"] for theme in section["themes"]]
        assert sizes == sorted(sizes, reverse=True)
