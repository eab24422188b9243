"""A warning for every failed sign-in and every refused authorisation, with the request id, the
caller and why; never a password, and an email only as a keyed digest."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from app.accounts import services as accounts
from app.extensions import db
from app.models import User
from app.security_log import account_digest
from tests.helpers.logs import captured
from tests.helpers.web import sign_in, submit_form

pytestmark = [pytest.mark.postgres]

WRONG = "not-the-password-at-all"  # noqa: S105 - a wrong password to look for in the logs


@pytest.fixture
def security_lines():
    with captured("app.security") as records:
        yield records


def only(records: list[logging.LogRecord], event: str) -> list[logging.LogRecord]:
    return [record for record in records if record.event == event]


def everything_said(record: logging.LogRecord) -> str:
    return record.getMessage() + " " + " ".join(map(str, vars(record).values()))


def failed_sign_in(client, email: str, password: str = WRONG):  # noqa: ANN201
    return submit_form(client, "/auth/login", email=email, password=password)


def test_a_wrong_password_is_logged_with_the_account_digest_and_never_the_password(
    seeded, client, security_lines
):
    response = failed_sign_in(client, "Stakeholder@example.org")
    assert response.status_code == 200
    [record] = only(security_lines, "sign_in_failed")
    assert record.levelno == logging.WARNING
    assert record.reason == "wrong_credentials"
    assert record.request_id == response.headers["X-Request-ID"]
    assert record.client == "127.0.0.1"
    with seeded.app_context():
        assert record.account == account_digest("stakeholder@example.org")
    said = everything_said(record)
    assert WRONG not in said and "stakeholder@example.org" not in said.lower()


def test_an_unknown_account_is_logged_like_a_wrong_password(seeded, client, security_lines):
    failed_sign_in(client, "nobody@example.org")
    [record] = only(security_lines, "sign_in_failed")
    assert record.reason == "wrong_credentials"
    with seeded.app_context():
        assert record.account == account_digest("nobody@example.org")


def test_an_unconfirmed_account_is_logged_with_its_user_id(unseeded, client, security_lines):
    with unseeded.app_context():
        user = accounts.create_user("new@example.org", "New", "a-fine-password-42", confirmed=False)
        db.session.commit()
        user_id = user.id
    failed_sign_in(client, "new@example.org", "a-fine-password-42")
    [record] = only(security_lines, "sign_in_failed")
    assert (record.reason, record.user_id) == ("unconfirmed", user_id)


def test_a_throttled_sign_in_is_logged(seeded, client, security_lines):
    statuses = [failed_sign_in(client, "lead@example.org").status_code for _ in range(11)]
    assert statuses[-1] == 429
    reasons = [record.reason for record in only(security_lines, "sign_in_failed")]
    assert reasons == ["wrong_credentials"] * 10 + ["throttled"]


def test_a_staff_page_refused_to_a_stakeholder_names_the_user(seeded, client, security_lines):
    sign_in(client, "stakeholder@example.org")
    response = client.get("/moderation/?state=submitted")
    assert response.status_code == 403
    [record] = only(security_lines, "authorisation_refused")
    with seeded.app_context():
        user_id = db.session.scalar(select(User.id).where(User.email == "stakeholder@example.org"))
    assert (record.user_id, record.method, record.path) == (str(user_id), "GET", "/moderation/")
    assert (record.status, record.reason) == (403, "forbidden")
    assert record.request_id == response.headers["X-Request-ID"]


def test_a_visitor_refused_a_staff_page_is_anonymous(seeded, client, security_lines):
    assert client.get("/admin/users").status_code == 403
    [record] = only(security_lines, "authorisation_refused")
    assert (record.user_id, record.status) == ("anonymous", 403)


def test_an_unknown_api_token_is_logged(seeded, client, security_lines):
    response = client.get("/api/v1/consultations", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    [record] = only(security_lines, "authorisation_refused")
    assert (record.status, record.reason, record.user_id) == (401, "invalid_token", "anonymous")
    assert "nope" not in everything_said(record)


def test_an_api_operation_without_a_caller_is_logged(seeded, client, security_lines):
    assert client.get("/api/v1/feedback").status_code == 401
    [record] = only(security_lines, "authorisation_refused")
    assert (record.status, record.path) == (401, "/api/v1/feedback")


def test_a_failed_csrf_check_is_logged(seeded, client, security_lines):
    sign_in(client, "lead@example.org")
    response = client.post("/api/v1/feedback", json={})
    assert response.status_code == 400
    [record] = only(security_lines, "authorisation_refused")
    assert (record.status, record.reason, record.method) == (400, "csrf_failed", "POST")
    assert record.user_id != "anonymous"


def test_a_visitor_sent_to_sign_in_is_logged(seeded, client, security_lines):
    response = client.get("/account/")
    assert response.status_code == 302
    [record] = only(security_lines, "authorisation_refused")
    assert (record.reason, record.path, record.user_id) == (
        "sign_in_required",
        "/account/",
        "anonymous",
    )


def test_an_allowed_request_logs_nothing(seeded, client, security_lines):
    sign_in(client, "moderator@example.org")
    assert client.get("/moderation/").status_code == 200
    assert security_lines == []
