"""The audit log: who may read it, its filters and pages, its CSV export, and that it only grows."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app import audit
from app.audit import log as audit_log
from app.extensions import db
from app.models import AuditEvent, Feedback, Organization
from app.models.audit import AuditLogIsAppendOnly
from app.models.base import utcnow
from tests.helpers.web import csrf_token

pytestmark = [pytest.mark.postgres]

PROJECT = Path(__file__).resolve().parents[2]
LOG = "/moderation/audit/"
EXPORT = "/moderation/audit/export.csv"
PENDING_ORGANISATION = "Diaspora Futures Collective"
MALICIOUS_NAME = '=HYPERLINK("http://evil.example/","click")'


def organisation_id(app, name: str = PENDING_ORGANISATION) -> int:
    with app.app_context():
        return db.session.scalar(select(Organization.id).where(Organization.name == name))


def verify(client, org_id: int) -> None:
    page = client.get("/").get_data(as_text=True)
    response = client.post(
        f"/moderation/organisations/{org_id}/verify", data={"csrf_token": csrf_token(page)}
    )
    assert response.status_code == 302


def actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def rows_of(page: str) -> list[str]:
    """The action of each event row of an audit log page (its code, kept on the row)."""
    return re.findall(r'<tr class="govuk-table__row" data-action="([^"]+)"', page)


def csv_rows(response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


@pytest.mark.parametrize(
    "email", ["moderator@example.org", "council@example.org", "admin@example.org"]
)
def test_moderators_council_and_admins_read_who_did_what_with_before_after_and_request_id(
    seeded, client, login, email
):
    login(client, "moderator@example.org")
    org_id = organisation_id(seeded)
    verify(client, org_id)
    reader = seeded.test_client()
    login(reader, email)

    page = reader.get(LOG, query_string={"action": "organization."}).get_data(as_text=True)

    (event,) = [e for e in _events(seeded) if e.action == "organization.verify"]
    assert "organization.verify" in rows_of(page)
    assert "Organisation verified" in page  # the action in words
    assert "moderator@example.org" in page
    assert (
        f'Organisation\n          <a class="govuk-link" href="/moderation/organisations/{org_id}">'
        f"{PENDING_ORGANISATION}</a>" in page
    )
    assert re.search(
        r"Verification:</span>\s*Waiting for verification <span aria-hidden=\"true\">→</span>", page
    )
    assert re.search(r"→</span><span class=\"govuk-visually-hidden\">became</span> Verified", page)
    assert event.request_id and event.request_id in page


def _events(app) -> list[AuditEvent]:
    with app.app_context():
        found = list(db.session.scalars(select(AuditEvent)))
        db.session.expunge_all()
        return found


def test_filters_narrow_the_log(seeded, client, login):
    login(client, "moderator@example.org")
    org_id = organisation_id(seeded)
    verify(client, org_id)
    with seeded.app_context():
        audit.record(None, "content.edit", "item", 777, before={"title": "a"}, after={"title": "b"})
        db.session.commit()
    today = utcnow().date()

    def shown(**query: str) -> list[str]:
        return rows_of(client.get(LOG, query_string=query).get_data(as_text=True))

    assert "content.edit" not in shown(action="organization.")
    assert "organization.verify" in shown(action="organization.")
    assert "organization.verify" not in shown(actor="admin@example.org")
    assert "organization.verify" in shown(actor="moderator@example.org")
    assert "content.edit" in shown(target_type="item", target_id="777")
    assert "organization.verify" not in shown(target_type="item")
    assert "organization.verify" not in shown(target_id=str(org_id + 1000))
    assert "organization.verify" in shown(**{"from": today.isoformat(), "to": today.isoformat()})
    tomorrow = (today + timedelta(days=1)).isoformat()
    assert shown(**{"from": tomorrow}) == []
    empty = client.get(LOG, query_string={"from": tomorrow}).get_data(as_text=True)
    assert "No event matches these filters." in empty
    assert client.get(LOG, query_string={"target_id": "1e3"}).status_code == 400
    assert client.get(LOG, query_string={"from": "yesterday"}).status_code == 400


def test_pages_go_from_newest_to_oldest_without_overlap(seeded, client, login):
    with seeded.app_context():
        for number in range(60):
            audit.record(None, "test.page", "item", number)
        db.session.commit()
    login(client, "council@example.org")

    first = client.get(LOG, query_string={"action": "test."}).get_data(as_text=True)
    ids_first = [int(i) for i in re.findall(r"Item\s+number (\d+)", first)]
    older = re.search(r'href="([^"]*before=\d+[^"]*)"', first).group(1).replace("&amp;", "&")
    second = client.get(older).get_data(as_text=True)
    ids_second = [int(i) for i in re.findall(r"Item\s+number (\d+)", second)]

    assert ids_first == list(range(59, 9, -1))
    assert ids_second == list(range(9, -1, -1))
    assert "Older events" not in second


@pytest.mark.parametrize("url", [LOG, EXPORT, f"{LOG}?action=organization."])
def test_a_stakeholder_gets_403_and_no_event_is_recorded(seeded, client, login, url):
    login(client, "stakeholder@example.org")
    login(seeded.test_client(), "moderator@example.org")
    before = actions(seeded)

    response = client.get(url)

    assert response.status_code == 403
    body = response.get_data(as_text=True)
    assert "user.login" not in body and "@example.org" not in body
    assert actions(seeded) == before


@pytest.mark.parametrize("url", [LOG, EXPORT])
def test_a_visitor_is_refused_and_offered_to_sign_in(seeded, client, url):
    response = client.get(url)
    assert response.status_code == 403
    assert "/auth/login?next=" in response.get_data(as_text=True)
    assert "@example.org" not in response.get_data(as_text=True)


def test_the_export_neutralises_formulas_and_is_itself_audited(seeded, client, login):
    org_id = organisation_id(seeded)
    with seeded.app_context():
        db.session.get(Organization, org_id).name = MALICIOUS_NAME
        audit.record(None, "-2+3", "@cmd", None, after={"note": "=1+1"})
        db.session.commit()
    login(client, "moderator@example.org")
    verify(client, org_id)

    response = client.get(EXPORT)

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = csv_rows(response)
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value
    (verification,) = [row for row in rows if row["action"] == "organization.verify"]
    assert MALICIOUS_NAME.replace('"', '\\"') in verification["after"]
    (planted,) = [row for row in rows if row["target_type"] == "'@cmd"]
    assert planted["action"] == "'-2+3"
    assert actions(seeded)[-1] == "audit.export"


def test_the_export_is_read_in_batches(seeded):
    with seeded.app_context():
        for number in range(7):
            audit.record(None, "test.batch", "item", number)
        db.session.commit()
        chunks = list(
            audit_log.export_csv(audit_log.AuditFilters(action_prefix="test."), batch_size=3)
        )
    assert len(chunks) == 1 + 3  # the header, then batches of 3, 3 and 1
    body = "".join(chunks)
    assert len(list(csv.DictReader(io.StringIO(body)))) == 7


# --- append-only ----------------------------------------------------------------------------


def test_changing_an_audit_event_through_the_orm_raises(app):
    with app.app_context():
        event = audit.record(None, "test.immutable", "item", 1, after={"x": "1"})
        db.session.commit()
        event.action = "test.tampered"
        with pytest.raises(AuditLogIsAppendOnly):
            db.session.commit()
        db.session.rollback()
        assert db.session.scalar(select(AuditEvent.action)) == "test.immutable"


def test_deleting_an_audit_event_through_the_orm_raises(app):
    with app.app_context():
        audit.record(None, "test.immutable", "item", 1)
        db.session.commit()
        db.session.delete(db.session.scalar(select(AuditEvent)))
        with pytest.raises(AuditLogIsAppendOnly):
            db.session.commit()
        db.session.rollback()
        assert db.session.scalar(select(AuditEvent.action)) == "test.immutable"


# Bulk statements bypass the ORM listeners, so no code may contain one on the audit table.
FORBIDDEN_STATEMENTS = [
    re.compile(r"\b(update|delete)\(\s*(AuditEvent|audit_events)\b"),
    re.compile(r"(update|delete\s+from|truncate(\s+table)?)\s+\"?audit_events\b", re.IGNORECASE),
    re.compile(r"AuditEvent\b[^\n;]*\)\s*\.(update|delete)\("),
    re.compile(r"AuditEvent\.__table__\.(update|delete)\("),
]


def test_no_code_path_updates_or_deletes_an_audit_event():
    offenders = []
    for folder in ("app", "worker"):
        for path in sorted((PROJECT / folder).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            for pattern in FORBIDDEN_STATEMENTS:
                for match in pattern.finditer(text):
                    offenders.append(f"{path.relative_to(PROJECT)}: {match.group(0)}")
    assert offenders == []


def test_the_source_scan_would_catch_a_bulk_update_or_delete():
    samples = [
        "db.session.execute(update(AuditEvent).values(action='x'))",
        "db.session.execute(delete(AuditEvent))",
        'db.session.execute(text("DELETE FROM audit_events"))',
        'text("update audit_events set action = 1")',
        "db.session.query(AuditEvent).filter_by(id=1).delete()",
        "AuditEvent.__table__.delete()",
    ]
    for sample in samples:
        assert any(pattern.search(sample) for pattern in FORBIDDEN_STATEMENTS), sample


def test_the_log_names_submissions_by_reference_and_tells_changes_in_words(seeded, login):
    from tests.helpers.web import submit_form
    from tests.integration.test_redactions import PHONE, submitted

    fb_id = submitted(seeded, login)
    moderator = seeded.test_client()
    login(moderator, "moderator@example.org")
    page = f"/moderation/feedback/{fb_id}"
    submit_form(moderator, page, f"{page}/redactions", field="comment", text=PHONE, reason="Phone")
    assert submit_form(moderator, page, f"/moderation/{fb_id}/publish").status_code == 302
    with seeded.app_context():
        reference = db.session.get(Feedback, fb_id).reference

    log = moderator.get(LOG, query_string={"action": "feedback."}).get_data(as_text=True)
    rows = log[log.index('<tbody class="govuk-table__body">') :]
    assert f'<a class="govuk-link" href="/moderation/feedback/{fb_id}">{reference}</a>' in rows
    assert f"#{fb_id}" not in rows and "{&#34;" not in rows and '{"' not in rows  # no raw JSON
    assert re.search(
        r"State:</span>\s*Submitted, awaiting review <span aria-hidden=\"true\">→</span>"
        r"<span class=\"govuk-visually-hidden\">became</span> Published",
        rows,
    )
    assert "Submission published" in rows and "Words redacted" in rows
    # A redaction is told by its words, never by character offsets.
    assert re.search(rf"Words:</span>\s*{re.escape(PHONE)}", rows)
    assert "Start:" not in rows and "End:" not in rows
    # The reference people know finds the submission's events.
    found = moderator.get(LOG, query_string={"target_id": reference}).get_data(as_text=True)
    assert set(rows_of(found)) == {"feedback.submit", "feedback.redact", "feedback.published"}
    assert "Version read" not in rows  # a technical counter, not for people


@pytest.mark.parametrize("field", ["actor", "action", "target_type"])
def test_a_nul_in_an_export_filter_is_a_400_before_anything_is_streamed_or_logged(
    seeded, client, login, field
):
    login(client, "council@example.org")
    with seeded.app_context():
        before = db.session.scalar(select(func.count()).select_from(AuditEvent))
    response = client.get(f"/moderation/audit/export.csv?{field}=a%00b")
    assert response.status_code == 400
    assert "NUL" in response.get_data(as_text=True)
    with seeded.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == before
