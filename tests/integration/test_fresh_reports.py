"""A report is never served stale: its snapshot key moves with everything it shows, a report
compiled while submissions still wait for their checks says how many, and the council can
compile a report again."""

from __future__ import annotations

import re
import time

import pytest
from flask import Flask
from sqlalchemy import select

from app import create_app
from app.extensions import db
from app.models import (
    CouncilResponse,
    Decision,
    Feedback,
    FeedbackState,
    FlagCheck,
    FlagKind,
    Item,
    ModerationFlag,
    Report,
    ReportStatus,
    User,
)
from app.models.base import utcnow
from app.models.moderation import Redaction
from app.moderation import flagging
from app.moderation.flagging import FLAG_PENDING_TASK
from app.reports import pipeline
from app.reports import services as reports
from tests.helpers.feedback import submitted_position
from tests.helpers.letters import LETTER_A
from tests.helpers.services import app_settings
from tests.helpers.waiting import wait_for
from tests.helpers.web import hidden_fields
from tests.helpers.worker import start_worker_for

pytestmark = [pytest.mark.postgres]


def council_id() -> int:
    return db.session.scalar(select(User.id).where(User.email == "council@example.org"))


def first_item() -> Item:
    return db.session.scalars(select(Item).order_by(Item.id)).first()


def submit(item: Item, comment: str, *, queued: bool = False) -> int:
    fields = {"stance": "support", "priority": 3, "language": "en"}
    return submitted_position(item.id, item.versions[-1].id, comment, queued=queued, **fields)


@pytest.fixture
def item(seeded):
    with seeded.app_context():
        yield first_item()


def key_of(item: Item, public: bool = False) -> str:
    return reports.snapshot_key(item.id, public=public)


def test_the_snapshot_key_moves_with_flags_campaigns_decisions_and_responses(item):
    ids = [submit(item, LETTER_A + f" From member {n}.") for n in range(2)]
    keys = [key_of(item)]

    def moved() -> None:
        keys.append(key_of(item))
        assert keys[-1] != keys[-2], f"the key did not move after step {len(keys) - 1}"

    flagging.enqueue_flagging(ids[0])  # a check queued
    db.session.commit()
    moved()
    flagging.flag_feedback(ids[0])
    db.session.execute(FlagCheck.__table__.delete())
    db.session.commit()
    moved()  # flagged, check done
    flagging.flag_feedback(ids[1])  # joins a campaign with the first
    moved()
    campaign = db.session.scalar(
        select(ModerationFlag).where(
            ModerationFlag.feedback_id == ids[1], ModerationFlag.kind == FlagKind.CAMPAIGN
        )
    )
    campaign.campaign_key = "1"  # relabelled, as a merge into a lower key does
    db.session.commit()
    moved()
    db.session.add(Redaction(feedback_id=ids[0], field="comment", start=0, end=2, reason="a name"))
    db.session.commit()
    assert key_of(item) == keys[-1]  # the council's version shows the original text
    response = CouncilResponse(
        consultation_id=item.consultation_id,
        item_id=item.id,
        decision=Decision.UNDER_CONSIDERATION,
        rationale="We are studying the proposals.",
    )
    db.session.add(response)
    db.session.commit()
    moved()
    response.published_at = utcnow()
    db.session.commit()
    moved()
    feedback = db.session.get(Feedback, ids[1])
    feedback.state = FeedbackState.PUBLISHED  # a moderator's decision
    feedback.lock_version += 1
    db.session.commit()
    moved()


def test_the_council_compiles_a_report_again_and_the_earlier_one_stays(
    seeded, client, login, report_jobs_here
):
    with seeded.app_context():  # the client's requests run outside it, with their own g
        item_id = first_item().id
        submit(first_item(), LETTER_A)
        first_id = reports.request_item_report(council_id(), item_id).id
        pipeline.run_in_process(first_id)
        assert reports.request_item_report(council_id(), item_id).id == first_id  # same snapshot

    login(client, "council@example.org")
    page = client.get(f"/reports/{first_id}").get_data(as_text=True)
    assert "Compile it again" in page
    again = client.post(f"/reports/{first_id}/compile-again", data=hidden_fields(page))
    assert again.status_code == 302
    second_id = int(re.search(r"/reports/(\d+)$", again.headers["Location"]).group(1))
    assert second_id != first_id
    assert client.get(f"/reports/{first_id}").status_code == 200  # the earlier one stays
    refused = client.post(f"/reports/{second_id}/compile-again", data={})  # no CSRF token
    assert refused.status_code == 400
    with seeded.app_context():
        assert db.session.get(Report, first_id).status is ReportStatus.DONE
        assert reports.request_item_report(council_id(), item_id).id == second_id
        assert db.session.scalar(select(Report.id).order_by(Report.id.desc())) == second_id


@pytest.mark.worker
def test_a_report_asked_while_checks_wait_says_so_and_the_next_one_is_fresh(
    seeded, tmp_path, redis_url
):
    """Two real worker processes compile the report; the campaign appears only once the
    checks are done, in a new report with a new snapshot."""
    settings = seeded.config["SETTINGS"]
    app: Flask = create_app(
        app_settings(tmp_path / "app", settings.database_url, redis_url, f"fresh-{time.time_ns()}")
    )
    with app.app_context():
        item = first_item()
        for n in range(3):
            submit(item, LETTER_A + f" Signed by member {n}.", queued=True)
        item_id, council = item.id, council_id()
    workers = [start_worker_for(app, tmp_path / f"worker-{n}.log") for n in range(2)]

    def finished(report_id: int):  # noqa: ANN202
        def done() -> Report | None:
            with app.app_context():
                report = db.session.get(Report, report_id)
                db.session.expunge_all()
            return report if report.status in (ReportStatus.DONE, ReportStatus.FAILED) else None

        report = wait_for(done, timeout=120, interval=0.2)
        assert report.status is ReportStatus.DONE, report.error
        return report

    try:
        with app.app_context():
            stale_id = reports.request_item_report(council, item_id).id
        stale = finished(stale_id)
        assert stale.result["pending_checks"] == 3
        with app.test_request_context():
            html = app.jinja_env.get_template("reports/_report.html").render(
                report=stale, result=stale.result
            )
        assert "3 submissions counted here were still being checked" in html

        with app.app_context():
            app.extensions["celery"].send_task(FLAG_PENDING_TASK)

        def checked() -> bool:
            with app.app_context():
                return db.session.scalar(select(FlagCheck.feedback_id).limit(1)) is None

        wait_for(checked, timeout=60, interval=0.2)
        with app.app_context():
            fresh_id = reports.request_item_report(council, item_id).id
        assert fresh_id != stale_id
        fresh = finished(fresh_id)
    finally:
        for worker in workers:
            worker.stop()
    assert fresh.result["pending_checks"] == 0
    assert stale.snapshot_key != fresh.snapshot_key
    campaigns = fresh.result["figures"]["campaigns"]
    assert any(campaign["size"] >= 3 for campaign in campaigns), campaigns
