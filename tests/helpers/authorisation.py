"""The authorisation matrix's people and records: one signed-in client per role, and the ids
that fill every URL rule's arguments, taken from (or added to) the seeded demo data.

Used by tests/integration/test_authorisation_matrix.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import Flask, url_for
from flask.testing import FlaskClient
from sqlalchemy import select, text
from werkzeug.routing import Rule

from app.accounts.profile import create_api_token
from app.accounts.sessions import hash_password
from app.extensions import db
from app.feedback.attachments import add_attachment
from app.models import (
    CosignState,
    CouncilResponse,
    Disclosure,
    Feedback,
    FeedbackCosigner,
    FeedbackState,
    Item,
    JoinRequest,
    Organization,
    User,
    VerificationState,
)
from app.moderation.redactions import redact
from app.reports import pipeline
from app.reports import services as reports
from tests import factories
from tests.helpers.files import pdf_bytes
from tests.helpers.site_pages import FORGED_TOKEN, _campaign, _password_tokens
from tests.helpers.web import DEMO_PASSWORD, csrf_token, sign_in

ORGANISATION_A = "Northern Corridor Migrant Support Network"  # the demo organisation
ORGANISATION_B = "Red Fronteriza de Acogida"

# role -> the demo account that plays it (None: a visitor, not signed in)
ACCOUNTS = {
    "visitor": None,
    "member_a": "stakeholder@example.org",
    "lead_a": "lead@example.org",
    "lead_b": "member1@demo.example.org",  # the seeded lead of organisation B
    "moderator": "moderator@example.org",
    "council": "council@example.org",
    "admin": "admin@example.org",
}
ROLES = tuple(ACCOUNTS)
BYSTANDER = "member3@demo.example.org"  # the account the admin's user routes act on


@dataclass
class Caller:
    """One role's browser (session cookie and CSRF token) and API token."""

    role: str
    client: FlaskClient
    csrf: str
    api_token: str | None
    spare_token_id: int | None  # a token of its own, for the revoke route to act on

    def api_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_token}"} if self.api_token else {}


@dataclass
class MatrixData:
    """The ids every rule argument is filled from (see `arguments`)."""

    slug: str  # the consultation of `item_id`
    code: str
    item_id: int  # an item organisation A has a published, revised position on
    version: int
    consultation_id: int
    review_id: int  # a submission waiting for a moderator
    pending_organisation_id: int
    report_id: int  # the council's report on the item
    public_report_id: int  # its public version, published
    campaign_key: str
    action_id: int  # a bulk decision on the campaign
    reset_token: str
    welcome_token: str
    own_feedback_id: int  # organisation A's position awaiting changes (editable)
    api_attachment_id: int  # council-only files on it: one for the API, one for the pages
    page_attachment_id: int
    invited_cosigner_id: int  # A invited to co-sign another organisation's position
    cosigning_id: int  # A co-signing organisation B's position
    inviting_cosigner_id: int  # A's own position, with an invitation it sent
    join_request_id: int  # someone asking to join A
    redaction_id: int
    response_id: int  # the seeded council response
    bystander_id: int
    spare_tokens: dict[str, int] = field(default_factory=dict)


def build_matrix_data(app: Flask) -> MatrixData:
    """On the seeded data, with no worker woken: the demo records plus what the ownership rules
    need (the reports cover one item: a whole consultation's PDF takes seconds to lay out)."""
    with app.app_context():
        org_a, org_b = _organisation(ORGANISATION_A), _organisation(ORGANISATION_B)
        lead_a, lead_b = _user(ACCOUNTS["lead_a"]), _user(ACCOUNTS["lead_b"])
        # The seeded lead of B has a random password: give it the demo one to sign in with.
        lead_b.password_hash = hash_password(DEMO_PASSWORD)
        own = _feedback_of(org_a.id, FeedbackState.CHANGES_REQUESTED)
        published_a = _feedback_of(org_a.id, FeedbackState.PUBLISHED)
        published_b = _feedback_of(org_b.id, FeedbackState.PUBLISHED)
        item = db.session.get(Item, published_a.item_id)
        other = _user(BYSTANDER)
        cosigning = FeedbackCosigner(
            feedback_id=published_b.id, organization_id=org_a.id, state=CosignState.ACCEPTED
        )
        inviting = FeedbackCosigner(
            feedback_id=published_a.id,
            organization_id=other.organization_id,
            state=CosignState.INVITED,
        )
        db.session.add_all([cosigning, inviting])
        db.session.commit()
        joiner = factories.person(email="joiner@example.org")
        join = JoinRequest(organization_id=org_a.id, user_id=joiner.id)
        db.session.add(join)
        db.session.commit()
        attachments = [
            add_attachment(lead_a.id, own.item_id, pdf_bytes(), name, Disclosure.COUNCIL_ONLY).id
            for name in ("api.pdf", "page.pdf")
        ]
        moderator = _user(ACCOUNTS["moderator"])
        # Before the reports: a redaction takes the item's public reports down again.
        redaction = redact(moderator.id, published_a.id, "comment", 0, 8, "A name")
        report_id, public_report_id = _item_reports(item)
        campaign_key, action_id = _campaign(db.session.get(Item, own.item_id))
        reset_token, welcome_token = _password_tokens(other)
        return MatrixData(
            slug=item.consultation.slug,
            code=item.code,
            item_id=item.id,
            version=item.current_version,
            consultation_id=item.consultation_id,
            review_id=_first(select(Feedback.id).where(Feedback.state == FeedbackState.SUBMITTED)),
            pending_organisation_id=_first(
                select(Organization.id).where(
                    Organization.verification == VerificationState.PENDING
                )
            ),
            report_id=report_id,
            public_report_id=public_report_id,
            campaign_key=campaign_key,
            action_id=action_id,
            reset_token=reset_token,
            welcome_token=welcome_token,
            own_feedback_id=own.id,
            api_attachment_id=attachments[0],
            page_attachment_id=attachments[1],
            invited_cosigner_id=_invitation_to(org_a.id),
            cosigning_id=cosigning.id,
            inviting_cosigner_id=inviting.id,
            join_request_id=join.id,
            redaction_id=redaction.id,
            response_id=_first(select(CouncilResponse.id)),
            bystander_id=other.id,
        )


def _item_reports(item: Item) -> tuple[int, int]:
    """The council's report on the item, and its public version, published."""
    council = _user(ACCOUNTS["council"]).id
    report_id = reports.request_report(council, item.consultation_id, item_id=item.id).id
    pipeline.run_in_process(report_id)
    public = reports.request_report(council, item.consultation_id, item_id=item.id, public=True)
    pipeline.run_in_process(public.id)
    reports.publish_report(council, public.id)
    return report_id, public.id


def _first(query):  # noqa: ANN001, ANN202
    return db.session.scalar(query.order_by(query.selected_columns[0]))


def _organisation(name: str) -> Organization:
    return db.session.scalar(select(Organization).where(Organization.name == name))


def _user(email: str) -> User:
    return db.session.scalar(select(User).where(User.email == email))


def _feedback_of(organization_id: int, state: FeedbackState) -> Feedback:
    return db.session.scalar(
        select(Feedback)
        .where(Feedback.organization_id == organization_id, Feedback.state == state)
        .order_by(Feedback.id)
    )


def _invitation_to(organization_id: int) -> int:
    return db.session.scalar(
        select(FeedbackCosigner.id).where(
            FeedbackCosigner.organization_id == organization_id,
            FeedbackCosigner.state == CosignState.INVITED,
        )
    )


def callers(app: Flask, data: MatrixData) -> dict[str, Caller]:
    """A client per role, each from its own address (the sign-in throttle counts per address),
    signed in through the login form, with the CSRF token of its session and an API token."""
    found = {}
    for number, (role, email) in enumerate(ACCOUNTS.items(), start=1):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"198.51.100.{number}"
        token = spare = None
        if email is not None:
            sign_in(client, email)
            token, spare = _api_tokens(app, email)
        csrf = csrf_token(client.get("/").get_data(as_text=True))
        with client.session_transaction() as session:  # as after registering: a mail was sent
            session["check_email"] = {"email": "someone@example.org", "reset": False}
        found[role] = Caller(role, client, csrf, token, spare)
    data.spare_tokens = {role: caller.spare_token_id for role, caller in found.items()}
    return found


def _api_tokens(app: Flask, email: str) -> tuple[str, int]:
    """(the secret of a token for the API requests, the id of a second one to revoke)."""
    with app.app_context():
        user_id = _user(email).id
        secret = create_api_token(user_id, "matrix").secret
        return secret, create_api_token(user_id, "to revoke").token.id


def arguments(rule: Rule, data: MatrixData, role: str) -> dict[str, object]:
    """The values of a rule's arguments: the records of organisation A where a rule is about
    one organisation's things, so the matrix tells A's people from B's lead."""
    endpoint = rule.endpoint
    values = {
        "slug": data.slug,
        "code": data.code,
        "item_id": data.item_id,
        "number": data.version,
        "consultation_id": data.consultation_id,
        "organization_id": data.pending_organisation_id,
        "report_id": data.report_id,
        "key": data.campaign_key,
        "action_id": data.action_id,
        "request_id": data.join_request_id,
        "redaction_id": data.redaction_id,
        "response_id": data.response_id,
        "user_id": data.bystander_id,
        "fmt": "csv",
        "filename": "swagger-ui.css",
        "token_id": data.spare_tokens.get(role) or data.spare_tokens["member_a"],
        "feedback_id": data.own_feedback_id if endpoint.startswith("api_") else data.review_id,
        "attachment_id": (
            data.api_attachment_id if endpoint.startswith("api_") else data.page_attachment_id
        ),
        "cosigner_id": {
            "cosigning.leave": data.cosigning_id,
            "cosigning.withdraw": data.inviting_cosigner_id,
        }.get(endpoint, data.invited_cosigner_id),
        "token": {
            "auth.reset_password": data.reset_token,
            "auth.set_password": data.welcome_token,
        }.get(endpoint, FORGED_TOKEN),
    }
    if endpoint.startswith(("consultations.report", "api_public_reports.")):
        values["report_id"] = data.public_report_id
    return {name: values[name] for name in rule.arguments}


# Query strings a route needs to answer its allowed roles without a fault of the test's making:
# readiness without a worker process (the matrix runs none) is a 503 by design.
QUERY = {"health.readyz": {"worker": "optional"}}


def url_of(app: Flask, rule: Rule, data: MatrixData, role: str) -> str:
    with app.test_request_context():
        return url_for(rule.endpoint, **arguments(rule, data, role), **QUERY.get(rule.endpoint, {}))


# Every table a request could change, but the sign-in sessions and the time a token was last
# used (reading through the API notes it): (table, the columns compared).
WATCHED = {
    **{
        table: "*"
        for table in [
            "consultations",
            "items",
            "reports",
            "moderation_flags",
            "moderation_notes",
            "redactions",
            "bulk_actions",
            "council_responses",
            "invitations",
            "organizations",
            "join_requests",
            "colleague_invitations",
            "feedback",
            "feedback_revisions",
            "feedback_cosigners",
            "attachments",
            "audit_events",
            "notifications",
            "users",
            "used_tokens",
            "idempotent_requests",
        ]
    },
    "api_tokens": "id, revoked_at",
}


def stored_state(app: Flask) -> dict[str, str]:
    """table -> a digest of its rows, to tell whether anything was written."""
    with app.app_context():
        return {
            table: db.session.scalar(
                text(
                    f"SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), ''))"  # noqa: S608 - fixed names
                    f" FROM (SELECT {columns} FROM {table}) t"
                )
            )
            for table, columns in WATCHED.items()
        }
