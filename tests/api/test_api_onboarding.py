"""POST /api/v1/organizations/import: admins import a CSV file; everyone else is refused."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Organization
from app.models.organization import INTERNATIONAL_COUNTRY
from tests.helpers.onboarding import csv_file, organisation_line

pytestmark = [pytest.mark.postgres]

URL = "/api/v1/organizations/import"


def imported(app) -> int:  # noqa: ANN001
    with app.app_context():
        return db.session.scalar(
            select(func.count()).where(Organization.name.startswith("Onboarded Organisation"))
        )


def test_admin_imports_a_csv_body_and_again_creates_nothing(seeded, client, bearer):
    data = csv_file(organisation_line(1), organisation_line(2), bom=True)
    headers = {**bearer("admin"), "Content-Type": "text/csv"}

    first = client.post(URL, data=data, headers=headers)
    assert first.status_code == 201
    assert first.json["organizations_created"] == 2
    assert first.json["invitations_queued"] == 2

    second = client.post(URL, data=data, headers=headers)
    assert second.status_code == 200
    assert second.json["organizations_present"] == 2
    assert second.json["invitations_queued"] == 0
    assert imported(seeded) == 2


def test_admin_imports_a_multipart_upload(seeded, client, bearer):
    upload = {"file": (io.BytesIO(csv_file(organisation_line(3))), "organisations.csv")}
    response = client.post(URL, data=upload, headers=bearer("admin"))
    assert response.status_code == 201
    assert response.json["leads_created"] == 1


def test_every_faulty_line_is_answered_with_422_and_nothing_is_imported(seeded, client, bearer):
    data = csv_file(
        organisation_line(1),
        "Org B,charity,MX,,Lead,lead-b@example.org,en",
        "Org C,ngo,MX,,Lead,not-an-address,es",
    )
    response = client.post(URL, data=data, headers={**bearer("admin"), "Content-Type": "text/csv"})

    assert response.status_code == 422
    error = response.json["error"]
    assert error["code"] == "import_invalid"
    assert [(row["line"], row["field"], row["code"]) for row in error["rows"]] == [
        (3, "organisation_type", "invalid_choice"),
        (4, "lead_email", "invalid_email"),
    ]
    assert all(row["message"] for row in error["rows"])
    assert imported(seeded) == 0


@pytest.mark.parametrize("role", ["stakeholder", "lead", "moderator", "council"])
def test_only_an_admin_may_import(seeded, client, bearer, role):
    data = csv_file(organisation_line(1))
    response = client.post(URL, data=data, headers={**bearer(role), "Content-Type": "text/csv"})
    assert response.status_code == 403
    assert imported(seeded) == 0


def test_a_visitor_is_asked_to_authenticate(seeded, client):
    response = client.post(URL, data=csv_file(organisation_line(1)))
    assert response.status_code == 401


def test_the_import_is_in_the_openapi_document(seeded, client):
    operation = client.get("/api/v1/openapi.json").json["paths"][URL]["post"]
    assert set(operation["requestBody"]["content"]) == {"text/csv", "multipart/form-data"}
    assert {"200", "201", "403", "422"} <= set(operation["responses"])


def test_an_organisation_working_across_countries_is_imported_as_international(
    seeded, client, bearer
):
    line = "Onboarded Organisation 9,international,XX,,Lead 9,lead9@onboarded.example.org,en"
    response = client.post(
        URL, data=csv_file(line), headers={**bearer("admin"), "Content-Type": "text/csv"}
    )
    assert response.status_code == 201, response.json
    with seeded.app_context():
        organization = db.session.scalar(
            select(Organization).where(Organization.name == "Onboarded Organisation 9")
        )
        assert organization.country == INTERNATIONAL_COUNTRY
