"""The services report input faults as 422 with the field at fault (InvalidInput), and keep 409
(InvalidState) for what the data's state refuses: moderators' notes, reasons and redactions, a
batch of drafts (issue 17)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.accounts import profile
from app.errors import InvalidInput
from app.extensions import db
from app.feedback import batch
from app.models import Feedback, FeedbackState, User
from app.moderation import redactions
from app.moderation import services as moderation
from tests.helpers.web import DEMO_PASSWORD

pytestmark = [pytest.mark.postgres]


def _id_of(model, *conditions) -> int:  # noqa: ANN001
    return db.session.scalar(select(model.id).where(*conditions).order_by(model.id))


def _moderator() -> int:
    return _id_of(User, User.email == "moderator@example.org")


def _submitted() -> int:
    return _id_of(Feedback, Feedback.state == FeedbackState.SUBMITTED)


def _published() -> int:
    return _id_of(Feedback, Feedback.state == FeedbackState.PUBLISHED)


def refusal(call) -> InvalidInput:  # noqa: ANN001
    with pytest.raises(InvalidInput) as refused:
        call()
    assert refused.value.status_code == 422
    return refused.value


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: moderation.add_note(_moderator(), _submitted(), "  "), "body"),
        (lambda: moderation.add_note(_moderator(), _submitted(), "x" * 10_001), "body"),
        (lambda: moderation.request_changes(_moderator(), _submitted(), 1, ""), "message"),
        (
            lambda: moderation.reject_feedback(_moderator(), _submitted(), 1, code="no-such"),
            "code",
        ),
        (
            lambda: redactions.redact_text(
                _moderator(), _published(), "comment", "words it never had", "a name"
            ),
            "text",
        ),
        (lambda: redactions.redact(_moderator(), _published(), "comment", 0, 5, ""), "reason"),
        (lambda: redactions.redact(_moderator(), _published(), "comment", 0, 10**6, "x"), "start"),
        (lambda: redactions.redact(_moderator(), _published(), "stance", 0, 5, "x"), "field"),
    ],
)
def test_a_moderators_input_fault_is_a_422_naming_its_field(seeded, call, field):
    with seeded.app_context():
        assert refusal(call).field == field


def test_a_batch_of_no_drafts_is_an_input_fault(seeded):
    with seeded.app_context():
        member = _id_of(User, User.email == "stakeholder@example.org")
        assert refusal(lambda: batch.save_drafts(member, [])).field == "drafts"


def _stakeholder() -> int:
    return _id_of(User, User.email == "stakeholder@example.org")


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: profile.update_profile(_stakeholder(), "  ", "en"), "name"),
        (lambda: profile.update_profile(_stakeholder(), "Ana", "xx"), "locale"),
        (lambda: profile.create_api_token(_stakeholder(), " "), "name"),
        (
            lambda: profile.request_email_change(
                _stakeholder(), DEMO_PASSWORD, "stakeholder@example.org"
            ),
            "new_email",
        ),
    ],
    ids=["empty name", "unknown language", "unnamed token", "same email"],
)
def test_account_input_faults_are_422_naming_the_field(seeded, call, field):
    with seeded.app_context():
        assert refusal(call).field == field
