"""The API's consultations and items, its token check, its errors and its documents."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import event, select, update

from app.extensions import db
from app.models import ApiToken
from app.models.base import utcnow

pytestmark = [pytest.mark.postgres]
SLUG = "leaders-summit-2021-migration"


def test_consultations_are_listed_with_translations_and_utc_times(seeded, client):
    response = client.get("/api/v1/consultations")
    assert response.status_code == 200
    body = response.get_json()
    assert body["next"] is None
    summit = next(c for c in body["data"] if c["slug"] == SLUG)
    assert set(summit["title"]) >= {"en", "es", "fr"}
    assert summit["state"] == "open"
    assert summit["opens_at"].endswith("+00:00") and "T" in summit["opens_at"]
    assert summit["url"] == f"/api/v1/consultations/{SLUG}"


def test_a_consultation_lists_its_items_in_order(seeded, client):
    body = client.get(f"/api/v1/consultations/{SLUG}").get_json()
    codes = [item["code"] for item in body["items"]]
    assert codes == ["P1", "P2", "P3", "P4", "P5", "P6"]
    assert [item["position"] for item in body["items"]] == sorted(
        item["position"] for item in body["items"]
    )
    assert body["items"][0]["url"] == f"/api/v1/consultations/{SLUG}/items/P1"


def test_an_item_carries_every_version_of_its_text(seeded, client):
    body = client.get(f"/api/v1/consultations/{SLUG}/items/P1").get_json()
    assert body["consultation"] == SLUG and body["kind"] == "pledge"
    assert [v["number"] for v in body["versions"]] == list(range(1, body["current_version"] + 1))
    first = body["versions"][0]
    assert set(first["body"]) >= {"en", "es", "fr"} and first["body"]["en"]


@pytest.mark.parametrize(
    "path", ["/api/v1/consultations/nope", f"/api/v1/consultations/{SLUG}/items/P99"]
)
def test_unknown_things_are_404_json_with_a_code(seeded, client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.mimetype == "application/json"
    assert response.get_json()["error"]["code"] == "not_found"


def test_a_valid_token_is_accepted_and_a_bad_or_revoked_one_is_401(seeded, client, bearer):
    headers = bearer("stakeholder")
    assert client.get("/api/v1/consultations", headers=headers).status_code == 200
    for value in ("Bearer nope", "Basic abc", "Bearer "):
        response = client.get("/api/v1/consultations", headers={"Authorization": value})
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] == "invalid_token"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    with seeded.app_context():
        db.session.execute(update(ApiToken).values(revoked_at=utcnow()))
        db.session.commit()
    assert client.get("/api/v1/consultations", headers=headers).status_code == 401


def answer(client, headers: dict) -> int:
    """A GET as a WSGI server serves it: the response closed once sent (when the use is noted)."""
    with client.get("/api/v1/consultations", headers=headers) as response:
        return response.status_code


def test_a_token_request_notes_when_the_token_was_last_used(seeded, client, bearer):
    answer(client, bearer("lead"))
    with seeded.app_context():
        used = db.session.scalars(select(ApiToken.last_used_at)).all()
    assert any(used)


def test_a_busy_token_is_noted_at_most_once_a_minute_and_never_in_the_request(
    seeded, client, bearer
):
    headers = bearer("lead")
    with seeded.app_context():
        engine = db.engine
    writes: list[str] = []

    def watch(_connection, _cursor, statement, _parameters, _context, _many):
        if statement.lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE")):
            writes.append(statement.split("SET")[0].strip())

    event.listen(engine, "before_cursor_execute", watch)
    try:
        for _ in range(5):
            assert answer(client, headers) == 200
        first_minute = list(writes)
        with seeded.app_context():
            # A minute later (the noted use moved back), the next request notes it again.
            db.session.execute(
                update(ApiToken).values(last_used_at=utcnow() - timedelta(minutes=2))
            )
            db.session.commit()
        writes.clear()
        assert answer(client, headers) == 200
        assert answer(client, headers) == 200
    finally:
        event.remove(engine, "before_cursor_execute", watch)
    assert first_minute == ["UPDATE api_tokens"]
    assert writes == ["UPDATE api_tokens"]
    with seeded.app_context():
        noted = db.session.scalar(select(ApiToken.last_used_at))
    assert noted > utcnow() - timedelta(minutes=1)


def test_the_openapi_document_describes_every_route_of_the_api(seeded, client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    assert document["components"]["securitySchemes"]["bearerToken"]["scheme"] == "bearer"
    rules = {
        re.sub(r"<(?:[^:>]+:)?(\w+)>", r"{\1}", rule.rule)
        for rule in seeded.url_map.iter_rules()
        if rule.endpoint.startswith("api_") and not rule.endpoint.startswith("api_docs")
    }
    assert rules and rules <= set(document["paths"])
    for operations in document["paths"].values():
        for method, operation in operations.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                assert {"401", "500"} <= set(operation["responses"])


def test_the_docs_page_serves_swagger_ui_from_this_site(seeded, client):
    page = client.get("/api/v1/docs/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-spec-url="/api/v1/openapi.json"' in html
    assert "<script>" not in html  # no inline script: the strict CSP holds
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert client.get("/api/v1/docs/assets/swagger-ui-bundle.js").status_code == 200


def test_each_token_has_its_own_rate_limit_with_retry_after(seeded, client, bearer):
    seeded.config["SETTINGS"] = seeded.config["SETTINGS"].replace(api_rate_limit="3/minute")
    try:
        first, second = bearer("stakeholder"), bearer("lead")
        answers = [client.get("/api/v1/consultations", headers=first) for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        refused = answers[-1]
        assert refused.get_json()["error"]["code"] == "rate_limited"
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        # Another token is counted apart.
        assert client.get("/api/v1/consultations", headers=second).status_code == 200
    finally:
        seeded.config["SETTINGS"] = seeded.config["SETTINGS"].replace(api_rate_limit="600/minute")
