"""Admins change roles and deactivate accounts; moderators verify organisations; over HTTP."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.accounts import roles
from app.errors import Forbidden
from app.extensions import db
from app.models import AuditEvent, Organization, Role, User, UserSession, VerificationState
from tests.helpers.database import user_by_email
from tests.helpers.web import csrf_token, submit_form

pytestmark = [pytest.mark.postgres]

USERS_PAGE = "/admin/users"
ORGANISATIONS_PAGE = "/moderation/organisations/"
PENDING_ORGANISATION = "Diaspora Futures Collective"


def audit_events(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        events = list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))
        db.session.expunge_all()
        return events


def change_role(client, user_id: int, role: str):
    page = client.get("/").get_data(as_text=True)
    return client.post(
        f"/admin/users/{user_id}/role", data={"csrf_token": csrf_token(page), "role": role}
    )


def set_active(client, user_id: int, active: bool):
    page = client.get("/").get_data(as_text=True)
    return client.post(
        f"/admin/users/{user_id}/active",
        data={"csrf_token": csrf_token(page), "active": "1" if active else "0"},
    )


# --- the users page --------------------------------------------------------------------------


def test_admin_sees_every_user_with_a_labelled_role_select(seeded, client, login):
    login(client, "admin@example.org")
    response = client.get(USERS_PAGE)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<caption class="govuk-table__caption' in page
    for email in ("moderator@example.org", "stakeholder@example.org", "lead@example.org"):
        assert email in page
    stakeholder = user_by_email(seeded, "stakeholder@example.org")
    assert re.search(rf'<label class="[^"]*" for="role-{stakeholder.id}"', page)
    assert re.search(rf'<select class="govuk-select" id="role-{stakeholder.id}" name="role"', page)
    assert f"Deactivate {stakeholder.name}" in page


def test_admin_searches_users_by_email_or_name(seeded, client, login):
    login(client, "admin@example.org")
    page = client.get(USERS_PAGE, query_string={"q": "MODERATOR@"}).get_data(as_text=True)
    assert "moderator@example.org" in page
    assert "stakeholder@example.org" not in page
    page = client.get(USERS_PAGE, query_string={"q": "%"}).get_data(as_text=True)
    assert "No users match." in page


def test_users_page_is_paginated_fifty_at_a_time(seeded, client, login):
    with seeded.app_context():
        for n in range(60):
            db.session.add(
                User(email=f"extra{n}@example.org", name=f"Extra {n}", password_hash="x")
            )
        db.session.commit()
        emails = list(db.session.scalars(select(User.email).order_by(User.id)))
    login(client, "admin@example.org")

    first = client.get(USERS_PAGE).get_data(as_text=True)
    next_link = re.search(r'href="(/admin/users\?after=\d+)"', first).group(1)
    rest = client.get(next_link).get_data(as_text=True)

    listed_first, listed_rest = (re.findall(r"data-email>([^<]+)<", p) for p in (first, rest))
    assert first.count('name="role"') == 50
    assert listed_first == emails[:50]
    assert listed_rest == emails[50:]
    assert 'class="govuk-pagination' in first and "First page" not in first
    assert 'class="govuk-pagination' in rest and 'href="/admin/users"' in rest  # the first page
    assert 'href="/admin/users?after=' not in rest  # the last page has no next link
    assert client.get(USERS_PAGE, query_string={"after": "x"}).status_code == 400


def user_row(page: str, user_id: int) -> str:
    return re.search(rf'<tr class="govuk-table__row" data-user="{user_id}">.*?</tr>', page, re.S)[0]


def test_each_users_state_is_a_tag_and_their_role_is_named(seeded, client, login):
    login(client, "admin@example.org")
    stakeholder = user_by_email(seeded, "stakeholder@example.org")
    lead = user_by_email(seeded, "lead@example.org")
    assert set_active(client, stakeholder.id, False).status_code == 302
    page = client.get(USERS_PAGE).get_data(as_text=True)
    deactivated, leading = user_row(page, stakeholder.id), user_row(page, lead.id)
    assert 'govuk-tag govuk-tag--red">\n  Deactivated' in deactivated
    assert "Reactivate " + stakeholder.name in deactivated
    assert 'govuk-tag govuk-tag--green">\n  Active' in leading
    assert "Organisation lead" in leading and "Organisation lead" not in deactivated
    assert '<option value="stakeholder" selected>Stakeholder</option>' in leading


def test_an_overlong_search_is_refused_with_a_message(seeded, client, login):
    login(client, "admin@example.org")
    page = client.get(USERS_PAGE, query_string={"q": "x" * 255}).get_data(as_text=True)
    assert "Field cannot be longer than 254 characters." in page
    assert "moderator@example.org" in page  # every user, as without a search


@pytest.mark.parametrize(
    "email", ["moderator@example.org", "council@example.org", "stakeholder@example.org"]
)
def test_only_admins_open_the_users_page(seeded, client, login, email):
    login(client, email)
    assert client.get(USERS_PAGE).status_code == 403


# --- roles -----------------------------------------------------------------------------------


def test_admin_changes_a_role_and_the_audit_records_before_and_after(seeded, client, login):
    login(client, "admin@example.org")
    stakeholder = user_by_email(seeded, "stakeholder@example.org")
    admin = user_by_email(seeded, "admin@example.org")

    response = change_role(client, stakeholder.id, "moderator")

    assert response.status_code == 302
    assert "Role changed." in client.get(response.headers["Location"]).get_data(as_text=True)
    changed = user_by_email(seeded, "stakeholder@example.org")
    assert changed.role is Role.MODERATOR
    assert changed.organization_id == stakeholder.organization_id  # staff keep their organisation
    (event,) = audit_events(seeded, "user.role_change")
    assert event.actor_id == admin.id
    assert event.target_type == "user" and event.target_id == stakeholder.id
    assert event.before == {"role": "stakeholder"} and event.after == {"role": "moderator"}


def test_giving_the_same_role_again_changes_nothing(seeded, client, login):
    login(client, "admin@example.org")
    moderator = user_by_email(seeded, "moderator@example.org")
    response = change_role(client, moderator.id, "moderator")
    assert response.status_code == 302
    assert audit_events(seeded, "user.role_change") == []


@pytest.mark.parametrize(
    "email", ["moderator@example.org", "council@example.org", "stakeholder@example.org"]
)
def test_only_admins_change_roles(seeded, client, login, email):
    login(client, email)
    actor = user_by_email(seeded, email)

    response = change_role(client, actor.id, "admin")

    assert response.status_code == 403
    assert user_by_email(seeded, email).role is actor.role
    assert audit_events(seeded, "user.role_change") == []


def test_the_role_service_refuses_a_non_admin(seeded):
    moderator = user_by_email(seeded, "moderator@example.org")
    stakeholder = user_by_email(seeded, "stakeholder@example.org")
    # A request context: the Forbidden message is translated for the reader's locale.
    with seeded.test_request_context():
        with pytest.raises(Forbidden):
            roles.change_role(moderator.id, stakeholder.id, Role.ADMIN)
        with pytest.raises(Forbidden):
            roles.set_active(moderator.id, stakeholder.id, False)
        with pytest.raises(Forbidden):
            roles.list_users(moderator.id)
    assert user_by_email(seeded, "stakeholder@example.org").role is Role.STAKEHOLDER


def test_the_last_admin_cannot_demote_themselves(seeded, client, login):
    login(client, "admin@example.org")
    admin = user_by_email(seeded, "admin@example.org")

    response = change_role(client, admin.id, "moderator")

    assert response.status_code == 409
    assert "last active admin" in response.get_data(as_text=True)
    assert user_by_email(seeded, "admin@example.org").role is Role.ADMIN


def test_an_admin_may_step_down_once_there_is_another(seeded, client, login):
    login(client, "admin@example.org")
    admin = user_by_email(seeded, "admin@example.org")
    council = user_by_email(seeded, "council@example.org")
    assert change_role(client, council.id, "admin").status_code == 302

    assert change_role(client, admin.id, "council").status_code == 302

    assert user_by_email(seeded, "admin@example.org").role is Role.COUNCIL
    # A role change ends the person's sessions (signed out, the admin area refuses them);
    # signed in again, the old rights are gone.
    signed_out = client.get(USERS_PAGE)
    assert signed_out.status_code == 403 and "/auth/login" in signed_out.get_data(as_text=True)
    login(client, "admin@example.org")
    assert client.get(USERS_PAGE).status_code == 403


def test_an_unknown_role_is_a_bad_request(seeded, client, login):
    login(client, "admin@example.org")
    stakeholder = user_by_email(seeded, "stakeholder@example.org")
    assert change_role(client, stakeholder.id, "superuser").status_code == 400


def test_a_role_change_without_csrf_token_is_refused(seeded, client, login):
    login(client, "admin@example.org")
    stakeholder = user_by_email(seeded, "stakeholder@example.org")

    response = client.post(f"/admin/users/{stakeholder.id}/role", data={"role": "admin"})

    assert response.status_code == 400
    assert user_by_email(seeded, "stakeholder@example.org").role is Role.STAKEHOLDER


# --- deactivating ----------------------------------------------------------------------------


def test_deactivating_a_user_ends_their_sessions_and_stops_sign_in(seeded, client, login):
    stakeholder = user_by_email(seeded, "stakeholder@example.org")
    their_browser = seeded.test_client()
    login(their_browser, "stakeholder@example.org")
    assert their_browser.get("/organisation/").status_code == 200
    login(client, "admin@example.org")

    response = set_active(client, stakeholder.id, False)

    assert response.status_code == 302
    assert "Account deactivated." in client.get(USERS_PAGE).get_data(as_text=True)
    kicked_out = their_browser.get("/organisation/")
    assert kicked_out.status_code == 302
    assert "/auth/login" in kicked_out.headers["Location"]
    refused = submit_form(
        seeded.test_client(),
        "/auth/login",
        email="stakeholder@example.org",
        password="consulta-demo",
    )
    assert refused.status_code == 200
    assert "The email or password is not right." in refused.get_data(as_text=True)
    with seeded.app_context():
        sessions = db.session.scalars(
            select(UserSession).where(UserSession.user_id == stakeholder.id)
        ).all()
        assert sessions and all(s.revoked_at is not None for s in sessions)
    (event,) = audit_events(seeded, "user.deactivate")
    assert event.target_id == stakeholder.id


def test_a_reactivated_user_signs_in_again_but_old_sessions_stay_ended(seeded, client, login):
    stakeholder = user_by_email(seeded, "stakeholder@example.org")
    their_browser = seeded.test_client()
    login(their_browser, "stakeholder@example.org")
    login(client, "admin@example.org")
    set_active(client, stakeholder.id, False)

    assert set_active(client, stakeholder.id, True).status_code == 302

    assert their_browser.get("/organisation/").status_code == 302
    login(seeded.test_client(), "stakeholder@example.org")
    assert len(audit_events(seeded, "user.reactivate")) == 1


def test_an_admin_cannot_deactivate_themselves(seeded, client, login):
    login(client, "admin@example.org")
    admin = user_by_email(seeded, "admin@example.org")

    response = set_active(client, admin.id, False)

    assert response.status_code == 409
    assert user_by_email(seeded, "admin@example.org").active
    assert client.get(USERS_PAGE).status_code == 200


def test_a_moderator_cannot_deactivate_anyone(seeded, client, login):
    login(client, "moderator@example.org")
    stakeholder = user_by_email(seeded, "stakeholder@example.org")
    assert set_active(client, stakeholder.id, False).status_code == 403
    assert user_by_email(seeded, "stakeholder@example.org").active


# --- verifying organisations -----------------------------------------------------------------


def test_moderator_verifies_a_pending_organisation(seeded, client, login):
    login(client, "moderator@example.org")
    moderator = user_by_email(seeded, "moderator@example.org")
    page = client.get(ORGANISATIONS_PAGE).get_data(as_text=True)
    assert PENDING_ORGANISATION in page
    assert "member4@demo.example.org" in page
    assert f"Verify {PENDING_ORGANISATION}" in page
    with seeded.app_context():
        org_id = db.session.scalar(
            select(Organization.id).where(Organization.name == PENDING_ORGANISATION)
        )

    response = client.post(
        f"/moderation/organisations/{org_id}/verify", data={"csrf_token": csrf_token(page)}
    )

    assert response.status_code == 302
    after = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Organisation verified." in after
    assert f"Verify {PENDING_ORGANISATION}" not in after
    with seeded.app_context():
        organization = db.session.get(Organization, org_id)
        assert organization.verification is VerificationState.VERIFIED
        assert organization.verified_by_id == moderator.id
        assert organization.verified_at is not None
    (event,) = audit_events(seeded, "organization.verify")
    assert event.actor_id == moderator.id and event.target_id == org_id


def test_admin_rejects_a_pending_organisation(seeded, client, login):
    login(client, "admin@example.org")
    page = client.get(ORGANISATIONS_PAGE).get_data(as_text=True)
    with seeded.app_context():
        org_id = db.session.scalar(
            select(Organization.id).where(Organization.name == PENDING_ORGANISATION)
        )

    response = client.post(
        f"/moderation/organisations/{org_id}/reject",
        data={"csrf_token": csrf_token(page), "reason": "No public registration found."},
    )

    assert response.status_code == 302
    with seeded.app_context():
        assert db.session.get(Organization, org_id).verification is VerificationState.REJECTED


@pytest.mark.parametrize("email", ["stakeholder@example.org", "council@example.org"])
def test_only_moderators_and_admins_see_organisations_to_verify(seeded, client, login, email):
    login(client, email)
    assert client.get(ORGANISATIONS_PAGE).status_code == 403


def test_a_stakeholder_cannot_verify_an_organisation(seeded, client, login):
    login(client, "stakeholder@example.org")
    page = client.get("/").get_data(as_text=True)
    with seeded.app_context():
        org_id = db.session.scalar(
            select(Organization.id).where(Organization.name == PENDING_ORGANISATION)
        )

    response = client.post(
        f"/moderation/organisations/{org_id}/verify", data={"csrf_token": csrf_token(page)}
    )

    assert response.status_code == 403
    with seeded.app_context():
        assert db.session.get(Organization, org_id).verification is VerificationState.PENDING


def test_verifying_without_csrf_token_is_refused(seeded, client, login):
    login(client, "moderator@example.org")
    with seeded.app_context():
        org_id = db.session.scalar(
            select(Organization.id).where(Organization.name == PENDING_ORGANISATION)
        )
    response = client.post(f"/moderation/organisations/{org_id}/verify")
    assert response.status_code == 400
    with seeded.app_context():
        assert db.session.get(Organization, org_id).verification is VerificationState.PENDING


# --- the create-user command -----------------------------------------------------------------


def create_user_command(app, email: str, password: str):
    return app.test_cli_runner().invoke(
        args=[
            "create-user",
            "--email",
            email,
            "--name",
            "First Admin",
            "--password",
            password,
        ]
    )


@pytest.mark.parametrize(
    ("weak", "problem"),
    [
        ("short", "Use at least 12 characters."),
        ("password1234", "too common or too easy to guess"),
        ("rootadmin-2024x", "Do not build your password from your email address."),
    ],
)
def test_create_user_refuses_a_weak_password(app, weak, problem):
    result = create_user_command(app, "rootadmin@example.org", weak)

    assert result.exit_code != 0
    assert problem in result.output
    with app.app_context():
        assert db.session.scalar(select(User).where(User.email == "rootadmin@example.org")) is None


def test_create_user_accepts_a_strong_password(app):
    result = create_user_command(app, "first@example.org", "correct horse battery staple")

    assert result.exit_code == 0, result.output
    assert "created first@example.org (admin)" in result.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "first@example.org"))
        assert user.role is Role.ADMIN


def test_create_user_refuses_an_email_already_taken(app):
    assert (
        create_user_command(app, "first@example.org", "correct horse battery staple").exit_code == 0
    )

    result = create_user_command(app, "First@Example.org", "another long passphrase")

    assert result.exit_code != 0
    assert "An account with this email already exists." in result.output
