"""Who may use each route: every rule of the URL map × method × role, on the seeded data.

Each route's expected outcome is written down once, in POLICY: the policy names the roles it
lets in and whether the others are told "not found" rather than "not allowed". A route added
without an entry fails `test_every_route_has_a_policy`.

- Allowed: the view really ran. Neither 401/403 nor a redirect to sign-in; and, since the ids
  are real (tests/helpers/authorisation.py), no 404 either, except for a role that comes after
  another allowed one on a route that uses its record up (USED_UP: a deleted file).
- Refused: 401 or 403 (JSON under /api/); a visitor on an HTML page may instead be sent to
  sign in (the staff areas answer 403 to visitors, app/staff.py); 404 only where the policy
  hides the record, because the services look it up within what the caller may see (another
  organisation's position, a file of someone else's draft).
- Refused roles send an invalid query string, and unsafe methods an empty or invalid body, so
  a refused role must be refused whatever it sends: a 400/409/422 to it means validation ran
  before the role check.

CSRF: every browser posts the real CSRF token of its own session, fetched once after signing in,
so the matrix exercises the app as deployed; with a missing token every POST would answer 400
before any role check and hide it (CSRF refusals have their own tests). API requests carry the
role's own Bearer token, which needs no CSRF token; the visitor sends none.

Speed: the seeded database and one signed-in browser per role are set up once for the module
and every request is sent once. Safe requests go first, then the unsafe ones refused roles send
(which must change nothing, checked), then the unsafe ones allowed roles send, with signing out
last.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flask import Flask
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

from app import create_app
from tests.helpers.authorisation import (
    ROLES,
    Caller,
    MatrixData,
    build_matrix_data,
    callers,
    stored_state,
    url_of,
)
from tests.helpers.database import SEEDED
from tests.helpers.site_pages import no_wake_ups

VISITOR = "visitor"


@dataclass(frozen=True)
class Policy:
    name: str
    roles: frozenset[str]
    hides: bool = False  # refused signed-in roles (and visitors) may get 404: scoped lookups


def policy(name: str, *roles: str, hides: bool = False) -> Policy:
    return Policy(name, frozenset(roles or ROLES), hides)


EVERYONE = policy("public")
SIGNED_IN = policy("signed in", *(role for role in ROLES if role != VISITOR))
ORGANISATION_MEMBER = policy("member of an organisation", "member_a", "lead_a", "lead_b")
ORGANISATION_LEAD = policy("lead of an organisation", "lead_a", "lead_b")
OWNER = policy("member of the owning organisation", "member_a", "lead_a", hides=True)
OWNING_LEAD = policy("lead of the owning organisation", "lead_a", hides=True)
OWNER_OR_STAFF = policy(
    "member of the owning organisation, or staff",
    "member_a",
    "lead_a",
    "moderator",
    "council",
    "admin",
    hides=True,
)
STAFF = policy("staff", "moderator", "council", "admin")
MODERATOR = policy("moderator", "moderator", "admin")
COUNCIL = policy("council", "council", "admin")
ADMIN = policy("admin", "admin")

# Not in the matrix: the rule serving the site's own static files (CSS, scripts, images).
EXCLUDED = {"static": "static files"}
IGNORED_METHODS = {"HEAD", "OPTIONS"}  # answered by Flask itself for every rule

# endpoint -> policy (an "endpoint METHOD" key when one method of a rule differs)
POLICY: dict[str, Policy] = {
    # public pages, sign-in and the health checks
    "consultations.index": EVERYONE,
    "consultations.show": EVERYONE,
    "consultations.item": EVERYONE,
    "consultations.version": EVERYONE,
    "consultations.report": EVERYONE,
    "consultations.report_download": EVERYONE,
    "auth.login": EVERYONE,
    "auth.register": EVERYONE,
    "auth.check_email": EVERYONE,
    "auth.confirm_email": EVERYONE,  # the link itself is the proof (a forged one here: 400)
    "auth.forgot_password": EVERYONE,
    "auth.reset_password": EVERYONE,
    "auth.set_password": EVERYONE,
    "auth.set_locale": EVERYONE,
    "auth.sign_in_link": EVERYONE,  # the mailed link is the proof (a forged one here: 400)
    "auth.logout": SIGNED_IN,
    "health.favicon": EVERYONE,
    "health.healthz": EVERYONE,
    "health.readyz": EVERYONE,
    # the account
    "account.profile": SIGNED_IN,
    "account.delete": SIGNED_IN,
    "account.change_email": SIGNED_IN,
    "account.confirm_email_change": EVERYONE,  # opened from the mail, signed in or not
    "account.export": SIGNED_IN,
    "account.change_password": SIGNED_IN,
    "account.tokens": SIGNED_IN,
    "account.revoke_token": SIGNED_IN,  # each role revokes a token of its own
    # an organisation's own work (the organisation is the caller's)
    "organizations.mine": SIGNED_IN,  # someone without one is offered to join
    "organizations.invite": ORGANISATION_LEAD,
    "organizations.decide": OWNING_LEAD,
    "feedback.dashboard": ORGANISATION_MEMBER,
    "feedback.edit GET": SIGNED_IN,  # staff read that only organisations give feedback
    "feedback.edit POST": ORGANISATION_MEMBER,
    "feedback.autosave": ORGANISATION_MEMBER,
    "feedback.withdraw": ORGANISATION_LEAD,
    "feedback.revisions": OWNER,  # organisation B has no position on this item
    "attachments.upload": ORGANISATION_MEMBER,
    "attachments.download": OWNER_OR_STAFF,  # a council-only file
    "attachments.delete": OWNER,
    "cosigning.requests": ORGANISATION_MEMBER,
    "cosigning.invite": ORGANISATION_LEAD,
    "cosigning.accept": OWNING_LEAD,  # the invited organisation's lead
    "cosigning.decline": OWNING_LEAD,
    "cosigning.leave": OWNING_LEAD,  # the co-signing organisation's lead
    "cosigning.withdraw": OWNING_LEAD,  # the inviting organisation's lead
    # moderation
    "moderation.queue": MODERATOR,
    "moderation.export_csv": STAFF,  # the council exports what it may read
    "moderation.show": STAFF,  # the council reads submissions as moderators see them
    "moderation.publish": MODERATOR,
    "moderation.reject": MODERATOR,
    "moderation.reject_with_reason": MODERATOR,
    "moderation.request_changes": MODERATOR,
    "moderation.add_note": MODERATOR,
    "moderation.redact": MODERATOR,
    "moderation.revert_redaction": MODERATOR,
    "moderation_audit.index": STAFF,
    "moderation_audit.export": STAFF,
    "moderation_campaigns.index": MODERATOR,
    "moderation_campaigns.show": MODERATOR,
    "moderation_campaigns.bulk": MODERATOR,
    "moderation_campaigns.action": MODERATOR,
    "moderation_campaigns.action_status": MODERATOR,
    "moderation_organizations.pending": MODERATOR,
    "moderation_organizations.detail": MODERATOR,
    "moderation_organizations.verify": MODERATOR,
    "moderation_organizations.reject": MODERATOR,
    "moderation_organizations.suspend": MODERATOR,
    "moderation_organizations.unsuspend": MODERATOR,
    # reports and council responses
    "reports.index": COUNCIL,
    "reports.show": COUNCIL,
    "reports.status": COUNCIL,
    "reports.download": COUNCIL,
    "reports.diagnostics": ADMIN,
    "reports.compile_again": COUNCIL,
    "reports.request_public_version": COUNCIL,
    "reports.publish": COUNCIL,
    "reports.request_for_consultation": COUNCIL,
    "reports.request_for_item": COUNCIL,
    "reports.item_responses": COUNCIL,
    "reports.publish_response": COUNCIL,
    # administration
    "admin.consultation_list": ADMIN,
    "admin.new_consultation": ADMIN,
    "admin.edit_consultation": ADMIN,
    "admin.invitations_page": ADMIN,
    "admin.new_item": ADMIN,
    "admin.edit_item": ADMIN,
    "admin.import_organizations": ADMIN,
    "admin.users": ADMIN,
    "admin.set_active": ADMIN,
    "admin.change_role": ADMIN,
    # the API: public reading
    "api_consultations.consultation_list": EVERYONE,
    "api_consultations.consultation": EVERYONE,
    "api_consultations.item": EVERYONE,
    "api_consultations.published": EVERYONE,
    "api_consultations.responses": EVERYONE,
    "api_public_reports.public_listing": EVERYONE,
    "api_public_reports.one_public": EVERYONE,
    "api_docs.index": EVERYONE,
    "api_docs.asset": EVERYONE,
    "api-docs.openapi_json": EVERYONE,
    # the API: an organisation's positions and files
    "api_feedback.listing": ORGANISATION_MEMBER,
    "api_feedback.create": ORGANISATION_MEMBER,
    "api_feedback.batch": ORGANISATION_MEMBER,
    "api_feedback.one": OWNER,
    "api_feedback.update": OWNER,
    "api_feedback.submit": OWNING_LEAD,
    "api_feedback.withdraw": OWNING_LEAD,
    "api_attachments.listing": OWNER,
    "api_attachments.upload": OWNER,
    "api_attachments.download": OWNER_OR_STAFF,
    "api_attachments.remove": OWNER,
    # the API: the council and the admin
    "api_reports.listing": COUNCIL,
    "api_reports.one": COUNCIL,
    "api_reports.file": COUNCIL,
    "api_reports.request_report": COUNCIL,
    "api_responses.listing": COUNCIL,
    "api_responses.record": COUNCIL,
    "api_responses.publish": COUNCIL,
    "api_onboarding.import_organizations": ADMIN,
}

# Routes whose first allowed call uses their record up, so a later allowed role may find it gone.
USED_UP = {"api_attachments.remove", "attachments.delete"}
INVALID_JSON = {"unknown": ["not", "a", "valid", "body"]}
INVALID_QUERY = "limit=-1&after=not-a-cursor&state=nope&page=0"  # sent by refused roles


@dataclass(frozen=True)
class Call:
    rule: Rule
    method: str
    role: str

    @property
    def key(self) -> str:
        return f"{self.rule.endpoint} {self.method}"

    @property
    def policy(self) -> Policy:
        return POLICY.get(self.key) or POLICY[self.rule.endpoint]

    @property
    def allowed(self) -> bool:
        return self.role in self.policy.roles

    @property
    def is_api(self) -> bool:
        return self.rule.rule.startswith("/api/")


def matrix_rules(app: Flask) -> list[Rule]:
    rules = (rule for rule in app.url_map.iter_rules() if rule.endpoint not in EXCLUDED)
    return sorted(rules, key=lambda rule: (rule.rule, rule.endpoint))


def methods_of(rule: Rule) -> list[str]:
    return sorted((rule.methods or set()) - IGNORED_METHODS)


def routes_without_policy(app: Flask) -> list[str]:
    return [
        f"{rule.rule} {method} ({rule.endpoint})"
        for rule in matrix_rules(app)
        for method in methods_of(rule)
        if f"{rule.endpoint} {method}" not in POLICY and rule.endpoint not in POLICY
    ]


def test_every_route_has_a_policy(app):
    assert routes_without_policy(app) == [], "routes without an entry in POLICY"
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    stale = [key for key in POLICY if key.split(" ")[0] not in endpoints]
    assert stale == [], "POLICY entries for routes that no longer exist"


def test_a_route_added_without_a_policy_is_named(app_overrides):
    grown = create_app(app_overrides)
    grown.add_url_rule("/reports/<int:report_id>/share", "reports.share", methods=["POST"])
    assert routes_without_policy(grown) == ["/reports/<int:report_id>/share POST (reports.share)"]


def ordered_calls(app: Flask) -> Iterator[tuple[str, list[Call]]]:
    """The calls in the order that keeps every answer meaningful: reading, then what refused
    roles try (which must change nothing), then what allowed roles do, signing out last."""
    every = [
        Call(rule, method, role)
        for rule in matrix_rules(app)
        for method in methods_of(rule)
        for role in ROLES
    ]
    yield "safe", [call for call in every if call.method == "GET"]
    unsafe = [call for call in every if call.method != "GET"]
    yield "refused", [call for call in unsafe if not call.allowed]
    allowed = [call for call in unsafe if call.allowed]
    yield "allowed", sorted(allowed, key=lambda call: call.rule.endpoint == "auth.logout")


def send(call: Call, caller: Caller, url: str) -> TestResponse:
    if call.is_api:
        body = None if call.method == "GET" else INVALID_JSON
        response = caller.client.open(
            url, method=call.method, headers=caller.api_headers(), json=body
        )
    else:
        form = None if call.method == "GET" else {"csrf_token": caller.csrf}
        response = caller.client.open(url, method=call.method, data=form)
    response.get_data()  # a streamed answer (CSV) holds its contexts until read and closed
    response.close()
    return response


def sends_to_sign_in(response: TestResponse) -> bool:
    return response.status_code in (302, 303) and "/auth/login" in response.location


def fault_as_allowed(call: Call, response: TestResponse, first: bool) -> str | None:
    status = response.status_code
    if status in (401, 403) or sends_to_sign_in(response):
        return f"refused with {status} {response.location or ''}".strip()
    if status == 404 and (first or call.rule.endpoint not in USED_UP):
        return "404: the view did not find the record it was given"
    if status >= 500:
        return f"failed with {status}"
    return None


def fault_as_refused(call: Call, response: TestResponse) -> str | None:
    status = response.status_code
    if status in (401, 403) or (call.policy.hides and status == 404):
        if call.is_api and not (response.is_json and "error" in response.get_json()):
            return f"{status} without the API's JSON error"
        return None
    if call.role == VISITOR and not call.is_api and sends_to_sign_in(response):
        return None
    return f"let through with {status} {response.location or ''}".strip()


@dataclass(frozen=True)
class Outcome:
    call: Call
    url: str
    status: int
    fault: str | None


@dataclass
class MatrixRun:
    outcomes: list[Outcome]
    changed_by_refused: list[str]  # the tables the refused calls wrote to


@pytest.fixture(scope="module")
def matrix(app, session_database) -> MatrixRun:
    """Every call's answer, on one seeded database: sent once for the module's tests."""
    session_database.reset(SEEDED)
    found, changed = [], []
    with no_wake_ups():
        data = build_matrix_data(app)
        people = callers(app, data)
        for phase, calls in ordered_calls(app):
            before = stored_state(app) if phase == "refused" else None
            found += run(app, data, people, calls)
            if before is not None:
                after = stored_state(app)
                changed = [table for table in before if after[table] != before[table]]
    session_database.touched()
    return MatrixRun(found, changed)


def run(app: Flask, data: MatrixData, people: dict[str, Caller], calls: list[Call]):
    found, first_seen = [], set()
    for call in calls:
        url = url_of(app, call.rule, data, call.role)
        if not call.allowed:
            url += "?" + INVALID_QUERY
        response = send(call, people[call.role], url)
        if call.allowed:
            fault = fault_as_allowed(call, response, call.key not in first_seen)
            first_seen.add(call.key)
        else:
            fault = fault_as_refused(call, response)
        found.append(Outcome(call, url, response.status_code, fault))
    return found


@pytest.mark.parametrize("role", ROLES)
def test_each_role_is_let_in_or_refused_as_the_policy_says(app, matrix, role):
    mine = [outcome for outcome in matrix.outcomes if outcome.call.role == role]
    faults = [f"{o.call.method} {o.url} ({o.call.policy.name}): {o.fault}" for o in mine if o.fault]
    assert faults == []
    assert len(mine) == sum(len(methods_of(rule)) for rule in matrix_rules(app))


def test_refused_roles_are_refused_whatever_they_send(matrix):
    refused = [o for o in matrix.outcomes if not o.call.allowed]
    validation_first = [
        f"{o.call.method} {o.url} as {o.call.role}: {o.status}"
        for o in refused
        if o.status in (400, 409, 422)
    ]
    assert validation_first == []
    assert len([o for o in refused if o.call.method != "GET"]) > 250


def test_refused_requests_change_nothing(matrix):
    assert matrix.changed_by_refused == []
