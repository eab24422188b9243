"""The organisation × item stance matrix and the coalitions found in it."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

from app.analysis.coalitions import (
    METHOD,
    NO_POSITION,
    NO_STANCE,
    StanceMatrix,
    find_coalitions,
)
from app.analysis.records import Submission

ITEMS = ("A", "B", "C")
AT = datetime(2025, 3, 1, tzinfo=UTC)


def position(
    organisation: int,
    item: str,
    stance: str | None,
    cosigners: tuple[int, ...] = (),
    name: str | None = None,
    id: int = 0,
) -> Submission:
    return Submission(
        id=id,
        reference=f"R-{id}",
        item_code=item,
        organization_id=organisation,
        organization_name=f"Org {organisation}" if name is None else name,
        organization_type="ngo",
        country="MX",
        verified=True,
        stance=stance,
        priority=None,
        populations=(),
        language="en",
        comment="",
        amendment="",
        submitted_at=AT,
        campaign_key=None,
        cosigners=cosigners,
    )


def on_every_item(organisation: int, stance: str, **kwargs) -> list[Submission]:
    return [position(organisation, item, stance, **kwargs) for item in ITEMS]


def two_camps_and_a_loner() -> list[Submission]:
    rows = []
    for organisation in (1, 2, 3):
        rows += on_every_item(organisation, "support")
    for organisation in (4, 5, 6):
        rows += on_every_item(organisation, "oppose")
    rows += on_every_item(7, "neutral")
    return rows


def member_ids(result) -> list[list[int]]:
    return [[i for i, _ in coalition.members] for coalition in result.coalitions]


def test_two_obvious_coalitions_are_found_exactly_and_the_loner_left_out():
    result = StanceMatrix().update(two_camps_and_a_loner()).result()
    assert member_ids(result) == [[1, 2, 3], [4, 5, 6]]
    supporters, opponents = result.coalitions
    assert {item: s.stance for item, s in supporters.shared.items()} == dict.fromkeys(
        ITEMS, "support"
    )
    assert {item: s.stance for item, s in opponents.shared.items()} == dict.fromkeys(
        ITEMS, "oppose"
    )
    assert supporters.cohesion == 1.0
    assert supporters.shared["A"].answered == 3 and supporters.shared["A"].agreeing == 3
    assert [row[0] for row in result.rows] == [1, 2, 3, 4, 5, 6, 7]  # the loner is in the matrix
    assert result.rows[6] == (7, "Org 7", ("neutral", "neutral", "neutral"))


def test_close_but_not_identical_positions_form_one_coalition_with_its_majority():
    rows = on_every_item(1, "support") + on_every_item(2, "support")
    rows += [
        position(3, "A", "support"),
        position(3, "B", "support"),
        position(3, "C", "support_with_amendments"),
    ]
    rows += on_every_item(4, "oppose")
    result = StanceMatrix().update(rows).result()
    assert member_ids(result) == [[1, 2, 3]]
    (coalition,) = result.coalitions
    assert coalition.shared["C"].stance == "support"
    assert (coalition.shared["C"].answered, coalition.shared["C"].agreeing) == (3, 2)
    assert coalition.cohesion == 8 / 9


def test_co_signers_take_the_stance_of_the_positions_they_co_signed():
    rows = two_camps_and_a_loner() + on_every_item(8, "support", cosigners=(9,))
    result = StanceMatrix(organisation_names={9: "Cosigner"}).update(rows).result()
    assert member_ids(result)[0] == [1, 2, 3, 8, 9]
    assert (9, "Cosigner") in result.coalitions[0].members
    assert dict((i, s) for i, _, s in result.rows)[9] == ("support", "support", "support")


def test_an_organisations_own_position_outweighs_what_it_co_signed():
    rows = [position(1, "A", "support", cosigners=(2,)), position(2, "A", "oppose")]
    assert StanceMatrix().update(rows).positions()[2] == {"A": "oppose"}


def test_several_positions_on_one_item_count_by_majority():
    rows = [position(1, "A", "oppose"), position(1, "A", "neutral"), position(1, "A", "neutral")]
    assert StanceMatrix().update(rows).positions()[1] == {"A": "neutral"}


def test_organisations_with_a_stance_on_fewer_than_two_items_are_not_clustered():
    rows = two_camps_and_a_loner()
    rows += [position(8, "A", "support"), position(9, "A", None), position(9, "B", "support")]
    result = StanceMatrix().update(rows).result()
    assert member_ids(result) == [[1, 2, 3], [4, 5, 6]]
    assert result.too_few_items == 2
    assert dict((i, s) for i, _, s in result.rows)[9] == (NO_STANCE, "support", None)


def test_no_overall_position_is_shown_in_the_matrix_but_neither_agrees_nor_disagrees():
    rows = on_every_item(1, "support") + on_every_item(2, "support")
    # Org 3 supports A and B and states no overall position on C; org 4 has no position on two
    # items, too few scored answers to be compared with anyone.
    rows += [position(3, "A", "support"), position(3, "B", "support")]
    rows += [position(3, "C", NO_POSITION)]
    rows += [position(4, "A", "oppose"), position(4, "B", NO_POSITION)]
    rows += [position(4, "C", NO_POSITION)]
    result = StanceMatrix().update(rows).result()
    matrix = {i: stances for i, _, stances in result.rows}
    assert matrix[3] == ("support", "support", NO_POSITION)
    assert matrix[4] == ("oppose", NO_POSITION, NO_POSITION)
    (coalition,) = result.coalitions
    assert [i for i, _ in coalition.members] == [1, 2, 3]  # C unanswered, not a disagreement
    # the shared stance on C is the members' with a stance on the scale; cohesion unharmed
    assert (coalition.shared["C"].stance, coalition.shared["C"].answered) == ("support", 2)
    assert coalition.cohesion == 1.0
    assert result.too_few_items == 1  # org 4
    assert "no overall position" in METHOD.lower()


def test_a_coalition_whose_members_all_state_no_position_on_an_item_shares_none_on_it():
    rows = [position(o, item, "oppose") for o in (1, 2) for item in ("A", "B")]
    rows += [position(1, "C", NO_POSITION), position(2, "C", NO_POSITION)]
    (coalition,) = StanceMatrix().update(rows).result().coalitions
    assert set(coalition.shared) == {"A", "B"}


def test_organisations_that_share_fewer_than_two_items_are_not_grouped():
    rows = [position(1, "A", "support"), position(1, "B", "support")]
    rows += [position(2, "B", "support"), position(2, "C", "support")]
    assert StanceMatrix().update(rows).result().coalitions == []


def test_patterns_beyond_the_cap_join_the_closest_coalition_or_stay_out():
    rows = two_camps_and_a_loner()
    rows += [
        position(8, "A", "support"),
        position(8, "B", "support"),
        position(8, "C", "support_with_amendments"),
    ]
    result = StanceMatrix().update(rows).result(max_profiles=2)
    assert member_ids(result) == [[1, 2, 3, 8], [4, 5, 6]]
    assert result.clustered == 8
    assert result.not_joined == 1  # the neutral loner is halfway from both camps


def test_the_cap_leaves_obvious_coalitions_unchanged():
    rows = two_camps_and_a_loner()
    assert member_ids(StanceMatrix().update(rows).result(max_profiles=1)) == member_ids(
        StanceMatrix().update(rows).result()
    )


def test_result_does_not_depend_on_row_order():
    rows = two_camps_and_a_loner() + on_every_item(8, "support_with_amendments")
    expected = StanceMatrix().update(rows).result().as_dict()
    random.Random(3).shuffle(rows)
    assert StanceMatrix().update(rows).result().as_dict() == expected


def test_anonymous_positions_are_counted_but_kept_out_of_the_matrix():
    rows = two_camps_and_a_loner() + [position(1, "D", "oppose", name="")]
    matrix = StanceMatrix().update(rows)
    result = matrix.result()
    assert result.anonymous_positions == 1
    assert "D" not in result.items
    assert (1, "D") in matrix.answered()


def test_answered_includes_co_signing():
    matrix = StanceMatrix().update([position(1, "A", None, cosigners=(5,))])
    assert matrix.answered() == {(1, "A"), (5, "A")}


def test_as_dict_carries_the_method_and_is_json_ready():
    data = StanceMatrix().update(two_camps_and_a_loner()).result().as_dict()
    assert data["method"] == METHOD and "average" in METHOD
    assert json.loads(json.dumps(data)) == data
    assert data["items"] == ["A", "B", "C"]
    assert data["matrix"][0] == {"id": 1, "name": "Org 1", "stances": ["support"] * 3}
    assert data["coalitions"][1]["members"][0] == {"id": 4, "name": "Org 4"}
    assert (data["organisations"], data["clustered"], data["in_coalitions"]) == (7, 7, 6)


def test_find_coalitions_groups_identical_answers_of_a_mass_campaign():
    positions = {i: dict.fromkeys(ITEMS, "support") for i in range(1, 501)}
    positions[501] = dict.fromkeys(ITEMS, "oppose")
    grouping = find_coalitions(positions, ITEMS)
    assert [len(group) for group in grouping.groups] == [500]


def test_matrices_of_parts_merge_into_the_matrix_of_the_whole():
    # Each item of a consultation report is read by its own worker; the fan-in merges their
    # states. Co-signatures, several positions on one item, anonymous positions included.
    rows = (
        two_camps_and_a_loner()
        + on_every_item(8, "support_with_amendments")
        + [
            position(1, "A", "oppose"),
            position(1, "A", "oppose"),
            position(9, "B", "neutral", cosigners=(2, 10)),
            position(11, "C", "oppose", name=""),
        ]
    )
    whole = StanceMatrix().update(rows)
    by_item: dict[str, StanceMatrix] = {}
    for row in rows:
        by_item.setdefault(row.item_code, StanceMatrix()).add(row)
    merged = StanceMatrix()
    for part in by_item.values():
        merged.merge(json.loads(json.dumps(part.state())))
    assert merged.unnamed() == {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}  # names travel apart
    merged.add_names({i: f"Org {i}" for i in merged.unnamed()})
    whole.add_names({10: "Org 10"})  # a co-signer that never submitted
    assert len(by_item) == 3
    assert merged.result().as_dict() == whole.result().as_dict()
    assert merged.answered() == whole.answered()
    assert merged.positions() == whole.positions()
