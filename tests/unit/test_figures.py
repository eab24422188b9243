"""Report figures over a small hand-made corpus whose right answers are counted by hand."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from app.analysis.figures import (
    INTERNATIONAL,
    ReportFigures,
    compare,
    dominant_stance,
    report_figures,
)
from app.analysis.records import Submission
from app.models.organization import INTERNATIONAL_COUNTRY

ORGANISATIONS = {
    # id: (name, type, country, verified)
    1: ("Alpha", "ngo", "MX", True),
    2: ("Beta", "academic", "GT", False),
    3: ("Gamma", "workers", "US", True),
    4: ("Delta", "workers", "US", False),
    5: ("Epsilon", "ngo", "US", True),
    6: ("Zeta", "faith_based", "CA", True),
    7: ("Eta", "international", None, True),
}


def submission(
    id: int,
    item: str,
    organisation: int,
    stance: str | None,
    priority: int | None,
    populations: tuple[str, ...],
    language: str | None,
    at: datetime,
    campaign: str | None = None,
    cosigners: tuple[int, ...] = (),
    name: str | None = None,
) -> Submission:
    org_name, kind, country, verified = ORGANISATIONS[organisation]
    return Submission(
        id=id,
        reference=f"R-{id}",
        item_code=item,
        organization_id=organisation,
        organization_name=org_name if name is None else name,
        organization_type=kind,
        country=country,
        verified=verified,
        stance=stance,
        priority=priority,
        populations=populations,
        language=language,
        comment="A position in its own words." if language else "",  # no language: no text
        amendment="",
        submitted_at=at,
        campaign_key=campaign,
        cosigners=cosigners,
    )


def day(d: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(2025, 3, d, hour, minute, tzinfo=UTC)


CAMPAIGN = [  # five near-identical positions on item A, from four organisations
    submission(4, "A", 3, "support", 4, ("labour_migrants",), "en", day(3), "c1"),
    submission(5, "A", 4, "support", 4, ("labour_migrants",), "en", day(3), "c1"),
    submission(6, "A", 5, "support", 4, ("labour_migrants",), "en", day(3), "c1"),
    submission(7, "A", 6, "oppose", 4, ("labour_migrants",), "en", day(3), "c1"),
    submission(8, "A", 3, "support", 4, ("labour_migrants",), "en", day(3), "c1"),
]
EARLY = [
    submission(1, "A", 1, "support", 5, ("refugees",), "es", day(1, 10), cosigners=(7,)),
    submission(
        2, "A", 2, "oppose", 2, ("refugees", "asylum_seekers"), "en", day(1, 23, 30), cosigners=(8,)
    ),
    submission(3, "B", 1, "neutral", None, (), "es", day(2)),
]
LATE = [
    submission(9, "B", 2, "support_with_amendments", 3, ("women_and_girls",), "fr", day(5)),
    # 21:00 at UTC-5 on 5 March is 02:00 UTC on 6 March
    submission(
        10,
        "B",
        7,
        None,
        None,
        (),
        None,
        datetime(2025, 3, 5, 21, 0, tzinfo=timezone(timedelta(hours=-5))),
    ),
]
ROWS = EARLY + CAMPAIGN + LATE


@pytest.fixture(scope="module")
def figures():
    return report_figures(ROWS)


def stances(support=0, with_amendments=0, neutral=0, oppose=0, no_position=0):
    return {
        "support": support,
        "support_with_amendments": with_amendments,
        "neutral": neutral,
        "oppose": oppose,
        "no_position": no_position,
    }


def test_headline_counts_submissions_organisations_countries_and_languages(figures):
    h = figures.as_dict()["headline"]
    assert h["submissions"] == 10
    assert h["submissions_by_verification"] == {"verified": 7, "unverified": 3}
    assert h["organisations"] == {
        "submitting": 7,
        "with_cosigners": 8,  # co-signer 8 never submitted; co-signer 7 did
        "verified": 5,
        "unverified": 2,
    }
    assert h["countries"] == 4  # MX GT US CA; the organisation without a country is not one
    assert h["languages"] == 2  # the respondents' languages: en and es (see below)


def test_headline_separates_campaign_members_from_distinct_positions(figures):
    h = figures.as_dict()["headline"]
    assert (h["campaigns"], h["campaign_members"], h["own_positions"]) == (1, 5, 5)
    assert h["distinct_positions"] == 6


def test_overall_distribution_counts_stances_priorities_and_shares(figures):
    overall = figures.as_dict()["distributions"]["overall"]
    assert overall["total"] == 10
    assert overall["stances"] == stances(support=5, with_amendments=1, neutral=1, oppose=2)
    assert overall["stance_shares"]["support"] == 0.5
    assert overall["priorities"] == {"1": 0, "2": 1, "3": 1, "4": 5, "5": 1}
    assert overall["priority_shares"]["4"] == 0.625
    assert overall["mean_priority"] == 30 / 8


def test_distribution_by_organisation_type(figures):
    by_type = figures.as_dict()["distributions"]["by_organisation_type"]
    assert {kind: t["stances"] for kind, t in by_type.items()} == {
        "academic": stances(with_amendments=1, oppose=1),
        "faith_based": stances(oppose=1),
        "international": stances(),
        "ngo": stances(support=2, neutral=1),
        "workers": stances(support=3),
    }
    assert by_type["international"]["total"] == 1  # a row without a stance still counts


def test_distribution_by_country_puts_missing_countries_under_unknown(figures):
    by_country = figures.as_dict()["distributions"]["by_country"]
    assert {c: t["total"] for c, t in by_country.items()} == {
        "CA": 1,
        "GT": 2,
        "MX": 2,
        "US": 4,
        "unknown": 1,
    }
    assert by_country["US"]["stances"] == stances(support=4)


def test_no_overall_position_is_counted_as_its_own_stance_not_as_neutral():
    rows = [
        submission(1, "A", 1, "no_position", 3, (), "es", day(1)),
        submission(2, "A", 2, "no_position", 2, (), "en", day(1)),
        submission(3, "A", 3, "neutral", 2, (), "en", day(2)),
    ]
    data = report_figures(rows).as_dict()
    overall = data["distributions"]["overall"]
    assert overall["stances"] == stances(neutral=1, no_position=2)
    assert overall["stance_shares"]["no_position"] == pytest.approx(2 / 3, abs=1e-6)
    assert data["distributions"]["items"]["A"]["overall"]["stances"]["no_position"] == 2
    assert data["distinct_positions"]["stances"]["no_position"] == 2
    assert data["timeline"][0]["stances"] == stances(no_position=2)


def test_an_international_organisation_is_a_country_group_of_its_own_but_no_country():
    rows = [
        submission(1, "A", 1, "support", 3, (), "en", day(1))._replace(
            organization_id=8, organization_name="Hemispheric", country=INTERNATIONAL_COUNTRY
        ),
        submission(2, "A", 1, "oppose", 3, (), "en", day(1)),  # Alpha, MX
        submission(3, "A", 7, "oppose", 3, (), "en", day(1)),  # Eta, no country given
    ]
    data = report_figures(rows).as_dict()
    by_country = data["distributions"]["by_country"]
    assert {code: t["total"] for code, t in by_country.items()} == {
        INTERNATIONAL: 1,
        "MX": 1,
        "unknown": 1,
    }
    assert data["headline"]["countries"] == 1  # Mexico; international is several, not one


def test_the_analysis_layer_knows_the_stored_code_of_international():
    assert INTERNATIONAL == INTERNATIONAL_COUNTRY


def test_a_submission_counts_in_each_population_it_names(figures):
    by_population = figures.as_dict()["distributions"]["by_population"]
    assert {p: t["total"] for p, t in by_population.items()} == {
        "asylum_seekers": 1,
        "labour_migrants": 5,
        "refugees": 2,
        "unknown": 2,
        "women_and_girls": 1,
    }
    assert by_population["refugees"]["stances"] == stances(support=1, oppose=1)


def test_unverified_organisations_are_counted_separately(figures):
    by_verification = figures.as_dict()["distributions"]["by_verification"]
    assert by_verification["unverified"]["stances"] == stances(
        support=1, with_amendments=1, oppose=1
    )
    assert by_verification["verified"]["total"] == 7


def test_distributions_per_item(figures):
    items = figures.as_dict()["distributions"]["items"]
    assert sorted(items) == ["A", "B"]
    assert items["A"]["overall"]["stances"] == stances(support=5, oppose=2)
    assert items["B"]["overall"]["total"] == 3
    assert items["B"]["by_organisation_type"]["academic"]["stances"] == stances(with_amendments=1)
    assert items["A"]["by_population"]["refugees"]["total"] == 2


def test_a_campaign_counts_once_in_the_distinct_positions_view(figures):
    distinct = figures.as_dict()["distinct_positions"]
    assert distinct["items"]["A"]["total"] == 3
    assert distinct["items"]["A"]["stances"] == stances(support=2, oppose=1)
    assert distinct["items"]["B"]["stances"] == stances(with_amendments=1, neutral=1)
    assert distinct["total"] == 6
    assert distinct["stances"] == stances(support=2, with_amendments=1, neutral=1, oppose=1)


def test_campaign_is_listed_once_with_its_organisations_and_representative(figures):
    (campaign,) = figures.as_dict()["campaigns"]
    assert campaign == {
        "key": "c1",
        "size": 5,
        "representative_id": 4,
        "dominant_stance": "support",
        "stances": stances(support=4, oppose=1),
        "items": ["A"],
        "organisation_count": 4,
        "organisations": [
            {"id": 3, "name": "Gamma"},
            {"id": 4, "name": "Delta"},
            {"id": 5, "name": "Epsilon"},
            {"id": 6, "name": "Zeta"},
        ],
    }


def test_campaign_lists_are_bounded_and_anonymous_members_counted_but_not_named():
    rows = [
        submission(20 - i, "A", organisation, "oppose", 1, (), "en", day(1), "big", name=name)
        for i, (organisation, name) in enumerate([(1, None), (2, None), (3, ""), (4, None)])
    ]
    (campaign,) = ReportFigures(organisation_list_limit=2).update(rows).result().campaigns
    assert campaign.organisation_count == 4
    assert campaign.organisations == [(1, "Alpha"), (2, "Beta")]
    assert campaign.representative_id == 17


def test_campaigns_are_sorted_by_size():
    rows = [
        submission(1, "A", 1, "support", 1, (), "en", day(1), "small"),
        submission(2, "A", 2, "oppose", 1, (), "en", day(1), "large"),
        submission(3, "A", 3, "oppose", 1, (), "en", day(1), "large"),
    ]
    assert [c.key for c in report_figures(rows).campaigns] == ["large", "small"]


def test_timeline_has_one_entry_per_utc_day_without_gaps(figures):
    timeline = figures.as_dict()["timeline"]
    assert [(d["date"], d["total"]) for d in timeline] == [
        ("2025-03-01", 2),
        ("2025-03-02", 1),
        ("2025-03-03", 5),
        ("2025-03-04", 0),
        ("2025-03-05", 1),
        ("2025-03-06", 1),
    ]
    assert timeline[0]["stances"] == stances(support=1, oppose=1)
    assert timeline[2]["stances"] == stances(support=4, oppose=1)
    assert figures.timeline[-1][0] == date(2025, 3, 6)


def test_languages_are_those_of_the_respondents_each_counted_once(figures):
    # Alpha wrote in Spanish twice; Beta once in English and once in French (a tie: the
    # lowest code); Gamma to Zeta in English; Eta wrote no text.
    assert figures.as_dict()["languages"] == {
        "en": {"count": 5, "share": round(5 / 7, 6)},
        "es": {"count": 1, "share": round(1 / 7, 6)},
        "no_text": {"count": 1, "share": round(1 / 7, 6)},
    }


def test_a_respondent_is_counted_by_its_texts_not_by_its_empty_submissions():
    at = day(1)
    rows = [
        submission(1, "A", 1, "support", 3, (), "fr", at),
        *(submission(n, code, 1, "support", 3, (), None, at) for n, code in ((2, "B"), (3, "C"))),
        submission(4, "A", 2, "oppose", 2, (), None, at)._replace(comment="Texte non reconnu"),
        submission(5, "A", 3, "oppose", 2, (), None, at),
    ]
    languages = report_figures(rows).as_dict()["languages"]
    assert {code: entry["count"] for code, entry in languages.items()} == {
        "fr": 1,
        "no_text": 1,
        "unrecognised": 1,
    }


def test_result_is_json_ready_and_independent_of_row_order(figures):
    data = figures.as_dict()
    assert json.loads(json.dumps(data)) == data
    assert report_figures(list(reversed(ROWS))).as_dict() == data


def test_no_rows_give_zeroes():
    data = report_figures([]).as_dict()
    assert data["headline"]["submissions"] == 0
    assert data["distributions"]["overall"]["stance_shares"]["support"] == 0.0
    assert data["timeline"] == [] and data["campaigns"] == []


def test_dominant_stance_breaks_ties_in_stance_order_and_ignores_missing():
    assert dominant_stance({"oppose": 2, "support": 2, None: 5}) == "support"
    assert dominant_stance({None: 3}) is None


def test_compare_gives_exact_deltas_against_a_previous_report(figures):
    previous = report_figures(EARLY).as_dict()
    change = compare(previous, figures.as_dict())
    assert change["submissions"] == {"previous": 3, "current": 10, "change": 7}
    assert change["organisations"] == {"previous": 2, "current": 7, "change": 5}
    assert change["organisations_with_cosigners"]["change"] == 4  # 4 -> 8
    assert change["campaigns"]["change"] == 1
    # item A: support 1/2 -> 5/7, oppose 1/2 -> 2/7
    assert change["stance_shifts"]["items"]["A"] == {
        "support": pytest.approx(21.4286, abs=1e-3),
        "support_with_amendments": 0.0,
        "neutral": 0.0,
        "oppose": pytest.approx(-21.4286, abs=1e-3),
        "no_position": 0.0,
    }
    # item B: neutral 1/1 -> 1/3
    assert change["stance_shifts"]["items"]["B"]["neutral"] == pytest.approx(-66.6667, abs=1e-3)
    # counting the campaign once, item A goes from 1/2 to 2/3 support
    assert change["distinct_stance_shifts"]["items"]["A"]["support"] == pytest.approx(
        16.6667, abs=1e-3
    )
    assert change["new_items"] == []
    assert change["new_campaigns"] == [
        {"key": "c1", "size": 5, "dominant_stance": "support", "items": ["A"]}
    ]


def test_compare_lists_new_items_and_skips_their_shifts():
    previous = report_figures(EARLY[:2]).as_dict()  # item A only
    change = compare(previous, report_figures(EARLY).as_dict())
    assert change["new_items"] == ["B"]
    assert list(change["stance_shifts"]["items"]) == ["A"]
    assert change["stance_shifts"]["overall"]["neutral"] == pytest.approx(33.3333, abs=1e-3)


@pytest.mark.parametrize("split", [lambda r: r.item_code, lambda r: r.id % 3])
def test_merged_states_of_parts_give_the_figures_of_the_whole(figures, split):
    # A consultation report counts each item on its own worker and merges the states: the
    # merged figures must be those of one pass over every row, whatever the split (by item, as
    # the workers do, or across items, campaigns and organisations).
    parts: dict[object, ReportFigures] = {}
    for row in ROWS:
        parts.setdefault(split(row), ReportFigures()).add(row)
    merged = ReportFigures()
    for part in parts.values():
        merged.merge(json.loads(json.dumps(part.state())))  # as stored between workers
    assert len(parts) > 1
    assert merged.result().as_dict() == figures.as_dict()


def test_merging_an_empty_state_changes_nothing(figures):
    merged = ReportFigures().update(ROWS).merge(ReportFigures().state())
    assert merged.result().as_dict() == figures.as_dict()


def test_merged_campaigns_name_the_lowest_ids_and_count_every_member():
    # Each part passes on only the names it could list; the merge must still list the
    # lowest named ids overall and count every member organisation.
    rows = [
        submission(10 + o, "A", o, "support", 3, (), "en", day(1), "c1", name=name)
        for o, name in ((7, ""), (6, None), (5, None), (4, None), (3, None), (2, ""))
    ]
    whole = ReportFigures(organisation_list_limit=2).update(rows).result().as_dict()
    merged = ReportFigures(organisation_list_limit=2)
    for half in (rows[::2], rows[1::2]):
        state = ReportFigures(organisation_list_limit=2).update(half).state()
        merged.merge(json.loads(json.dumps(state)))
    campaign = merged.result().as_dict()["campaigns"][0]
    assert campaign == whole["campaigns"][0]
    assert campaign["organisation_count"] == 6
    assert [o["id"] for o in campaign["organisations"]] == [3, 4]


def test_who_took_part_counts_each_submitting_organisation_once_by_type_and_country(figures):
    taking_part = {row.organization_id for row in ROWS}
    by_type, by_country = {}, {}
    for organisation in taking_part:
        _name, kind, country, _verified = ORGANISATIONS[organisation]
        by_type[kind] = by_type.get(kind, 0) + 1
        by_country[country or "unknown"] = by_country.get(country or "unknown", 0) + 1

    participants = figures.as_dict()["participants"]

    assert participants["by_organisation_type"] == by_type
    assert participants["by_country"] == by_country
    assert sum(by_type.values()) == figures.headline.organisations_submitting == len(taking_part)
    # Largest first: the briefing lists the first few.
    counts = list(participants["by_country"].values())
    assert counts == sorted(counts, reverse=True)
