"""A gunicorn worker killed in the middle of a POST: the request's transaction never commits,
so nothing of it is saved; the client's retry saves it once (the API by its Idempotency-Key,
the web form by recognising the same submission sent twice).

Real gunicorn on the session's database. To be sure the kill lands mid-request, the test holds
the audit log (LOCK ... EXCLUSIVE: reads pass, writes wait): the request has written its
submissions, revisions, receipts and flag checks, and waits to write its audit events."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
import requests
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    AuditEvent,
    Feedback,
    FeedbackRevision,
    FeedbackState,
    FlagCheck,
    IdempotentRequest,
    Notification,
)
from tests.helpers.fault_processes import answers, children_of, kill_children, start_gunicorn
from tests.helpers.faults import DRAFT, new_lead, server_settings, short_lease_app, sign_in
from tests.helpers.waiting import wait_for
from tests.helpers.web import hidden_fields

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

# The backend of a request that has written submissions and waits to write the audit log.
WAITING_MID_REQUEST = """
SELECT a.pid FROM pg_stat_activity a
WHERE a.datname = current_database() AND a.wait_event_type = 'Lock'
  AND a.query ILIKE 'INSERT INTO audit_events%%'
  AND EXISTS (
    SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
    WHERE l.pid = a.pid AND l.granted AND c.relname = 'feedback' AND l.mode = 'RowExclusiveLock'
  )
"""


def stored(app, organization_id: int, user_id: int) -> dict[str, int]:
    """What the organisation's requests have saved, row counts by kind."""
    with app.app_context():
        feedback_ids = select(Feedback.id).where(Feedback.organization_id == organization_id)
        return {
            "feedback": db.session.scalar(
                select(func.count(Feedback.id)).where(Feedback.id.in_(feedback_ids))
            ),
            "flag checks": db.session.scalar(
                select(func.count(FlagCheck.feedback_id)).where(
                    FlagCheck.feedback_id.in_(feedback_ids)
                )
            ),
            "audit events": db.session.scalar(
                select(func.count(AuditEvent.id)).where(AuditEvent.actor_id == user_id)
            ),
            "receipts": db.session.scalar(
                select(func.count(Notification.id)).where(Notification.user_id == user_id)
            ),
            "idempotent answers": db.session.scalar(select(func.count(IdempotentRequest.id))),
        }


def kill_mid_post(web, database: str, post: Callable[[], requests.Response]) -> int:
    """Send `post` while the audit log is held, SIGKILL gunicorn's worker once the request has
    written its submissions and waits, free the audit log, and wait for the request's
    orphaned database session to end. Returns the killed worker's pid."""
    with psycopg.connect(database) as holder, ThreadPoolExecutor(1) as pool:
        holder.execute("LOCK TABLE audit_events IN EXCLUSIVE MODE")
        sent = pool.submit(post)
        with psycopg.connect(database, autocommit=True) as watcher:
            [(backend,)] = wait_for(lambda: watcher.execute(WAITING_MID_REQUEST).fetchall(), 30)
        [killed] = kill_children(web.process)
        with pytest.raises(requests.ConnectionError):  # no answer: the client does not know
            sent.result()
        holder.rollback()  # the audit log is free: the orphaned backend finds its client gone
    with psycopg.connect(database, autocommit=True) as watcher:
        gone = "SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = %s)"
        wait_for(lambda: watcher.execute(gone, (backend,)).fetchone()[0], timeout=30)
    # gunicorn replaces its worker.
    wait_for(lambda: set(children_of(web.process.pid)) - {killed}, timeout=30)
    wait_for(lambda: answers(web.url), timeout=60)
    return killed


def test_an_api_post_killed_midway_saves_nothing_and_its_retry_saves_once(seeded, tmp_path):
    app = short_lease_app(seeded, tmp_path)
    lead = new_lead(app, items=2)
    url_path = "/api/v1/feedback/batch"
    body = {"drafts": [{**DRAFT, "item_id": item_id, "submit": True} for item_id in lead.item_ids]}
    headers = {**lead.headers, "Idempotency-Key": str(uuid.uuid4())}
    before = stored(app, lead.organization_id, lead.user_id)
    web = start_gunicorn(server_settings(app), tmp_path / "web.log")
    try:

        def post() -> requests.Response:
            return requests.post(web.url + url_path, json=body, headers=headers, timeout=60)

        kill_mid_post(web, app.config["SETTINGS"].database_url, post)
        # Nothing of the killed request was saved, not even in part.
        assert stored(app, lead.organization_id, lead.user_id) == before
        retry, again = post(), post()  # the client sends it again, then once more
    finally:
        web.stop()
    assert retry.status_code == 201, retry.text
    assert again.status_code == 201 and again.json() == retry.json()  # the first answer, replayed
    submitted = [draft["id"] for draft in retry.json()["data"]]
    assert len(submitted) == len(lead.item_ids)
    after = stored(app, lead.organization_id, lead.user_id)
    assert after["feedback"] == after["flag checks"] == len(lead.item_ids)
    assert after["audit events"] - before["audit events"] == len(lead.item_ids)
    assert after["idempotent answers"] == before["idempotent answers"] + 1
    with app.app_context():
        ids = db.session.scalars(
            select(Feedback.id).where(Feedback.organization_id == lead.organization_id)
        ).all()
    assert sorted(ids) == sorted(submitted)


def test_a_form_post_killed_midway_saves_nothing_and_its_resubmission_saves_once(seeded, tmp_path):
    app = short_lease_app(seeded, tmp_path)
    lead = new_lead(app, items=1)
    web = start_gunicorn(server_settings(app), tmp_path / "web.log")
    try:
        browser = requests.Session()
        assert sign_in(browser, web.url, lead.email).status_code == 302
        page = web.url + lead.forms[0]
        form = {
            **hidden_fields(browser.get(page, timeout=60).text),
            "stance": "oppose",
            "priority": "2",
            "comment": "Not like this.",
            "submit": "Submit",
        }
        before = stored(app, lead.organization_id, lead.user_id)

        def post() -> requests.Response:
            return browser.post(page, data=form, allow_redirects=False, timeout=60)

        kill_mid_post(web, app.config["SETTINGS"].database_url, post)
        assert stored(app, lead.organization_id, lead.user_id) == before
        # The browser sends the same form again (the person presses the button again), twice.
        retry, again = post(), post()
    finally:
        web.stop()
    assert retry.status_code == 302 and again.status_code == 302  # submitted; then the same
    after = stored(app, lead.organization_id, lead.user_id)
    assert before["feedback"] == 0
    assert after["feedback"] == after["flag checks"] == after["receipts"] - before["receipts"] == 1
    assert after["audit events"] - before["audit events"] == 1
    with app.app_context():
        [submission] = db.session.scalars(
            select(Feedback).where(Feedback.organization_id == lead.organization_id)
        ).all()
        assert submission.state is FeedbackState.SUBMITTED
        assert submission.comment == "Not like this."
        revisions = db.session.scalar(
            select(func.count(FeedbackRevision.id)).where(
                FeedbackRevision.feedback_id == submission.id
            )
        )
        assert revisions == 1
