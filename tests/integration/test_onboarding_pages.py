"""The admin's organisations import page over HTTP, and the invitation a new lead receives."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Notification, Organization
from tests.helpers.onboarding import csv_file, organisation_line
from tests.helpers.web import submit_form

pytestmark = [pytest.mark.postgres]

PAGE = "/admin/organizations/import"
ADMIN = "admin@example.org"
PASSWORD = "a river runs through the quiet valley"


def upload(client, data: bytes):  # noqa: ANN001, ANN201
    return submit_form(client, PAGE, file=(io.BytesIO(data), "organisations.csv"))


def organisations_named(app, prefix: str) -> int:  # noqa: ANN001
    with app.app_context():
        return db.session.scalar(select(func.count()).where(Organization.name.startswith(prefix)))


def test_admin_imports_a_file_and_sees_what_was_created(seeded, client, login):
    login(client, ADMIN)
    page = client.get(PAGE)
    assert page.status_code == 200
    assert "lead_email" in page.get_data(as_text=True)

    response = upload(client, csv_file(organisation_line(1), organisation_line(2)))

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "The file is imported" in html
    assert 'govuk-table__cell--numeric">2</td>' in html
    assert organisations_named(seeded, "Onboarded Organisation") == 2

    again = upload(client, csv_file(organisation_line(1), organisation_line(2)))
    assert again.status_code == 200
    assert "Invitations to choose a password sent: 0." in again.get_data(as_text=True)
    assert organisations_named(seeded, "Onboarded Organisation") == 2


def test_faulty_lines_are_listed_and_nothing_is_kept(seeded, client, login):
    login(client, ADMIN)
    data = csv_file(organisation_line(1), "Org B,charity,MX,,Lead,lead-b@example.org,en")

    response = upload(client, data)

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "There is a problem" in html
    assert 'id="faulty-lines"' in html
    assert (
        '<th scope="row" class="govuk-table__header">3</th>' in html and "organisation_type" in html
    )
    assert organisations_named(seeded, "Onboarded Organisation") == 0


def test_the_form_needs_a_file_and_its_csrf_token(seeded, client, login):
    login(client, ADMIN)
    assert "Choose the CSV file to import." in submit_form(client, PAGE).get_data(as_text=True)
    forged = client.post(PAGE, data={"file": (io.BytesIO(csv_file(organisation_line(1))), "a.csv")})
    assert forged.status_code == 400
    assert organisations_named(seeded, "Onboarded Organisation") == 0


def test_the_page_is_for_admins_only(seeded, client, login):
    login(client, "moderator@example.org")
    assert client.get(PAGE).status_code == 403


@pytest.mark.worker
def test_an_imported_lead_chooses_a_password_from_the_mailed_link_and_signs_in(
    seeded, app, client, login, celery_worker, mail_catcher
):
    login(client, ADMIN)
    email = "new.lead@onboarded.example.org"
    assert upload(client, csv_file(organisation_line(7, email=email))).status_code == 200

    message = mail_catcher.wait_for(email, "choose your password")
    path = mail_catcher.link_in(message)
    assert path.startswith("/auth/set-password/")
    visitor = app.test_client()
    assert submit_form(visitor, "/auth/login", email=email, password=PASSWORD).status_code == 200

    assert visitor.get(path).status_code == 200
    chosen = submit_form(visitor, path, password=PASSWORD)
    assert chosen.status_code == 302
    signed_in = submit_form(visitor, "/auth/login", email=email, password=PASSWORD)
    assert signed_in.status_code == 302
    assert visitor.get(path).status_code == 400  # the link works once
    with seeded.app_context():
        assert db.session.scalar(select(func.count()).where(Notification.to_email == email)) == 1
