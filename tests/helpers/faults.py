"""The apps and workers of the fault tests (tests/faults/): leases of seconds, a queue each."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import NamedTuple

import redis
import requests
from flask import Flask
from sqlalchemy import select

from app import create_app
from app.accounts import profile
from app.extensions import db
from app.models import Consultation, Item
from tests import factories
from tests.helpers.services import app_settings
from tests.helpers.web import hidden_fields

LEASE_SECONDS = 3
RECONCILE_SECONDS = 2
# Beat's periodic tasks, every one, in workers started with `beat=True` (see tuning.py).
BEAT_SECONDS = 1
# Printed by tests/faults/poison.py at each run it poisons; the poison test counts it.
POISON_RUN_LINE = "POISON RUN"


def short_lease_app(base: Flask, tmp_path: Path, **overrides: object) -> Flask:
    """An app on `base`'s database and broker whose tasks go to a queue only this test's
    workers read, with a lease of seconds, so that a takeover is seen quickly."""
    settings = base.config["SETTINGS"]
    queue = f"consulta-faults-{uuid.uuid4().hex[:8]}"
    return create_app(
        {
            **app_settings(tmp_path / "app", settings.database_url, settings.redis_url, queue),
            "mail_port": settings.mail_port,
            "job_lease_seconds": LEASE_SECONDS,
            "job_reconcile_seconds": RECONCILE_SECONDS,
            **overrides,
        }
    )


# The wake-ups of jobs (by the start of their task names): what a fault must not leave behind.
JOB_TASKS = (
    "worker.reports.compile_",
    "worker.reports.assemble_",
    "worker.notifications.deliver_",
    "worker.moderation.flag_",
)


def messages_left(app: Flask, tasks: tuple[str, ...] = JOB_TASKS) -> int:
    """Messages of `tasks` (JOB_TASKS: every job's wake-up) on the app's queue, waiting on the
    broker or taken and not yet acknowledged; beat's reconcilers, sent every second in these
    tests, are not counted."""
    settings = app.config["SETTINGS"]
    queue = settings.celery_queue.encode()
    names = [task.encode() for task in tasks]
    with redis.Redis.from_url(settings.redis_url) as client:
        waiting = client.lrange(queue, 0, -1)
        taken = [m for m in client.hvals("unacked") if queue in m]
    return sum(1 for m in waiting + taken if any(name in m for name in names))


DRAFT = {
    "stance": "support_with_amendments",
    "priority": 4,
    "comment": "Labour pathways should include care workers.",
    "affected_populations": ["labour_migrants"],
    "countries": ["MX", "GT"],
    "amendment": "Add care work to the temporary labour programmes.",
    "evidence_links": ["https://example.org/study"],
}


class Lead(NamedTuple):
    """The lead of a new organisation, with an API token, and items it may answer."""

    user_id: int
    organization_id: int
    email: str
    headers: dict[str, str]
    item_ids: list[int]
    forms: list[str]  # the feedback form of each item


def new_lead(app: Flask, items: int) -> Lead:
    """The lead of a new organisation (no feedback yet), its token and `items` open items."""
    with app.app_context():
        lead = factories.lead()
        token = profile.create_api_token(lead.id, "fault tests").secret
        chosen = db.session.execute(
            select(Item.id, Consultation.slug, Item.code)
            .join(Consultation)
            .order_by(Consultation.id, Item.position)
            .limit(items)
        ).all()
        return Lead(
            lead.id,
            lead.organization_id,
            lead.email,
            {"Authorization": f"Bearer {token}"},
            [item_id for item_id, _slug, _code in chosen],
            [f"/c/{slug}/items/{code}/feedback" for _id, slug, code in chosen],
        )


def submit_form(session: requests.Session, base: str, page: str, **fields: str):
    """GET `page` of the server at `base` and POST `fields` with its hidden inputs (the CSRF
    token, the lock version), as a browser would; the answer, redirects not followed."""
    html = session.get(base + page, timeout=60).text
    return session.post(
        base + page, data={**hidden_fields(html), **fields}, allow_redirects=False, timeout=60
    )


def sign_in(session: requests.Session, base: str, email: str) -> requests.Response:
    return submit_form(session, base, "/auth/login", email=email, password=factories.PASSWORD)


def server_settings(app: Flask, **changes: str) -> dict[str, str]:
    """The CONSULTA_* settings (without the prefix) of a gunicorn or beat process on `app`'s
    database, broker, queue, instance folder and mail server; the rate limits on its Redis,
    as in production."""
    settings = app.config["SETTINGS"]
    return {
        "env": "test",
        "secret_key": settings.secret_key,
        "database_url": settings.database_url,
        "redis_url": settings.redis_url,
        "instance_path": settings.instance_path,
        "celery_queue": settings.celery_queue,
        "mail_server": "127.0.0.1",
        "mail_port": str(settings.mail_port),
        "password_hash_profile": "fast",
        "job_lease_seconds": str(settings.job_lease_seconds),
        "job_reconcile_seconds": str(settings.job_reconcile_seconds),
        **changes,
    }


def deliveries(log: str, task: str) -> list[str]:
    """The ids of the messages of `task` a worker's log says it received, one per delivery."""
    return re.findall(rf"Task {re.escape(task)}\[([0-9a-f-]+)\] received", log)


def results(log: str, task: str) -> list[str]:
    """What each run of `task` returned, as a worker's log prints it."""
    return re.findall(rf"Task {re.escape(task)}\[[0-9a-f-]+\] succeeded in \S+ (\w+)", log)
