"""Importing organisations and their leads from a CSV file, at the service level."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.accounts.sessions import has_usable_password
from app.errors import Forbidden
from app.extensions import db
from app.models import AuditEvent, Notification, Organization, Role, User, VerificationState
from app.organizations import onboarding
from app.organizations.onboarding import ImportInvalid
from tests import factories
from tests.helpers.onboarding import csv_file, organisation_line

pytestmark = [pytest.mark.postgres]


@pytest.fixture
def ctx(unseeded):
    """A request context: the invitations' links are built with url_for."""
    with unseeded.test_request_context():
        yield unseeded
        db.session.rollback()


@pytest.fixture
def admin(ctx) -> User:
    return factories.staff(Role.ADMIN)


def count(model) -> int:  # noqa: ANN001
    return db.session.scalar(select(func.count()).select_from(model))


def faults_of(admin: User, data: bytes) -> list[tuple[int, str | None, str]]:
    with pytest.raises(ImportInvalid) as raised:
        onboarding.import_organizations(admin.id, data)
    return [(row.line, row.field, row.code) for row in raised.value.rows]


def test_a_valid_file_creates_verified_organisations_and_invited_leads(admin):
    data = csv_file(organisation_line(1), organisation_line(2, language="es"))

    result = onboarding.import_organizations(admin.id, data)

    assert (result.organizations_created, result.leads_created, result.invitations_queued) == (
        2,
        2,
        2,
    )
    organization = db.session.scalar(
        select(Organization).where(Organization.name == "Onboarded Organisation 2")
    )
    assert organization.verification is VerificationState.VERIFIED
    assert organization.verified_by_id == admin.id
    assert organization.website == "https://org2.example.org"
    lead = db.session.scalar(select(User).where(User.email == "lead2@onboarded.example.org"))
    assert lead.is_lead and lead.organization_id == organization.id and lead.locale == "es"
    assert not has_usable_password(lead.password_hash)
    invitation = db.session.scalar(select(Notification).where(Notification.user_id == lead.id))
    assert "/set-password/" in invitation.body_text
    assert invitation.to_email == lead.email and "Consulta" in invitation.subject
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"organization.import", "organization.import_file", "user.create"} <= actions


def test_every_faulty_line_is_reported_and_nothing_is_imported(admin):
    data = csv_file(
        organisation_line(1),
        ",ngo,MX,,Lead,lead-a@example.org,en",
        "Org B,charity,MX,,Lead,lead-b@example.org,en",
        "Org C,ngo,ZZ,,Lead,lead-c@example.org,en",
        "Org D,ngo,MX,ftp://d.example.org,Lead,lead-d@example.org,en",
        "Org E,ngo,MX,,Lead,not-an-address,en",
        "Org F,ngo,MX,,Lead,lead-f@example.org,de",
        "Org G,ngo,MX,,,lead-g@example.org,en",
    )

    assert faults_of(admin, data) == [
        (3, "organisation_name", "required"),
        (4, "organisation_type", "invalid_choice"),
        (5, "country", "invalid_country"),
        (6, "website", "invalid_url"),
        (7, "lead_email", "invalid_email"),
        (8, "lead_language", "invalid_choice"),
        (9, "lead_name", "required"),
    ]
    assert count(Organization) == 0
    assert count(User) == 1  # the admin
    assert count(Notification) == 0


def test_duplicates_within_the_file_are_reported_with_the_earlier_line(admin):
    data = csv_file(
        organisation_line(1),
        "onboarded  ORGANISATION 1,ngo,MX,,Other,other@example.org,en",
        organisation_line(2, email="LEAD1@onboarded.example.org"),
    )
    with pytest.raises(ImportInvalid) as raised:
        onboarding.import_organizations(admin.id, data)
    rows = raised.value.rows
    assert [(row.line, row.field, row.code) for row in rows] == [
        (3, "organisation_name", "duplicate"),
        (4, "lead_email", "duplicate"),
    ]
    assert "line 2" in rows[0].message


def test_importing_the_same_file_again_creates_and_sends_nothing(admin):
    data = csv_file(organisation_line(1), organisation_line(2))
    onboarding.import_organizations(admin.id, data)

    again = onboarding.import_organizations(admin.id, data)

    assert (again.organizations_created, again.organizations_present) == (0, 2)
    assert (again.leads_created, again.leads_present, again.invitations_queued) == (0, 2, 0)
    assert count(Organization) == 2
    assert count(Notification) == 2


def test_existing_organisations_and_people_are_matched_not_duplicated(admin):
    organization = factories.organization("Onboarded Organisation 1")
    member = factories.person("lead2@onboarded.example.org")  # no organisation yet
    data = csv_file(
        organisation_line(1).replace("Onboarded Organisation 1", "ONBOARDED organisation 1"),
        organisation_line(2, email="Lead2@Onboarded.example.org"),
    )

    result = onboarding.import_organizations(admin.id, data)

    assert (result.organizations_created, result.organizations_present) == (1, 1)
    assert (result.leads_created, result.leads_present) == (1, 1)
    db.session.refresh(member)
    assert member.is_lead and member.organization.name == "Onboarded Organisation 2"
    assert has_usable_password(member.password_hash)
    # Someone who can already sign in is not asked to choose a password.
    assert result.invitations_queued == 1
    new_lead = db.session.scalar(select(User).where(User.email == "lead1@onboarded.example.org"))
    assert new_lead.organization_id == organization.id


def test_a_member_of_another_organisation_or_a_staff_account_is_a_faulty_line(admin):
    elsewhere = factories.lead()
    moderator = factories.staff(Role.MODERATOR)
    data = csv_file(
        organisation_line(1, email=elsewhere.email),
        organisation_line(2, email=moderator.email),
    )
    assert faults_of(admin, data) == [
        (2, "lead_email", "other_organization"),
        (3, "lead_email", "staff_account"),
    ]


def test_a_byte_order_mark_and_header_spelling_are_accepted(admin):
    header = "Organisation Name,Organisation Type,Country,Lead Name,Lead Email"
    data = csv_file("Café Solidario,faith_based,gt,Ana,ana@example.org", header=header, bom=True)

    result = onboarding.import_organizations(admin.id, data)

    assert result.organizations_created == 1
    organization = db.session.scalar(select(Organization))
    assert (organization.name, organization.country) == ("Café Solidario", "GT")
    assert db.session.scalar(select(User.locale).where(User.email == "ana@example.org")) == "en"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\xff\xfeo\x00r\x00g\x00", "UTF-8"),
        (b"name,email\r\nA,a@example.org\r\n", "lacks these columns"),
        (csv_file(), "no organisations"),
    ],
)
def test_a_file_that_is_not_an_import_is_refused_as_a_whole(admin, data, message):
    with pytest.raises(ImportInvalid) as raised:
        onboarding.import_organizations(admin.id, data)
    assert message in raised.value.message


@pytest.mark.parametrize("role", [Role.STAKEHOLDER, Role.MODERATOR, Role.COUNCIL])
def test_only_an_admin_may_import(ctx, role):
    someone = factories.staff(role)
    with pytest.raises(Forbidden):
        onboarding.import_organizations(someone.id, csv_file(organisation_line(1)))
    assert count(Organization) == 0
