"""Error pages, health probes, security headers and sign-in rules, over HTTP."""

from __future__ import annotations

import logging

import pytest

from app import create_app
from app.extensions import db
from app.models import User
from tests.helpers.services import app_settings
from tests.helpers.web import csrf_token, submit_form

pytestmark = [pytest.mark.postgres]


def test_healthz_answers_json(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_reports_database_and_broker_reachable(client):
    # The worker's heartbeat is tests/integration/test_readiness.py's subject.
    response = client.get("/readyz?worker=optional")
    assert response.status_code == 200
    checks = response.get_json()["checks"]
    assert (checks["database"], checks["broker"]) == (True, True)


def test_readyz_is_503_when_the_broker_is_down(pg_url, tmp_path):
    broken = create_app(app_settings(tmp_path, pg_url, "redis://127.0.0.1:1/0", "q"))
    response = broken.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"] == {"database": True, "broker": False, "worker": False}


def test_readyz_is_503_when_the_database_is_down(redis_url, tmp_path):
    broken = create_app(
        app_settings(tmp_path, "postgresql://nobody@127.0.0.1:1/none", redis_url, "q")
    )
    response = broken.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["database"] is False


def test_unknown_page_is_a_404_in_the_site_layout(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "Page not found" in page
    assert 'class="app-header"' in page


def test_api_paths_get_json_errors(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_wrong_method_is_a_405_page(client):
    response = client.get("/auth/logout")
    assert response.status_code == 405
    assert "not available here" in response.get_data(as_text=True)


def test_too_large_body_is_a_413_page(app, client):
    response = client.post("/auth/login", data={"email": "x" * (51 * 1024 * 1024)})
    assert response.status_code == 413
    assert "larger than allowed" in response.get_data(as_text=True)


def test_post_without_csrf_token_is_refused(seeded, client):
    response = client.post(
        "/auth/login", data={"email": "stakeholder@example.org", "password": "consulta-demo"}
    )
    assert response.status_code == 400
    assert "form expired" in response.get_data(as_text=True)
    assert "Sign out" not in client.get("/").get_data(as_text=True)


def test_unexpected_error_shows_no_trace_but_a_request_id(tmp_path, caplog):
    application = create_app(app_settings(tmp_path, "", None, "q"))

    @application.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    response = application.test_client().get("/boom")
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "secret internals" not in page and "Traceback" not in page
    request_id = response.headers["X-Request-ID"]
    assert request_id in page


def test_request_id_is_logged_with_the_error(tmp_path):
    application = create_app(app_settings(tmp_path, "", None, "q"))
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    application.logger.addHandler(handler)

    @application.get("/boom")
    def boom():
        raise RuntimeError("logged")

    response = application.test_client().get("/boom", headers={"X-Request-ID": "trace-12345678"})
    assert response.headers["X-Request-ID"] == "trace-12345678"
    assert any(getattr(r, "request_id", None) == "trace-12345678" for r in records)


def test_pages_carry_strict_security_headers(client):
    headers = client.get("/").headers
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"


def test_passwords_are_stored_as_argon2id_at_the_production_cost(strong_hashing_app):
    from app.accounts.services import create_user

    with strong_hashing_app.app_context():
        create_user("hashed@example.org", "Hashed Person", "a long and unusual passphrase")
        db.session.commit()
        user = db.session.scalar(db.select(User).where(User.email == "hashed@example.org"))
        # RFC 9106's low-memory profile: 64 MiB, 3 passes, 4 lanes.
        assert user.password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_sign_in_ignores_an_offsite_next(seeded, client):
    response = submit_form(
        client,
        "/auth/login?next=//evil.example.com/x",
        email="stakeholder@example.org",
        password="consulta-demo",
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("target", ["/c%0d%0aSet-Cookie:%20x=1", "/c%0aX:%201", "/c%00"])
def test_sign_in_with_a_line_break_in_next_goes_home(seeded, client, target):
    # A CR or LF in the Location header was a 500 after the session had been created.
    response = submit_form(
        client,
        f"/auth/login?next={target}",
        email="stakeholder@example.org",
        password="consulta-demo",
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_sign_in_follows_a_local_next(seeded, client):
    target = "/c/leaders-summit-2021-migration"
    response = submit_form(
        client,
        f"/auth/login?next={target}",
        email="STAKEHOLDER@example.org",
        password="consulta-demo",
    )
    assert response.headers["Location"] == target


def test_wrong_password_keeps_the_email_and_says_so(seeded, client):
    response = submit_form(
        client, "/auth/login", email="stakeholder@example.org", password="not-the-password"
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "The email or password is not right." in page
    assert 'value="stakeholder@example.org"' in page


def test_session_cookie_is_httponly_and_samesite(seeded, client, login):
    response = submit_form(
        client, "/auth/login", email="stakeholder@example.org", password="consulta-demo"
    )
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_login_is_throttled_after_repeated_attempts(pg_url, tmp_path):
    throttled = create_app(app_settings(tmp_path, pg_url, None, "q"))
    client = throttled.test_client()
    statuses = [
        submit_form(client, "/auth/login", email="a@example.org", password="wrong").status_code
        for _ in range(12)
    ]
    assert statuses[:10] == [200] * 10
    assert statuses[-1] == 429
    last = submit_form(client, "/auth/login", email="a@example.org", password="wrong")
    assert last.status_code == 429
    assert "Too many attempts" in last.get_data(as_text=True)
    assert int(last.headers["Retry-After"]) > 0


def test_stakeholder_cannot_open_the_moderation_queue(seeded, client, login):
    login(client, "stakeholder@example.org")
    response = client.get("/moderation/")
    assert response.status_code == 403


def test_visitor_is_sent_to_sign_in_for_the_feedback_form(seeded, client):
    response = client.get("/c/leaders-summit-2021-migration/items/P1/feedback")
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


def test_a_stakeholder_cannot_request_reports(seeded, client, login):
    login(client, "stakeholder@example.org")
    page = client.get("/c/leaders-summit-2021-migration/items/P1").get_data(as_text=True)
    response = client.post("/reports/items/1", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 403
    assert "You do not have permission to do this." in response.get_data(as_text=True)


def test_a_database_outage_is_a_503_page_not_a_crash(redis_url, tmp_path):
    broken = create_app(
        app_settings(tmp_path, "postgresql://nobody@127.0.0.1:1/none", redis_url, "q")
    )
    response = broken.test_client().get("/")
    assert response.status_code == 503
    assert "temporarily unavailable" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "target",
    [
        "/\t/[x",
        "/\t/evil.example.com",
        "https://evil.example.com",
        "/c\r\nSet-Cookie: x=1",
        "/c\nLocation: https://evil.example.com",
        "/c\x00",
    ],
)
def test_a_malformed_or_offsite_next_is_replaced_by_the_home_page(client, target):
    page = client.get("/auth/login").get_data(as_text=True)
    response = client.post(
        "/auth/locale", data={"csrf_token": csrf_token(page), "locale": "fr", "next": target}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_demo_data_is_refused_outside_demo_mode(app):
    result = app.test_cli_runner().invoke(args=["demo-data"])
    assert result.exit_code != 0
    assert "DEMO_MODE" in result.output
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 0


def test_published_comments_carry_their_language(seeded, client):
    page = client.get("/c/leaders-summit-2021-migration/items/P4").get_data(as_text=True)
    assert 'lang="es">Los albergues del sur de México' in page
    assert 'lang="fr">La réinstallation' in page


def test_a_wrong_csrf_token_is_refused_like_a_missing_one(seeded, client):
    client.get("/auth/login")
    response = client.post(
        "/auth/login",
        data={"csrf_token": "forged", "email": "lead@example.org", "password": "consulta-demo"},
    )
    assert response.status_code == 400
    assert "Sign out" not in client.get("/").get_data(as_text=True)
