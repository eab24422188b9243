"""Every HTML page of the site, from the app's URL map: the rules left out (with why), the demo
records that fill each rule's arguments, and the records the demo data lacks (a compiled report,
a published public report, a campaign with a bulk decision) made on top of it.

Used by tests/e2e/test_whole_site_in_browser.py and scripts/screenshots.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from unittest import mock

from flask import Flask
from sqlalchemy import func, select
from werkzeug.routing import Rule

from app.accounts import lockout
from app.extensions import db
from app.models import (
    Consultation,
    Feedback,
    FeedbackRevision,
    FeedbackState,
    Item,
    ModerationFlag,
    Organization,
    User,
    VerificationState,
)

ROLES = {
    "anonymous": None,
    "stakeholder": "stakeholder@example.org",
    "lead": "lead@example.org",
    "moderator": "moderator@example.org",
    "council": "council@example.org",
    "admin": "admin@example.org",
}

# GET rules that are not HTML pages, each with the reason it is left out. Any other GET rule
# must resolve to a page (PAGE_ARGUMENTS below), or the whole-site test fails.
EXCLUDED = {
    "static": "static files (CSS, scripts, images)",
    "health.favicon": "an icon, not a page",
    "health.healthz": "a health check for the load balancer (JSON)",
    "health.readyz": "a readiness check for the load balancer (JSON)",
    "account.export": "a download: the account's data as a JSON file",
    "attachments.download": "a download: an attachment's file",
    "moderation.export_csv": "a download: the queue as CSV",
    "moderation_audit.export": "a download: the audit log as CSV",
    "moderation_campaigns.action_status": "status polling for the progress bar (JSON)",
    "reports.status": "status polling while a report compiles (JSON)",
    "reports.download": "a download: a report's PDF, CSV or spreadsheet",
    "consultations.report_download": "a download: a public report's PDF, CSV or spreadsheet",
}
EXCLUDED_PREFIXES = {
    "/api/": "the JSON API and its generated docs (Swagger UI, not the site's design)",
}

# A page whose only HTML answer is an error page: a used or forged link. A valid link does its
# job and redirects to a page visited anyway (the login page, the profile).
EXPECTED_STATUS = {"auth.confirm_email": 400, "account.confirm_email_change": 400}
FORGED_TOKEN = "not-a-valid-link"  # noqa: S105 - a deliberately invalid link token


@dataclass(frozen=True)
class SiteData:
    """The records whose ids and keys fill the URL map's arguments."""

    slug: str
    code: str
    report_slug: str
    item_id: int
    version: int
    feedback_id: int
    organization_id: int
    report_id: int
    public_report_id: int
    campaign_key: str
    action_id: int
    reset_token: str
    sign_in_token: str
    welcome_token: str


def excluded_reason(rule: Rule) -> str | None:
    if rule.endpoint in EXCLUDED:
        return EXCLUDED[rule.endpoint]
    for prefix, reason in EXCLUDED_PREFIXES.items():
        if rule.rule.startswith(prefix):
            return reason
    return None


def get_rules(app: Flask) -> list[Rule]:
    return sorted(
        (rule for rule in app.url_map.iter_rules() if "GET" in (rule.methods or ())),
        key=lambda rule: rule.rule,
    )


def page_urls(app: Flask, data: SiteData) -> tuple[dict[str, str], list[str]]:
    """({endpoint: path} of every page, [rules neither resolved nor excluded])."""
    pages, unresolved = {}, []
    for rule in get_rules(app):
        if excluded_reason(rule) is not None:
            continue
        try:
            values = {name: argument(rule.endpoint, name, data) for name in rule.arguments}
        except KeyError:
            unresolved.append(f"{rule.rule} ({rule.endpoint})")
            continue
        with app.test_request_context():
            from flask import url_for

            pages[rule.endpoint] = url_for(rule.endpoint, **values)
    return pages, unresolved


def argument(endpoint: str, name: str, data: SiteData) -> object:
    """The value of a rule's argument `name`; KeyError when there is no rule for it."""
    if name == "token":
        return {
            "auth.reset_password": data.reset_token,
            "auth.set_password": data.welcome_token,
            "auth.sign_in_link": data.sign_in_token,
            "auth.confirm_email": FORGED_TOKEN,
            "account.confirm_email_change": FORGED_TOKEN,
        }[endpoint]
    if name == "report_id":
        return data.public_report_id if endpoint.startswith("consultations.") else data.report_id
    if name == "slug" and endpoint.startswith("consultations.report"):
        return data.report_slug  # the consultation of the published report
    return {
        "slug": data.slug,
        "code": data.code,
        "item_id": data.item_id,
        "number": data.version,
        "feedback_id": data.feedback_id,
        "organization_id": data.organization_id,
        "key": data.campaign_key,
        "action_id": data.action_id,
    }[name]


# --- the records the demo data lacks ----------------------------------------------------------


@contextlib.contextmanager
def no_wake_ups() -> Iterator[None]:
    """Jobs stay queued in the database: no worker is woken (none may be running)."""
    from app import jobs
    from app.reports import pipeline

    def ignore(*_args: object) -> None:
        return None

    with (
        mock.patch.object(jobs, "enqueue_after_commit", ignore),
        mock.patch.object(pipeline, "enqueue_after_commit", ignore),
    ):
        yield


def build_site_data(app: Flask) -> SiteData:
    """On the seeded demo data: pick the records every page needs and make the missing ones."""
    with app.app_context(), no_wake_ups():
        lead = _user("lead@example.org")
        revised = db.session.scalar(
            select(Feedback)
            .join(FeedbackRevision, FeedbackRevision.feedback_id == Feedback.id)
            .where(Feedback.organization_id == lead.organization_id)
            .order_by(Feedback.id)
        )
        item = db.session.get(Item, revised.item_id)
        consultation = db.session.get(Consultation, item.consultation_id)
        reported = _most_discussed()
        report_id, public_report_id = _reports(reported.id)
        campaign_key, action_id = _campaign(item)
        reset_token, welcome_token = _password_tokens(_user("stakeholder@example.org"))
        return SiteData(
            slug=consultation.slug,
            code=item.code,
            report_slug=reported.slug,
            item_id=item.id,
            version=item.current_version,
            feedback_id=_flagged_submission(),
            organization_id=_organisation_to_verify(),
            report_id=report_id,
            public_report_id=public_report_id,
            campaign_key=campaign_key,
            action_id=action_id,
            reset_token=reset_token,
            sign_in_token=lockout.sign_in_token(_user("stakeholder@example.org")),
            welcome_token=welcome_token,
        )


def _user(email: str) -> User:
    return db.session.scalar(select(User).where(User.email == email))


def _most_discussed() -> Consultation:
    """The consultation with the most submissions: the fullest report."""
    return db.session.scalar(
        select(Consultation)
        .join(Item, Item.consultation_id == Consultation.id)
        .join(Feedback, Feedback.item_id == Item.id)
        .group_by(Consultation.id)
        .order_by(func.count(Feedback.id).desc(), Consultation.id)
    )


def _reports(consultation_id: int) -> tuple[int, int]:
    """A council report on the whole consultation, and its public version, published."""
    from app.reports import pipeline
    from app.reports import services as reports

    council = _user("council@example.org").id
    report_id = reports.request_report(council, consultation_id).id
    pipeline.run_in_process(report_id)
    public_id = reports.request_report(council, consultation_id, public=True).id
    pipeline.run_in_process(public_id)
    reports.publish_report(council, public_id)
    return report_id, public_id


CAMPAIGN_TEXT = (
    "We the undersigned ask that every person crossing a border can apply for protection "
    "there, and that no application is refused because of the way the person arrived."
)


def _campaign(item: Item, size: int = 6) -> tuple[str, int]:
    """Near-identical submissions from new organisations, flagged as a campaign, with a bulk
    decision on it recorded (queued: no worker runs it)."""
    from app.feedback.positions import new_reference
    from app.models import OrganizationType, Stance
    from app.models.base import utcnow
    from app.moderation import campaigns, flagging

    version_id = next(v.id for v in item.versions if v.number == item.current_version)
    ids = []
    for n in range(size):
        organisation = Organization(
            name=f"Campaign signatory {n + 1}",
            type=OrganizationType.NGO,
            country="HN",
            verification=VerificationState.VERIFIED,
            created_at=utcnow(),
        )
        db.session.add(organisation)
        db.session.flush()
        feedback = Feedback(
            reference=new_reference(),
            item_id=item.id,
            item_version_id=version_id,
            organization_id=organisation.id,
            state=FeedbackState.SUBMITTED,
            stance=Stance.SUPPORT,
            priority=4,
            comment=f"{CAMPAIGN_TEXT} Signatory {n + 1}.",
            affected_populations=[],
            countries=[],
            evidence_links=[],
            submitted_at=utcnow(),
        )
        db.session.add(feedback)
        db.session.flush()
        ids.append(feedback.id)
    db.session.commit()
    for feedback_id in ids:
        flagging.flag_feedback(feedback_id)
    key = db.session.scalar(
        select(ModerationFlag.campaign_key).where(
            ModerationFlag.feedback_id.in_(ids), ModerationFlag.campaign_key.is_not(None)
        )
    )
    assert key is not None, "the campaign's submissions were not flagged as one"
    moderator = _user("moderator@example.org").id
    action = campaigns.request_bulk(moderator, key, campaigns.PUBLISH_ALL)
    return key, action.id


def _flagged_submission() -> int:
    """A submission waiting for a moderator, flagged if any is (the fullest review page)."""
    waiting = (
        select(Feedback.id).where(Feedback.state == FeedbackState.SUBMITTED).order_by(Feedback.id)
    )
    flagged = db.session.scalar(
        waiting.join(ModerationFlag, ModerationFlag.feedback_id == Feedback.id)
    )
    return flagged or db.session.scalar(waiting)


def _organisation_to_verify() -> int:
    pending = db.session.scalar(
        select(Organization.id)
        .where(Organization.verification == VerificationState.PENDING)
        .order_by(Organization.id)
    )
    return pending or db.session.scalar(select(Organization.id).order_by(Organization.id))


def _password_tokens(user: User) -> tuple[str, str]:
    """A password reset link's token and a welcome (first password) link's token, unused."""
    from app.accounts import link_tokens, services

    fingerprint = services._password_fingerprint(user)  # noqa: SLF001 - as the mailed links do
    return (
        link_tokens.issue("reset", {"uid": user.id, "fp": fingerprint}),
        link_tokens.issue("welcome", {"uid": user.id, "fp": fingerprint}),
    )
