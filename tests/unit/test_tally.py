"""The pure stance and priority tally."""

from app.analysis.tally import STANCES, tally


def test_counts_stances_and_priorities_with_weights():
    result = tally([("support", 5, 2), ("oppose", 1, 1), ("support", 4, 1)])
    assert result.total == 4
    assert result.stances == {
        "support": 3,
        "support_with_amendments": 0,
        "neutral": 0,
        "oppose": 1,
        "no_position": 0,
    }
    assert result.priorities == {1: 1, 2: 0, 3: 0, 4: 1, 5: 2}
    assert result.mean_priority == (1 + 4 + 5 * 2) / 4


def test_rows_without_stance_or_priority_count_in_the_total_only():
    result = tally([(None, None, 3), ("neutral", None, 1)])
    assert result.total == 4
    assert result.stances["neutral"] == 1
    assert sum(result.priorities.values()) == 0
    assert result.mean_priority is None


def test_empty_input_gives_zeroes_for_every_stance():
    result = tally([])
    assert result.total == 0
    assert set(result.stances) == set(STANCES)
    assert result.stance_share("support") == 0.0


def test_as_dict_is_json_ready():
    data = tally([("support", 3, 1)]).as_dict()
    assert data["priorities"]["3"] == 1
    assert data["stances"]["support"] == 1


def test_no_overall_position_is_counted_as_its_own_stance_not_as_neutral():
    result = tally([("no_position", 3, 2), ("neutral", 2, 1)])
    assert result.stances["no_position"] == 2
    assert result.stances["neutral"] == 1
    assert result.stance_share("no_position") == 2 / 3
