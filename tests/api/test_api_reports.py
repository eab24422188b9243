"""Reports through the API: the council requests one and follows it to its result and files;
published public versions are open to everyone; nobody else reaches council reports."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Consultation, Item, User
from app.reports import pipeline
from app.reports import services as reports

pytestmark = [pytest.mark.postgres]
SUMMIT = "leaders-summit-2021-migration"


def _ids(app) -> tuple[int, int, int]:
    """(consultation id, the id of its item P4, the council member's id)."""
    with app.app_context():
        consultation = db.session.scalar(select(Consultation.id).where(Consultation.slug == SUMMIT))
        item = db.session.scalar(
            select(Item.id).where(Item.consultation_id == consultation, Item.code == "P4")
        )
        council = db.session.scalar(select(User.id).where(User.email == "council@example.org"))
    return consultation, item, council


def test_the_council_requests_a_report_and_follows_it_to_its_files(
    seeded, client, bearer, report_jobs_here
):
    consultation, item, _council = _ids(seeded)
    headers = bearer("council")
    asked = client.post(
        "/api/v1/reports", json={"consultation_id": consultation, "item_id": item}, headers=headers
    )
    assert asked.status_code == 202
    body = asked.get_json()
    assert asked.headers["Location"] == body["url"] == f"/api/v1/reports/{body['id']}"
    assert body["status"] == "queued" and body["readable"] is False and body["result"] is None
    assert body["files"] == {}
    # The same snapshot asked again is the same report.
    again = client.post(
        "/api/v1/reports", json={"consultation_id": consultation, "item_id": item}, headers=headers
    )
    assert again.get_json()["id"] == body["id"]
    with seeded.test_request_context():
        pipeline.run_in_process(body["id"])  # what the worker would do
    done = client.get(body["url"], headers=headers).get_json()
    assert done["status"] == "done" and done["percent"] == 100 and done["readable"] is True
    assert done["result"]["figures"]["headline"]["submissions"] > 0
    assert set(done["files"]) == {"pdf", "csv", "xlsx"}
    assert done["files"]["pdf"] == f"/api/v1/reports/{body['id']}/files/pdf"
    pdf = client.get(done["files"]["pdf"], headers=headers)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    listed = client.get("/api/v1/reports", headers=headers).get_json()
    assert body["id"] in [r["id"] for r in listed["data"]]


@pytest.mark.parametrize("role", ["stakeholder", "lead", "moderator"])
def test_other_roles_cannot_reach_council_reports(seeded, client, bearer, role, report_jobs_here):
    consultation, _item, council = _ids(seeded)
    with seeded.app_context():
        report_id = reports.request_report(council, consultation).id
    headers = bearer(role)
    assert client.get(f"/api/v1/reports/{report_id}", headers=headers).status_code == 403
    assert client.get("/api/v1/reports", headers=headers).status_code == 403
    asked = client.post("/api/v1/reports", json={"consultation_id": consultation}, headers=headers)
    assert asked.status_code == 403
    assert client.get(f"/api/v1/reports/{report_id}").status_code == 401  # a visitor


def test_an_item_of_another_consultation_is_refused_with_its_field(
    seeded, client, bearer, report_jobs_here
):
    consultation, _item, _council = _ids(seeded)
    with seeded.app_context():
        other = db.session.scalar(select(Item.id).where(Item.consultation_id != consultation))
    response = client.post(
        "/api/v1/reports",
        json={"consultation_id": consultation, "item_id": other},
        headers=bearer("council"),
    )
    assert response.status_code == 404
    assert response.get_json()["error"]["field"] == "item_id"
    # An item that does not exist at all (found by Schemathesis: it was a 500).
    missing = client.post(
        "/api/v1/reports",
        json={"consultation_id": consultation, "item_id": 2_000_000},
        headers=bearer("council"),
    )
    assert missing.status_code == 404
    assert missing.get_json()["error"]["field"] == "item_id"


def test_published_public_versions_are_open_to_everyone(seeded, client, report_jobs_here):
    consultation, item, council = _ids(seeded)
    with seeded.test_request_context():
        public = reports.request_report(council, consultation, item_id=item, public=True).id
        pipeline.run_in_process(public)
        council_only = reports.request_report(council, consultation, item_id=item).id
        pipeline.run_in_process(council_only)
    url = f"/api/v1/consultations/{SUMMIT}/reports/{public}"
    assert client.get(url).status_code == 404  # not published yet
    with seeded.app_context():
        reports.publish_report(council, public)
    listed = client.get(f"/api/v1/consultations/{SUMMIT}/reports").get_json()
    assert [r["id"] for r in listed["data"]] == [public]
    body = client.get(url).get_json()
    assert body["public"] is True and body["result"]["public"] is True
    assert body["files"]["csv"].startswith(f"/c/{SUMMIT}/reports/{public}/download/")
    assert client.get(body["files"]["csv"]).status_code == 200
    hidden = f"/api/v1/consultations/{SUMMIT}/reports/{council_only}"
    assert client.get(hidden).status_code == 404  # the council's version is never public
