"""My account over HTTP: profile, password, email change, API tokens, data download, deletion."""

from __future__ import annotations

import hashlib
import json
import re
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select, update

from app.accounts import profile
from app.accounts import services as accounts
from app.dev.demo import DEMO_ORGANIZATION
from app.extensions import db
from app.models import (
    ApiToken,
    AuditEvent,
    Feedback,
    FeedbackRevision,
    Notification,
    Organization,
    User,
    UserSession,
)
from tests.helpers.database import user_by_email
from tests.helpers.web import DEMO_PASSWORD, submit_form

pytestmark = [pytest.mark.postgres]

STAKEHOLDER = "stakeholder@example.org"
NEW_PASSWORD = "a river runs through the quiet valley"
FEEDBACK_FORM = "/c/leaders-summit-2021-migration/items/P1/feedback"


def user_with_id(app, user_id: int) -> User:
    with app.app_context():
        user = db.session.get(User, user_id)
        db.session.expunge_all()
        return user


def audit_actions(app, user_id: int) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.actor_id == user_id)
                .order_by(AuditEvent.id)
            )
        )


def sign_in_status(client, email: str, password: str) -> int:
    """302 when the credentials work; the login page (200) when they do not."""
    return submit_form(client, "/auth/login", email=email, password=password).status_code


def email_change_link_in_outbox(app, to: str) -> str:
    """The path of the confirmation link written to the outbox for `to` (no worker needed)."""
    with app.app_context():
        body = db.session.scalar(select(Notification.body_text).where(Notification.to_email == to))
    assert body is not None, f"no message to {to} in the outbox"
    return urlsplit(re.search(r"https?://\S+", body).group(0)).path


def make_lead(app, email: str) -> None:
    """Only a lead submits the organisation's position; these tests need the member to."""
    with app.app_context():
        db.session.execute(update(User).where(User.email == email).values(is_lead=True))
        db.session.commit()


def submit_feedback(client, comment: str) -> None:
    response = submit_form(
        client, FEEDBACK_FORM, stance="neutral", priority="2", comment=comment, submit="Submit"
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


# --- profile --------------------------------------------------------------------------------


def test_visitor_is_sent_to_sign_in_for_my_account(seeded, client):
    response = client.get("/account/")
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


def test_profile_page_shows_the_persons_name_and_email(seeded, client, login):
    login(client, STAKEHOLDER)
    page = client.get("/account/").get_data(as_text=True)
    assert 'value="Sam Stakeholder"' in page
    assert STAKEHOLDER in page
    assert 'for="locale"' in page


def test_the_accounts_language_is_chosen_by_name_on_the_profile(seeded, client, login):
    login(client, STAKEHOLDER)
    page = client.get("/account/").get_data(as_text=True)
    select_html = re.search(
        r'<select class="govuk-select" id="locale" name="locale".*?</select>', page, re.S
    )[0]
    options = re.findall(r'<option value="(\w+)"[^>]*>([^<]+)</option>', select_html)
    assert options == [("en", "English"), ("es", "Español"), ("fr", "Français")]
    assert "changes this visit only" in page  # the header's switch is not the account's language
    assert 'class="govuk-summary-list' in page and 'class="moj-sub-navigation' in page


def test_saving_the_profile_changes_name_and_language_and_this_sessions_locale(
    seeded, client, login
):
    login(client, STAKEHOLDER)
    response = submit_form(client, "/account/", name="Samira Stakeholder", locale="es")
    assert response.status_code == 302
    user = user_by_email(seeded, STAKEHOLDER)
    assert (user.name, user.locale) == ("Samira Stakeholder", "es")
    with client.session_transaction() as session:
        assert session["locale"] == "es"
    assert '<html lang="es"' in client.get("/account/").get_data(as_text=True)
    assert "user.update_profile" in audit_actions(seeded, user.id)


def test_profile_without_a_name_is_shown_again_with_the_error(seeded, client, login):
    login(client, STAKEHOLDER)
    response = submit_form(client, "/account/", name="", locale="fr")
    assert response.status_code == 422
    assert 'class="govuk-error-summary"' in response.get_data(as_text=True)
    assert user_by_email(seeded, STAKEHOLDER).locale == "en"


# --- password -------------------------------------------------------------------------------


def test_changing_the_password_signs_out_other_sessions_but_keeps_this_one(seeded, app, login):
    here, elsewhere = app.test_client(), app.test_client()
    login(here, STAKEHOLDER)
    login(elsewhere, STAKEHOLDER)
    before = user_by_email(seeded, STAKEHOLDER)

    response = submit_form(
        here, "/account/password", current_password=DEMO_PASSWORD, new_password=NEW_PASSWORD
    )

    assert response.status_code == 302
    assert here.get("/account/").status_code == 200
    kicked_out = elsewhere.get("/account/")
    assert kicked_out.status_code == 302
    assert "/auth/login" in kicked_out.headers["Location"]
    after = user_by_email(seeded, STAKEHOLDER)
    assert after.password_hash != before.password_hash
    assert after.password_hash.startswith("$argon2id$")
    assert "user.change_password" in audit_actions(seeded, after.id)
    assert sign_in_status(app.test_client(), STAKEHOLDER, DEMO_PASSWORD) == 200
    assert sign_in_status(app.test_client(), STAKEHOLDER, NEW_PASSWORD) == 302


def test_wrong_current_password_refuses_the_password_change(seeded, app, login):
    here, elsewhere = app.test_client(), app.test_client()
    login(here, STAKEHOLDER)
    login(elsewhere, STAKEHOLDER)
    before = user_by_email(seeded, STAKEHOLDER)

    response = submit_form(
        here, "/account/password", current_password="not my password", new_password=NEW_PASSWORD
    )

    assert response.status_code == 422
    assert "Your current password is not right." in response.get_data(as_text=True)
    assert user_by_email(seeded, STAKEHOLDER).password_hash == before.password_hash
    assert elsewhere.get("/account/").status_code == 200
    assert "user.change_password" not in audit_actions(seeded, before.id)


def test_weak_new_password_is_refused_and_the_form_shown_again(seeded, client, login):
    login(client, STAKEHOLDER)
    before = user_by_email(seeded, STAKEHOLDER)
    response = submit_form(
        client, "/account/password", current_password=DEMO_PASSWORD, new_password="password"
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'class="govuk-error-summary"' in page
    assert "Use at least 12 characters." in page
    assert 'name="new_password"' in page
    assert user_by_email(seeded, STAKEHOLDER).password_hash == before.password_hash


def test_the_service_refuses_a_weak_password_too(seeded):
    user = user_by_email(seeded, STAKEHOLDER)
    with seeded.test_request_context(), pytest.raises(accounts.WeakPassword):
        profile.change_password(user.id, DEMO_PASSWORD, "stakeholder-password", keep_session=None)


# --- email address --------------------------------------------------------------------------


@pytest.mark.worker
def test_email_change_is_confirmed_by_the_link_mailed_to_the_new_address(
    seeded, app, client, login, celery_worker, mail_catcher
):
    login(client, STAKEHOLDER)
    response = submit_form(
        client, "/account/email", current_password=DEMO_PASSWORD, new_email="New@Example.org"
    )
    assert response.status_code == 200
    assert "Check the new address" in response.get_data(as_text=True)
    assert user_by_email(seeded, STAKEHOLDER) is not None  # the old address stays until confirmed

    message = mail_catcher.wait_for("new@example.org", "Confirm your new email")
    path = mail_catcher.link_in(message)
    assert path.startswith("/account/email/confirm/")
    with seeded.app_context():  # the old address is sent nothing
        assert list(db.session.scalars(select(Notification.to_email))) == ["new@example.org"]

    confirmed = client.get(path)
    assert confirmed.status_code == 302
    user = user_by_email(seeded, "new@example.org")
    assert user is not None and user.name == "Sam Stakeholder"
    assert user_by_email(seeded, STAKEHOLDER) is None
    assert "user.change_email" in audit_actions(seeded, user.id)

    again = client.get(path)
    assert again.status_code == 400
    assert "already been used" in again.get_data(as_text=True)
    assert sign_in_status(app.test_client(), "new@example.org", DEMO_PASSWORD) == 302
    assert sign_in_status(app.test_client(), STAKEHOLDER, DEMO_PASSWORD) == 200


def test_wrong_current_password_refuses_the_email_change(seeded, client, login):
    login(client, STAKEHOLDER)
    response = submit_form(
        client, "/account/email", current_password="not my password", new_email="x@example.org"
    )
    assert response.status_code == 422
    assert "Your current password is not right." in response.get_data(as_text=True)
    with seeded.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(Notification)) == 0


def test_email_change_to_an_address_in_use_answers_the_same_and_mails_nobody(seeded, client, login):
    login(client, STAKEHOLDER)
    response = submit_form(
        client, "/account/email", current_password=DEMO_PASSWORD, new_email="lead@example.org"
    )
    assert response.status_code == 200
    assert "Check the new address" in response.get_data(as_text=True)
    with seeded.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(Notification)) == 0
    assert user_by_email(seeded, STAKEHOLDER) is not None


def test_email_change_link_is_refused_when_the_address_was_taken_meanwhile(seeded, client, login):
    login(client, STAKEHOLDER)
    submit_form(
        client, "/account/email", current_password=DEMO_PASSWORD, new_email="later@example.org"
    )
    path = email_change_link_in_outbox(seeded, "later@example.org")
    with seeded.app_context():
        accounts.create_user("later@example.org", "Someone Else", NEW_PASSWORD)
        db.session.commit()

    response = client.get(path)

    assert response.status_code == 409
    assert "Another account uses this email address now" in response.get_data(as_text=True)
    assert user_by_email(seeded, STAKEHOLDER) is not None
    assert user_by_email(seeded, "later@example.org").name == "Someone Else"


def test_a_forged_email_change_link_is_refused(seeded, client):
    response = client.get("/account/email/confirm/not-a-real-token")
    assert response.status_code == 400
    assert "This link is not valid." in response.get_data(as_text=True)


# --- API tokens -----------------------------------------------------------------------------


def create_token(client, name: str) -> str:
    response = submit_form(client, "/account/tokens", name=name)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, no-store"
    return re.search(r'value="(cst_[A-Za-z0-9_-]+)"', response.get_data(as_text=True)).group(1)


def test_api_token_secret_is_shown_once_and_stored_only_as_a_hash(seeded, client, login):
    login(client, STAKEHOLDER)
    secret = create_token(client, "Monthly script")
    assert len(secret) > 40

    listing = client.get("/account/tokens").get_data(as_text=True)
    assert "Monthly script" in listing
    assert secret not in listing
    with seeded.app_context():
        token = db.session.scalar(
            select(ApiToken).where(
                ApiToken.token_hash == hashlib.sha256(secret.encode()).hexdigest()
            )
        )
        assert token is not None and token.name == "Monthly script"
        assert db.session.scalar(select(ApiToken).where(ApiToken.token_hash == secret)) is None
        assert token.last_used_at is None
        caller = profile.caller_for_api_token(secret)
        assert caller.user.email == STAKEHOLDER
        assert caller.use_to_note
        assert db.session.get(ApiToken, token.id).last_used_at is None  # reading writes nothing
        assert profile.note_token_use(caller.token_id)
        db.session.expire_all()
        assert db.session.get(ApiToken, token.id).last_used_at is not None
        assert profile.caller_for_api_token(secret[:-1] + "x") is None


def test_a_new_token_is_announced_in_a_banner_and_each_tokens_state_is_a_tag(seeded, client, login):
    login(client, STAKEHOLDER)
    response = submit_form(client, "/account/tokens", name="Nightly export")
    page = response.get_data(as_text=True)
    banner = re.search(r'<div class="govuk-notification-banner.*?</div>\s*</div>', page, re.S)[0]
    assert "Your new token “Nightly export”" in banner and 'readonly="readonly"' in banner
    listing = client.get("/account/tokens").get_data(as_text=True)
    assert re.search(r'govuk-tag--green">\s*Active', listing)
    assert "Revoke “Nightly export”" in listing


def test_a_revoked_token_no_longer_identifies_its_owner(seeded, client, login):
    login(client, STAKEHOLDER)
    secret = create_token(client, "Old laptop")
    with seeded.app_context():
        token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.name == "Old laptop"))

    response = submit_form(client, "/account/tokens", f"/account/tokens/{token_id}/revoke")

    assert response.status_code == 302
    assert "Revoked on" in client.get("/account/tokens").get_data(as_text=True)
    with seeded.app_context():
        assert db.session.get(ApiToken, token_id).revoked_at is not None
        assert profile.caller_for_api_token(secret) is None


def test_revoking_another_persons_token_is_not_found(seeded, app, login):
    theirs, mine = app.test_client(), app.test_client()
    login(theirs, "lead@example.org")
    secret = create_token(theirs, "Lead's integration")
    with seeded.app_context():
        token_id = db.session.scalar(select(ApiToken.id))
    login(mine, STAKEHOLDER)

    response = submit_form(mine, "/account/tokens", f"/account/tokens/{token_id}/revoke")

    assert response.status_code == 404
    with seeded.app_context():
        assert db.session.get(ApiToken, token_id).revoked_at is None
        assert profile.caller_for_api_token(secret).user.email == "lead@example.org"


# --- download my data -----------------------------------------------------------------------


def test_export_holds_own_data_and_nothing_of_other_organisations(seeded, client, login):
    make_lead(seeded, STAKEHOLDER)
    login(client, STAKEHOLDER)
    submit_feedback(client, "Our own careful words")
    create_token(client, "Exporter")

    response = client.get("/account/export")

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    body = response.get_data(as_text=True)
    data = json.loads(body)
    assert data["profile"]["email"] == STAKEHOLDER
    assert data["organization"] == {"name": DEMO_ORGANIZATION}
    # What this person wrote: the demo's draft on TF-AP-1 and the position just submitted.
    assert sorted((f["item"], f["comment"][:9]) for f in data["feedback"]) == [
        ("P1", "Our own c"),
        ("TF-AP-1", "Draft for"),
    ]
    assert all(f["reference"] for f in data["feedback"])
    assert [t["name"] for t in data["api_tokens"]] == ["Exporter"]
    assert data["sessions"] and all("token_hash" not in s for s in data["sessions"])
    assert "user.login" in [e["action"] for e in data["audit_events"]]
    assert "cst_" not in body and "$argon2" not in body
    # Other organisations' positions and other people's addresses are not in it.
    assert "Los albergues" not in body
    assert "lead@example.org" not in body and "member1@demo.example.org" not in body


# --- deleting the account -------------------------------------------------------------------


def test_deleting_the_account_keeps_the_organisations_feedback_without_the_author(
    seeded, app, client, login
):
    make_lead(seeded, STAKEHOLDER)
    login(client, STAKEHOLDER)
    submit_feedback(client, "Position we stand by")
    secret = create_token(client, "Soon gone")
    user = user_by_email(seeded, STAKEHOLDER)
    organization_id = user.organization_id
    submit_form(app.test_client(), "/auth/forgot-password", email=STAKEHOLDER)  # an outbox copy

    response = submit_form(client, "/account/delete", current_password=DEMO_PASSWORD, confirm="y")

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    home = client.get("/").get_data(as_text=True)
    assert "Your account has been deleted." in home
    assert "Sign out" not in home
    assert client.get("/account/").status_code == 302
    assert sign_in_status(app.test_client(), STAKEHOLDER, DEMO_PASSWORD) == 200

    gone = user_with_id(seeded, user.id)
    assert gone.name == "Deleted user"
    assert gone.email == f"deleted-{user.id}@deleted.invalid"
    assert not gone.active and not gone.is_lead and gone.organization_id is None
    assert not gone.password_hash.startswith("$argon2")
    with seeded.app_context():
        feedback = db.session.scalar(
            select(Feedback).where(Feedback.comment == "Position we stand by")
        )
        assert feedback is not None
        assert feedback.author_id is None and feedback.submitted_by_id is None
        assert feedback.organization_id == organization_id
        revisions = db.session.scalars(
            select(FeedbackRevision).where(FeedbackRevision.feedback_id == feedback.id)
        ).all()
        assert revisions and all(r.author_id is None for r in revisions)
        organization = db.session.get(Organization, organization_id)
        assert organization.name == DEMO_ORGANIZATION
        live_sessions = db.session.scalar(
            select(db.func.count())
            .select_from(UserSession)
            .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
        )
        assert live_sessions == 0
        assert profile.caller_for_api_token(secret) is None
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.delete"))
        assert event.actor_id == user.id
        assert event.before is None and event.after is None
        outbox = db.session.scalars(
            select(Notification).where(Notification.user_id == user.id)
        ).all()
        assert outbox
        assert all(STAKEHOLDER not in n.to_email and not n.body_text for n in outbox)


def test_wrong_current_password_refuses_the_deletion(seeded, client, login):
    login(client, STAKEHOLDER)
    response = submit_form(
        client, "/account/delete", current_password="not my password", confirm="y"
    )
    assert response.status_code == 422
    assert "Your current password is not right." in response.get_data(as_text=True)
    assert user_by_email(seeded, STAKEHOLDER).active
    assert client.get("/account/").status_code == 200


def test_deletion_needs_the_confirmation_box_ticked(seeded, client, login):
    login(client, STAKEHOLDER)
    response = submit_form(client, "/account/delete", current_password=DEMO_PASSWORD)
    assert response.status_code == 422
    assert "Tick the box to confirm." in response.get_data(as_text=True)
    assert user_by_email(seeded, STAKEHOLDER).active


def test_the_last_admin_cannot_delete_their_account(seeded, client, login):
    login(client, "admin@example.org")
    response = submit_form(client, "/account/delete", current_password=DEMO_PASSWORD, confirm="y")
    assert response.status_code == 409
    assert "last active admin" in response.get_data(as_text=True)
    assert user_by_email(seeded, "admin@example.org").active


# --- CSRF -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        ("/account/", {"name": "Mallory", "locale": "fr"}),
        ("/account/password", {"current_password": DEMO_PASSWORD, "new_password": NEW_PASSWORD}),
        ("/account/email", {"current_password": DEMO_PASSWORD, "new_email": "m@example.org"}),
        ("/account/tokens", {"name": "Mallory's"}),
        ("/account/tokens/1/revoke", {}),
        ("/account/delete", {"current_password": DEMO_PASSWORD, "confirm": "y"}),
    ],
)
def test_account_posts_without_a_csrf_token_are_refused(seeded, client, login, path, fields):
    login(client, STAKEHOLDER)
    response = client.post(path, data=fields)
    assert response.status_code == 400
    assert "form expired" in response.get_data(as_text=True)
    user = user_by_email(seeded, STAKEHOLDER)
    assert user.active and user.name == "Sam Stakeholder"


def test_when_the_only_lead_leaves_a_colleague_becomes_lead(seeded, client, login):
    login(client, "lead@example.org")
    response = submit_form(client, "/account/delete", current_password=DEMO_PASSWORD, confirm="y")
    assert response.status_code == 302
    assert user_by_email(seeded, STAKEHOLDER).is_lead


def revocation_mails(app, email: str) -> list[Notification]:
    with app.app_context():
        found = list(
            db.session.scalars(
                select(Notification).where(
                    Notification.to_email == email,
                    Notification.subject == "Your Consulta API tokens were revoked",
                )
            )
        )
        db.session.expunge_all()
        return found


def test_a_new_password_revokes_every_api_token_and_tells_the_owner(seeded, client, login):
    login(client, STAKEHOLDER)
    laptop, server = create_token(client, "Laptop"), create_token(client, "Server")

    response = submit_form(
        client, "/account/password", current_password=DEMO_PASSWORD, new_password=NEW_PASSWORD
    )

    assert response.status_code == 302
    with seeded.app_context():
        assert profile.caller_for_api_token(laptop) is None
        assert profile.caller_for_api_token(server) is None
    api = client.get("/api/v1/feedback", headers={"Authorization": f"Bearer {laptop}"})
    assert api.status_code == 401
    [mail] = revocation_mails(seeded, STAKEHOLDER)
    assert "2 API tokens of yours were revoked" in mail.body_text
    assert "/account/tokens" in mail.body_text
    user = user_by_email(seeded, STAKEHOLDER)
    assert "api_token.revoke_all" in audit_actions(seeded, user.id)


def test_a_password_reset_revokes_the_tokens_too(seeded, client, login):
    login(client, STAKEHOLDER)
    secret = create_token(client, "Laptop")
    with seeded.app_context():
        user = db.session.scalar(select(User).where(User.email == STAKEHOLDER))
        token = accounts.tokens.issue(
            "reset",
            {"uid": user.id, "fp": accounts._password_fingerprint(user)},  # noqa: SLF001
        )
    visitor = seeded.test_client()
    response = submit_form(
        visitor, f"/auth/reset-password/{token}", password=NEW_PASSWORD, confirm=NEW_PASSWORD
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    with seeded.app_context():
        assert profile.caller_for_api_token(secret) is None
    assert len(revocation_mails(seeded, STAKEHOLDER)) == 1


def test_no_token_no_mail(seeded, client, login):
    login(client, STAKEHOLDER)
    submit_form(
        client, "/account/password", current_password=DEMO_PASSWORD, new_password=NEW_PASSWORD
    )
    assert revocation_mails(seeded, STAKEHOLDER) == []
