"""Wake-ups are sent only after the recording transaction commits."""

from __future__ import annotations

import pytest

from app import create_app
from app.extensions import db
from app.jobs import enqueue_after_commit
from tests.helpers.services import app_settings


class RecordingCelery:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[tuple[str, list]] = []
        self.fail = fail

    def send_task(self, name: str, args: list, **_options: object) -> None:
        if self.fail:
            raise ConnectionError("broker down")
        self.sent.append((name, args))


@pytest.fixture
def sqlite_app(tmp_path):
    application = create_app(app_settings(tmp_path, "", None, "q"))
    return application


def test_task_is_sent_after_commit(sqlite_app):
    recorder = RecordingCelery()
    sqlite_app.extensions["celery"] = recorder
    with sqlite_app.app_context():
        enqueue_after_commit("worker.reports.compile_report", 7)
        assert recorder.sent == []
        db.session.commit()
    assert recorder.sent == [("worker.reports.compile_report", [7])]


def test_task_is_dropped_on_rollback(sqlite_app):
    recorder = RecordingCelery()
    sqlite_app.extensions["celery"] = recorder
    with sqlite_app.app_context():
        enqueue_after_commit("worker.reports.compile_report", 7)
        db.session.rollback()
        db.session.commit()
    assert recorder.sent == []


def test_broker_down_does_not_break_the_commit(sqlite_app):
    from flask_migrate import upgrade

    from app.models import Organization
    from tests.helpers.services import PROJECT

    sqlite_app.extensions["celery"] = RecordingCelery(fail=True)
    with sqlite_app.app_context():
        upgrade(directory=str(PROJECT / "migrations"))
        db.session.add(Organization(name="Kept", country="MX"))
        enqueue_after_commit("worker.reports.compile_report", 7)
        db.session.commit()  # no exception: the reconciler re-sends from the database
        db.session.remove()
        assert db.session.scalar(db.select(Organization.name)) == "Kept"
