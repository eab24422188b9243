"""A report's counts always add up: every breakdown's parts sum to its whole, whatever the rows
(stances missing, anonymous organisations, campaigns across items, any time zone)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from app.analysis.figures import report_figures
from app.analysis.tally import PRIORITIES, STANCES, tally
from tests.helpers.strategies import submissions

weighted_rows = st.lists(
    st.tuples(
        st.sampled_from((*STANCES, None, "withdrawn")),  # also a stance the tally does not know
        st.sampled_from((*PRIORITIES, None, 0, 9)),
        st.integers(0, 1000),
    ),
    max_size=30,
)


@given(weighted_rows)
def test_a_tally_counts_every_row_once_by_stance_and_by_priority(rows):
    result = tally(rows)
    assert result.total == sum(weight for _, _, weight in rows)
    unstanced = sum(weight for stance, _, weight in rows if stance not in STANCES)
    assert sum(result.stances.values()) + unstanced == result.total
    unprioritised = sum(weight for _, priority, weight in rows if priority not in PRIORITIES)
    assert sum(result.priorities.values()) + unprioritised == result.total


@given(weighted_rows, weighted_rows)
def test_the_tally_of_two_sets_of_rows_is_the_sum_of_their_tallies(first, second):
    both, one, other = tally(first + second), tally(first), tally(second)
    assert both.total == one.total + other.total
    assert all(both.stances[s] == one.stances[s] + other.stances[s] for s in STANCES)
    assert all(both.priorities[p] == one.priorities[p] + other.priorities[p] for p in PRIORITIES)


def _total_of(groups: dict) -> int:
    return sum(group["total"] for group in groups.values())


@given(submissions())
def test_every_breakdown_of_a_report_sums_to_its_whole(rows):
    figures = report_figures(rows).as_dict()
    headline = figures["headline"]
    distributions = figures["distributions"]
    submitted = len(rows)

    assert headline["submissions"] == distributions["overall"]["total"] == submitted
    assert sum(headline["submissions_by_verification"].values()) == submitted
    for dimension in ("by_verification", "by_organisation_type", "by_country"):
        assert _total_of(distributions[dimension]) == submitted, dimension
    assert sum(b["overall"]["total"] for b in distributions["items"].values()) == submitted
    for item, breakdown in distributions["items"].items():
        on_item = sum(row.item_code == item for row in rows)
        assert breakdown["overall"]["total"] == on_item
        for dimension in ("by_verification", "by_organisation_type", "by_country"):
            assert _total_of(breakdown[dimension]) == on_item, (item, dimension)
    # A submission counts in each population it names: the groups sum to the names given.
    assert _total_of(distributions["by_population"]) == sum(
        max(1, len(row.populations)) for row in rows
    )
    assert sum(day["total"] for day in figures["timeline"]) == submitted
    for day in figures["timeline"]:
        assert sum(day["stances"].values()) <= day["total"]

    organisations = headline["organisations"]
    assert organisations["verified"] + organisations["unverified"] == organisations["submitting"]
    assert organisations["submitting"] == len({row.organization_id for row in rows})
    for view in figures["participants"].values():
        assert sum(view.values()) == organisations["submitting"]
    assert (
        sum(language["count"] for language in figures["languages"].values())
        == (organisations["submitting"])
    )

    campaigns = figures["campaigns"]
    assert headline["campaigns"] == len(campaigns)
    assert headline["campaign_members"] == sum(c["size"] for c in campaigns)
    assert headline["own_positions"] + headline["campaign_members"] == submitted
    for campaign in campaigns:
        members = [row for row in rows if row.campaign_key == campaign["key"]]
        assert campaign["size"] == len(members)
        assert sum(campaign["stances"].values()) == sum(row.stance is not None for row in members)
        assert campaign["organisation_count"] == len({row.organization_id for row in members})

    # Distinct positions: each campaign counts once per item it addresses.
    distinct = figures["distinct_positions"]
    assert distinct["total"] == headline["distinct_positions"]
    assert distinct["total"] == headline["own_positions"] + sum(len(c["items"]) for c in campaigns)
    assert _total_of(distinct["items"]) == distinct["total"]
    assert sum(distinct["stances"].values()) <= distinct["total"]
