"""Coverage of invited organisations: who has not answered which items."""

from __future__ import annotations

from datetime import UTC, datetime

from app.analysis.coalitions import StanceMatrix
from app.analysis.coverage import invitation_coverage
from app.analysis.records import Submission

INVITED = [(3, "Gamma"), (1, "Alpha"), (2, "Beta")]


def test_lists_unanswered_items_and_the_share_answered_per_item():
    answered = {(1, "A"), (1, "B"), (2, "A"), (9, "A")}  # 9 was not invited
    coverage = invitation_coverage(INVITED, ["A", "B"], answered)
    assert coverage.as_dict() == {
        "invited": 3,
        "answered_all": 1,
        "answered_none": 1,
        "items": {
            "A": {"invited": 3, "answered": 2, "share": 0.666667},
            "B": {"invited": 3, "answered": 1, "share": 0.333333},
        },
        "missing": [
            {"id": 2, "name": "Beta", "items": ["B"]},
            {"id": 3, "name": "Gamma", "items": ["A", "B"]},
        ],
    }


def test_co_signing_counts_as_answering():
    row = Submission(
        id=1,
        reference="R-1",
        item_code="A",
        organization_id=1,
        organization_name="Alpha",
        organization_type="ngo",
        country="MX",
        verified=True,
        stance="support",
        priority=None,
        populations=(),
        language="en",
        comment="",
        amendment="",
        submitted_at=datetime(2025, 3, 1, tzinfo=UTC),
        campaign_key=None,
        cosigners=(3,),
    )
    answered = StanceMatrix().update([row]).answered()
    coverage = invitation_coverage(INVITED, ["A"], answered)
    assert [m.organisation_id for m in coverage.missing] == [2]
    assert coverage.items[0].share == 2 / 3


def test_no_invitations_give_zero_shares():
    coverage = invitation_coverage([], ["A"], set())
    assert coverage.items[0].share == 0.0
    assert coverage.missing == [] and coverage.invited == 0
