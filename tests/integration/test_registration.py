"""Registration, email confirmation, sign-in sessions and password recovery, over HTTP."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import (
    AuditEvent,
    JoinRequest,
    JoinState,
    Notification,
    Organization,
    User,
    UserSession,
    VerificationState,
)
from app.models.organization import INTERNATIONAL_COUNTRY
from tests.helpers.web import csrf_token, hidden_fields, submit_form

pytestmark = [pytest.mark.postgres]

STRONG = "a long river of careful words"


def register(client, email: str, **fields):
    data = {
        "name": "Rosa Díaz",
        "email": email,
        "password": STRONG,
        "locale": "es",
        "organization_choice": "new",
        "organization_name": "Red de Apoyo Sin Fronteras",
        "organization_type": "ngo",
        "organization_country": "GT",
        "organization_website": "https://example.org",
        **fields,
    }
    return follow_to_check_email(client, submit_form(client, "/auth/register", **data))


def follow_to_check_email(client, response):
    """A successful form redirects to the "check your email" page (so a reload sends nothing)."""
    if response.status_code == 302 and response.headers["Location"] == "/auth/check-email":
        return client.get("/auth/check-email")
    return response


def outbox(app, to: str) -> list[Notification]:
    with app.app_context():
        return list(db.session.scalars(select(Notification).where(Notification.to_email == to)))


def link_from(body: str) -> str:
    return re.search(r"https?://[^/\s]+(/\S+)", body).group(1)


def test_registering_a_new_organisation_makes_a_pending_organisation_and_its_lead(seeded, client):
    response = register(client, "rosa@example.net")
    assert response.status_code == 200
    assert "rosa@example.net" in response.get_data(as_text=True)
    with seeded.app_context():
        user = db.session.scalar(select(User).where(User.email == "rosa@example.net"))
        assert user.email_confirmed_at is None
        assert user.is_lead
        assert user.locale == "es"
        assert user.organization.verification is VerificationState.PENDING
        assert user.organization.country == "GT"
    [message] = outbox(seeded, "rosa@example.net")
    assert "Confirme" in message.subject  # written in the registrant's language


def test_an_unconfirmed_account_cannot_sign_in_and_gets_a_new_link(seeded, client):
    register(client, "rosa@example.net")
    response = submit_form(client, "/auth/login", email="rosa@example.net", password=STRONG)
    assert "Confirm your email address first" in response.get_data(as_text=True)
    assert "Sign out" not in client.get("/").get_data(as_text=True)


def test_the_confirmation_link_works_once(seeded, client, login):
    register(client, "rosa@example.net")
    [message] = outbox(seeded, "rosa@example.net")
    link = link_from(message.body_text)
    assert client.get(link).status_code == 302
    login(client, "rosa@example.net", STRONG)
    again = seeded.test_client().get(link)
    assert again.status_code == 400
    page = again.get_data(as_text=True)
    assert "already been used" in page and "your address is confirmed already" in page
    # The way on is signing in, not a password link (which it offered before).
    assert "Ask for a new password link" not in page and "/auth/login" in page
    password_link = seeded.test_client().get("/auth/reset-password/not-a-token")
    assert "Ask for a new password link" in password_link.get_data(as_text=True)


def test_a_tampered_or_foreign_token_is_refused(seeded, client):
    register(client, "rosa@example.net")
    [message] = outbox(seeded, "rosa@example.net")
    link = link_from(message.body_text)
    tampered = link[:-3] + ("aaa" if not link.endswith("aaa") else "bbb")
    assert client.get(tampered).status_code == 400
    assert client.get("/auth/confirm/not-a-token").status_code == 400
    assert client.get("/auth/reset-password/not-a-token").status_code == 400


def test_an_expired_confirmation_link_is_refused(seeded, client, monkeypatch):
    from app.accounts import services as accounts

    register(client, "rosa@example.net")
    [message] = outbox(seeded, "rosa@example.net")
    monkeypatch.setattr(accounts, "CONFIRM_MAX_AGE", -1)
    response = client.get(link_from(message.body_text))
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)


@pytest.mark.parametrize("email", ["stakeholder@example.org", "STAKEHOLDER@Example.org"])
def test_registering_a_taken_email_looks_the_same_and_creates_nothing(seeded, client, email):
    fresh = register(client, "someone.new@example.net").get_data(as_text=True)
    taken = register(client, email, organization_name="Another Name Entirely")
    page = taken.get_data(as_text=True)
    assert taken.status_code == 200
    assert "We have sent a message to" in page and "We have sent a message to" in fresh
    with seeded.app_context():
        assert (
            db.session.scalar(
                select(db.func.count())
                .select_from(User)
                .where(db.func.lower(User.email) == email.lower())
            )
            == 1
        )
        assert (
            db.session.scalar(
                select(Organization.id).where(Organization.name == "Another Name Entirely")
            )
            is None
        )
    # The owner of the address is told, in their own language.
    [warning] = outbox(seeded, "stakeholder@example.org")
    assert "tried to register" in warning.subject


@pytest.mark.parametrize(
    "password, problem",
    [
        ("short pass", "at least 12"),
        ("password1234", "too common"),
        ("aaaaaaaaaaaaaaa", "too common"),
        ("rosa.diaz.2026!", "email address"),
    ],
)
def test_weak_passwords_are_refused_and_the_form_keeps_its_values(
    seeded, client, password, problem
):
    response = register(client, "rosa.diaz@example.net", password=password)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert problem in page
    assert 'value="Red de Apoyo Sin Fronteras"' in page
    with seeded.app_context():
        assert (
            db.session.scalar(select(User.id).where(User.email == "rosa.diaz@example.net")) is None
        )


def test_asking_to_join_notifies_the_lead_who_approves(seeded, app, login):
    with seeded.app_context():
        org_id = db.session.scalar(
            select(Organization.id).where(Organization.name.like("Northern Corridor%"))
        )
    applicant = app.test_client()
    register(
        applicant,
        "joiner@example.net",
        organization_choice="join",
        join_organization_id=str(org_id),
        organization_name="",
    )
    [note] = outbox(seeded, "lead@example.org")
    assert "joiner@example.net" in note.body_text

    stakeholder = app.test_client()
    login(stakeholder, "stakeholder@example.org")
    with seeded.app_context():
        request_id = db.session.scalar(select(JoinRequest.id))
    page = stakeholder.get("/organisation/").get_data(as_text=True)
    refused = stakeholder.post(
        f"/organisation/join-requests/{request_id}",
        data={"csrf_token": csrf_token(page), "decision": "approve"},
    )
    assert refused.status_code == 403  # a member who is not the lead

    lead = app.test_client()
    login(lead, "lead@example.org")
    page = lead.get("/organisation/").get_data(as_text=True)
    assert "joiner@example.net" in page
    approved = lead.post(
        f"/organisation/join-requests/{request_id}",
        data={"csrf_token": csrf_token(page), "decision": "approve"},
    )
    assert approved.status_code == 302
    with seeded.app_context():
        joiner = db.session.scalar(select(User).where(User.email == "joiner@example.net"))
        assert joiner.organization_id == org_id
        assert db.session.get(JoinRequest, request_id).state is JoinState.APPROVED


def test_a_lead_invites_a_colleague_who_registers_with_the_link(seeded, app, login):
    lead = app.test_client()
    login(lead, "lead@example.org")
    response = submit_form(
        lead, "/organisation/", "/organisation/invitations", email="colleague@example.net"
    )
    assert response.status_code == 302
    [invitation] = outbox(seeded, "colleague@example.net")
    link = link_from(invitation.body_text)

    colleague = app.test_client()
    form = colleague.get(link).get_data(as_text=True)
    assert 'value="colleague@example.net"' in form
    response = colleague.post(
        link,
        data={
            **hidden_fields(form),
            "name": "Col League",
            "email": "colleague@example.net",
            "password": STRONG,
            "locale": "fr",
        },
    )
    assert response.status_code == 302
    login(colleague, "colleague@example.net", STRONG)  # the invitation confirmed the address
    with seeded.app_context():
        colleague_user = db.session.scalar(
            select(User).where(User.email == "colleague@example.net")
        )
        lead_user = db.session.scalar(select(User).where(User.email == "lead@example.org"))
        assert colleague_user.organization_id == lead_user.organization_id
        assert not colleague_user.is_lead
    # The invitation cannot be used a second time.
    assert app.test_client().get(link).status_code == 302


def test_only_a_lead_may_invite(seeded, client, login):
    login(client, "stakeholder@example.org")
    page = client.get("/organisation/").get_data(as_text=True)
    response = client.post(
        "/organisation/invitations",
        data={"csrf_token": csrf_token(page), "email": "x@example.net"},
    )
    assert response.status_code == 403


def test_a_password_reset_answers_the_same_for_unknown_addresses(seeded, client):
    known = follow_to_check_email(
        client, submit_form(client, "/auth/forgot-password", email="lead@example.org")
    )
    unknown = follow_to_check_email(
        client, submit_form(client, "/auth/forgot-password", email="nobody@example.net")
    )

    def strip(response) -> str:
        page = response.get_data(as_text=True)
        return page.replace("lead@example.org", "X").replace("nobody@example.net", "X")

    assert known.status_code == unknown.status_code == 200
    assert strip(known) == strip(unknown)
    assert len(outbox(seeded, "lead@example.org")) == 1
    assert outbox(seeded, "nobody@example.net") == []


def test_a_reset_link_changes_the_password_once_and_ends_other_sessions(seeded, app, login):
    signed_in = app.test_client()
    login(signed_in, "lead@example.org")
    client = app.test_client()
    submit_form(client, "/auth/forgot-password", email="lead@example.org")
    [message] = outbox(seeded, "lead@example.org")
    link = link_from(message.body_text)
    response = submit_form(client, link, password="a brand new sentence here")
    assert response.status_code == 302
    login(client, "lead@example.org", "a brand new sentence here")
    # The other browser was signed out on the server.
    assert signed_in.get("/organisation/").status_code == 302
    assert client.get(link).status_code == 400  # used up


def test_sign_out_ends_the_session_on_the_server(seeded, client, login):
    login(client, "lead@example.org")
    stolen_cookie = client.get_cookie("session").value
    page = client.get("/").get_data(as_text=True)
    client.post("/auth/logout", data={"csrf_token": csrf_token(page)})
    thief = seeded.test_client()
    thief.set_cookie("session", stolen_cookie)
    assert thief.get("/organisation/").status_code == 302
    with seeded.app_context():
        assert (
            db.session.scalar(
                select(db.func.count())
                .select_from(UserSession)
                .where(UserSession.revoked_at.is_(None))
            )
            == 0
        )


def test_remember_me_is_bounded_and_never_for_staff(seeded, app):
    for email, remembered in (("lead@example.org", True), ("moderator@example.org", False)):
        client = app.test_client()
        response = submit_form(
            client, "/auth/login", email=email, password="consulta-demo", remember="y"
        )
        cookies = response.headers.getlist("Set-Cookie")
        assert any(c.startswith("remember_token=") for c in cookies) is remembered
    with seeded.app_context():
        sessions = db.session.scalars(select(UserSession)).all()
        longest = max(s.expires_at - s.created_at for s in sessions)
        assert longest.days <= 14


def test_each_sign_in_gets_a_fresh_session(seeded, client):
    client.get("/auth/login")
    with client.session_transaction() as planted:
        planted["planted_by_attacker"] = "fixation"
    submit_form(client, "/auth/login", email="lead@example.org", password="consulta-demo")
    with client.session_transaction() as after:
        assert "planted_by_attacker" not in after
        assert "_user_id" in after


def test_many_wrong_passwords_for_one_account_are_throttled_from_any_address(seeded, app):
    statuses = []
    for attempt in range(12):
        client = app.test_client()
        address = {"REMOTE_ADDR": f"10.0.0.{attempt + 1}"}
        page = client.get("/auth/login", environ_base=address).get_data(as_text=True)
        response = client.post(
            "/auth/login",
            data={"csrf_token": csrf_token(page), "email": "lead@example.org", "password": "wrong"},
            environ_base=address,
        )
        statuses.append(response.status_code)
    assert statuses[:10] == [200] * 10
    assert statuses[-1] == 429


def test_a_hundred_wrong_passwords_in_a_minute_do_not_get_through(seeded, client):
    statuses = [
        submit_form(
            client, "/auth/login", email="lead@example.org", password=f"guess {n}"
        ).status_code
        for n in range(100)
    ]
    assert statuses.count(429) >= 90
    assert 302 not in statuses


def test_argon2_hashes_with_old_parameters_are_upgraded_at_sign_in(seeded, strong_hashing_app):
    from argon2 import PasswordHasher

    with seeded.app_context():
        user = db.session.scalar(select(User).where(User.email == "lead@example.org"))
        user.password_hash = PasswordHasher(time_cost=1, memory_cost=8192).hash("consulta-demo")
        db.session.commit()
    client = strong_hashing_app.test_client()
    submit_form(client, "/auth/login", email="lead@example.org", password="consulta-demo")
    with seeded.app_context():
        user = db.session.scalar(select(User).where(User.email == "lead@example.org"))
        assert "m=8192" not in user.password_hash
        assert "m=65536,t=3" in user.password_hash


def test_registration_is_recorded_in_the_audit_log(seeded, client):
    register(client, "rosa@example.net")
    with seeded.app_context():
        actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"user.create", "organization.register"} <= actions


def test_a_lead_of_another_organisation_cannot_decide_its_requests(seeded, app, login):
    from app.accounts import services as accounts

    with seeded.app_context():
        org_id = db.session.scalar(
            select(Organization.id).where(Organization.name.like("Northern Corridor%"))
        )
        other = db.session.scalar(select(Organization).where(Organization.name.like("Red Fron%")))
        accounts.create_user(
            "other.lead@example.net", "Other Lead", STRONG, organization=other, is_lead=True
        )
        db.session.commit()
    register(
        app.test_client(),
        "joiner@example.net",
        organization_choice="join",
        join_organization_id=str(org_id),
        organization_name="",
    )
    with seeded.app_context():
        request_id = db.session.scalar(select(JoinRequest.id))
    intruder = app.test_client()
    login(intruder, "other.lead@example.net", STRONG)
    page = intruder.get("/organisation/").get_data(as_text=True)
    response = intruder.post(
        f"/organisation/join-requests/{request_id}",
        data={"csrf_token": csrf_token(page), "decision": "approve"},
    )
    assert response.status_code == 403
    with seeded.app_context():
        assert db.session.get(JoinRequest, request_id).state is JoinState.PENDING


@pytest.mark.worker
@pytest.mark.redis
def test_the_confirmation_email_is_delivered_by_the_worker_and_its_link_works(
    seeded, client, login, celery_worker, mail_catcher
):
    register(client, "delivered@example.net", locale="en")
    message = mail_catcher.wait_for("delivered@example.net", "Confirm")
    response = client.get(mail_catcher.link_in(message))
    assert response.status_code == 302
    login(client, "delivered@example.net", STRONG)
    with seeded.app_context():
        [row] = db.session.scalars(
            select(Notification).where(Notification.to_email == "delivered@example.net")
        ).all()
        assert row.status.value == "sent"
        assert row.attempts == 1


@pytest.mark.redis
def test_throttling_counts_in_redis_so_every_web_process_shares_it(pg_url, redis_url, tmp_path):
    import redis as redis_client

    from app import create_app
    from tests.helpers.services import app_settings

    settings = {
        **app_settings(tmp_path, pg_url, redis_url, "q"),
        "ratelimit_storage_url": redis_url,
    }
    application = create_app(settings)
    client = application.test_client()
    statuses = [
        submit_form(client, "/auth/login", email="x@example.net", password="wrong").status_code
        for _ in range(11)
    ]
    assert statuses[-1] == 429
    keys = redis_client.Redis.from_url(redis_url).keys("LIMITS*")
    assert any(b"login-account:x@example.net" in key for key in keys)


def test_a_taken_organisation_name_is_refused_whether_or_not_the_email_exists(seeded, app):
    taken_name = "Northern Corridor Migrant Support Network"
    pages = []
    for email in ("lead@example.org", "brand.new@example.net"):
        response = register(app.test_client(), email, organization_name=taken_name)
        assert response.status_code == 422
        pages.append(response.get_data(as_text=True).replace(email, "X"))
    assert "already registered: ask to join it instead" in pages[0]
    assert pages[0] == pages[1] or _without_tokens(pages[0]) == _without_tokens(pages[1])
    assert outbox(seeded, "lead@example.org") == []


def _without_tokens(page: str) -> str:
    return re.sub(r'value="[^"]*"', 'value=""', page)


def test_reloading_the_check_email_page_sends_nothing_again(seeded, client):
    register(client, "rosa@example.net")
    client.get("/auth/check-email")
    client.get("/auth/check-email")
    assert len(outbox(seeded, "rosa@example.net")) == 1


@pytest.mark.parametrize("raw", ["²", "99999999999999999999999", "1e3"])
def test_an_odd_organisation_id_is_a_form_error_not_a_crash(seeded, client, raw):
    response = register(
        client,
        "odd@example.net",
        organization_choice="join",
        join_organization_id=raw,
        organization_name="",
    )
    assert response.status_code == 422


def test_a_second_open_invitation_to_the_same_colleague_is_refused(seeded, client, login):
    login(client, "lead@example.org")
    first = submit_form(
        client, "/organisation/", "/organisation/invitations", email="c@example.net"
    )
    second = submit_form(
        client, "/organisation/", "/organisation/invitations", email="c@example.net"
    )
    assert first.status_code == 302
    assert second.status_code == 422
    assert "already has an open invitation" in second.get_data(as_text=True)
    assert len(outbox(seeded, "c@example.net")) == 1


def test_an_invitation_is_withdrawn_when_the_organisation_is_rejected(seeded, app, login):
    lead = app.test_client()
    login(lead, "lead@example.org")
    submit_form(lead, "/organisation/", "/organisation/invitations", email="late@example.net")
    [invitation] = outbox(seeded, "late@example.net")
    with seeded.app_context():
        organization = db.session.scalar(
            select(Organization).where(Organization.name.like("Northern Corridor%"))
        )
        organization.verification = VerificationState.REJECTED
        db.session.commit()
    response = app.test_client().get(link_from(invitation.body_text))
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/register"


def test_a_reset_link_dies_when_the_email_address_changes(seeded, client):
    submit_form(client, "/auth/forgot-password", email="lead@example.org")
    [message] = outbox(seeded, "lead@example.org")
    with seeded.app_context():
        user = db.session.scalar(select(User).where(User.email == "lead@example.org"))
        user.email = "lead.moved@example.org"
        db.session.commit()
    assert client.get(link_from(message.body_text)).status_code == 400


def test_a_role_change_ends_the_persons_sessions(seeded, app, login):
    from app.accounts import roles
    from app.models import Role

    person = app.test_client()
    login(person, "stakeholder@example.org")
    with seeded.app_context():
        admin_id = db.session.scalar(select(User.id).where(User.email == "admin@example.org"))
        user_id = db.session.scalar(select(User.id).where(User.email == "stakeholder@example.org"))
        roles.change_role(admin_id, user_id, Role.MODERATOR)
    assert person.get("/account/").status_code == 302  # sign in again to use the new rights


def test_a_moderator_cannot_verify_their_own_organisation(seeded):
    from app.errors import Forbidden
    from app.organizations import services as organizations

    with seeded.app_context():
        pending = db.session.scalar(
            select(Organization).where(Organization.verification == VerificationState.PENDING)
        )
        moderator = db.session.scalar(select(User).where(User.email == "moderator@example.org"))
        moderator.organization_id = pending.id
        db.session.commit()
        with pytest.raises(Forbidden):
            organizations.verify_organization(moderator.id, pending.id, approve=True)


def test_an_organisation_working_across_countries_registers_as_international(seeded, app, login):
    form = app.test_client().get("/auth/register").get_data(as_text=True)
    assert '<option value="XX">International / several countries</option>' in form
    response = register(app.test_client(), "hemisphere@example.net", organization_country="XX")
    assert response.status_code == 200
    with seeded.app_context():
        user = db.session.scalar(select(User).where(User.email == "hemisphere@example.net"))
        assert user.organization.country == INTERNATIONAL_COUNTRY
    moderator = app.test_client()
    login(moderator, "moderator@example.org")
    queue = moderator.get("/moderation/organisations/").get_data(as_text=True)
    assert "· International / several countries</span>" in queue  # by name, not "XX"
    assert "· XX<" not in queue
    assert "<td>XX</td>" not in queue


@pytest.mark.parametrize("country", ["", "QQ", "ZZ", "Mexico"])
def test_a_country_not_on_the_list_is_refused(seeded, client, country):
    response = register(client, "rosa@example.net", organization_country=country)
    assert response.status_code == 422
    assert "country" in response.get_data(as_text=True).lower()
    with seeded.app_context():
        assert db.session.scalar(select(User.id).where(User.email == "rosa@example.net")) is None
