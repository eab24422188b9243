"""Flag reasons are stored as data by the worker and worded in each moderator's language."""

from __future__ import annotations

import html
import json

import pytest
from flask_babel import force_locale
from sqlalchemy import select, update

from app import create_app
from app.extensions import db
from app.models import Feedback, FeedbackState, FlagKind, Item, ModerationFlag, Organization, User
from app.models.base import utcnow
from app.moderation import flagging
from app.vocabulary import flag_reason
from tests.helpers.services import app_settings

COMMENT = (
    "Write to our lawyer at ana.perez@example.org or see https://www.shelters.example/cases "
    "for the files of the families we accompany at the border."
)
# (language, the wording of the personal data reason, of the link, of the organisation)
EXPECTED = {
    "es": (
        "Datos personales en el texto público: una dirección de correo electrónico (a…@example.org)"
        " en el comentario.",
        "Enlaces en el texto público: un enlace a shelters.example en el comentario.",
        "La organización Asociación Reason Test todavía no está verificada.",
    ),
    "fr": (
        "Données personnelles dans le texte public\u00a0: une adresse e-mail (a…@example.org) dans"
        " le commentaire.",
        "Liens dans le texte public\u00a0: un lien vers shelters.example dans le commentaire.",
        "L'organisation Asociación Reason Test n'est pas encore vérifiée.",
    ),
    "en": (
        "Personal data in public text: an email address (a…@example.org) in the comment.",
        "Links in public text: a link to shelters.example in the comment.",
        "Asociación Reason Test is not verified yet.",
    ),
}


@pytest.fixture
def flagged(seeded) -> int:
    """A submission of an unverified organisation, flagged as the worker does (no request)."""
    with seeded.app_context():
        item = db.session.scalar(select(Item).order_by(Item.id))
        organization = Organization(name="Asociación Reason Test", country="MX")
        db.session.add(organization)
        db.session.flush()
        feedback = Feedback(
            reference="REASON-1",
            item_id=item.id,
            item_version_id=item.versions[-1].id,
            organization_id=organization.id,
            state=FeedbackState.SUBMITTED,
            comment=COMMENT,
            submitted_at=utcnow(),
        )
        db.session.add(feedback)
        db.session.commit()
        flagging.flag_feedback(feedback.id)
        return feedback.id


def moderator_reading_in(app, client, login, locale: str):
    with app.app_context():
        db.session.execute(
            update(User).where(User.email == "moderator@example.org").values(locale=locale)
        )
        db.session.commit()
    login(client, "moderator@example.org")
    return client


@pytest.mark.postgres
def test_the_worker_stores_reasons_as_data_not_english_words(seeded, flagged):
    with seeded.app_context():
        details = dict(
            db.session.execute(
                select(ModerationFlag.kind, ModerationFlag.detail).where(
                    ModerationFlag.feedback_id == flagged
                )
            ).all()
        )
    reason = json.loads(details[FlagKind.PERSONAL_DATA])
    assert reason["code"] == "personal_data"
    assert reason["found"] == [{"code": "email", "field": "comment", "masked": "a…@example.org"}]
    assert "ana.perez" not in details[FlagKind.PERSONAL_DATA]
    assert "Personal data" not in details[FlagKind.PERSONAL_DATA]
    assert json.loads(details[FlagKind.UNVERIFIED_ORGANIZATION])["code"] == (
        "unverified_organization"
    )


@pytest.mark.postgres
@pytest.mark.parametrize("locale", ["es", "fr", "en"])
def test_a_moderator_reads_the_workers_reasons_in_their_language(
    seeded, flagged, client, login, locale
):
    moderator = moderator_reading_in(seeded, client, login, locale)
    detail_page = html.unescape(moderator.get(f"/moderation/feedback/{flagged}").text)
    queue_page = html.unescape(moderator.get("/moderation/?flag=personal_data").text)
    for wording in EXPECTED[locale]:
        assert wording in detail_page
    assert EXPECTED[locale][0] in queue_page
    assert "{&quot;code" not in detail_page and '{"code"' not in detail_page


@pytest.fixture
def request_app(tmp_path):
    """An app for wording reasons only; it never touches its database."""
    return create_app(app_settings(tmp_path, "sqlite://", None, "flag-reasons"))


@pytest.mark.parametrize(
    ("detail", "locale", "expected"),
    [
        (flagging.reason_json("campaign", size=30), "es", "campaña de 30 "),
        (flagging.reason_json("campaign", size=30), "fr", "campagne de 30 "),
        (flagging.reason_json("campaign", size=1), "en", "Was part of a campaign"),
        (
            flagging.reason_json(
                "short_text", found=[{"code": "short_text", "field": "comment", "letters": 5}]
            ),
            "fr",
            "Le commentaire est très court (5 lettres).",
        ),
        (
            flagging.reason_json(
                "profanity",
                found=[{"code": "profanity", "field": "amendment", "masked": "m****", "count": 1}],
                more=12,
            ),
            "es",
            "m**** en la enmienda propuesta y 12 más.",
        ),
        (
            flagging.reason_json("unverified_organization", name="Org X", refused=True),
            "es",
            "Org X",
        ),
    ],
)
def test_each_kind_of_reason_is_worded_in_the_readers_language(
    request_app, detail, locale, expected
):
    with request_app.test_request_context(), force_locale(locale):
        assert expected in flag_reason(detail)


@pytest.mark.parametrize(
    "stored",
    [
        "Personal data in public text: an email address (a…@example.org) in the comment.",
        "",
        "42",
        '["not", "a", "reason"]',
    ],
)
def test_a_reason_stored_as_text_before_the_change_is_shown_as_it_is(request_app, stored):
    with request_app.test_request_context(), force_locale("es"):
        assert flag_reason(stored) == stored
