"""examples/submit_positions.py, run as a coalition would: a real HTTP server, a CSV file, the
lead's token; every row's outcome printed, nothing half-done."""

from __future__ import annotations

import csv
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from app.extensions import db
from app.models import Consultation, Feedback, Item, User

pytestmark = [pytest.mark.postgres]
PROJECT = Path(__file__).resolve().parents[2]
SUMMIT = "leaders-summit-2021-migration"


def run_example(positions: Path, site: str, token: str) -> subprocess.CompletedProcess:
    """The script as a coalition would run it: the lead's token, submitting every row."""
    return subprocess.run(  # noqa: S603 - our own interpreter and script
        [
            sys.executable,
            str(PROJECT / "examples" / "submit_positions.py"),
            str(positions),
            "--site",
            site,
            "--token",
            token,
            "--consultation",
            SUMMIT,
            "--submit",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def site(seeded, report_jobs_here):
    server = make_server("127.0.0.1", 0, seeded, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


def test_a_coalition_submits_its_positions_from_a_csv_file(seeded, site, bearer, tmp_path):
    with seeded.app_context():
        organisation = db.session.scalar(
            select(User.organization_id).where(User.email == "lead@example.org")
        )
        answered = select(Feedback.item_id).where(Feedback.organization_id == organisation)
        free = list(
            db.session.scalars(
                select(Item.code)
                .join(Consultation, Consultation.id == Item.consultation_id)
                .where(Consultation.slug == SUMMIT, Item.id.not_in(answered))
                .order_by(Item.position)
            )
        )
    assert len(free) >= 2
    rows = [
        {
            "item": free[0],
            "stance": "oppose",
            "priority": "5",
            "comment": "Detention must end; community-based alternatives exist.",
            "affected_populations": "asylum_seekers;unaccompanied_children",
            "countries": "US;MX",
        },
        {"item": free[1], "stance": "support", "priority": "9", "comment": "Too high a priority."},
        {"item": "P99", "stance": "support", "comment": "No such item."},
    ]
    positions = tmp_path / "positions.csv"
    with positions.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(
            handle,
            fieldnames=[
                "item",
                "stance",
                "priority",
                "comment",
                "amendment",
                "affected_populations",
                "countries",
                "attribution",
            ],
        )
        writer.writeheader()
        writer.writerows(rows)
    token = bearer("lead")["Authorization"].removeprefix("Bearer ")
    run = run_example(positions, site, token)
    assert run.returncode == 1, run.stderr  # two rows failed
    assert f"line 2: {free[0]} submitted" in run.stdout
    assert f"line 3: {free[1]} failed: 422 validation_failed" in run.stderr
    assert "[priority]" in run.stderr
    assert "line 4: P99 failed" in run.stderr
    with seeded.app_context():
        saved = db.session.scalar(
            select(Feedback)
            .join(Item, Item.id == Feedback.item_id)
            .where(Feedback.organization_id == organisation, Item.code == free[0])
        )
        assert saved.state.value == "submitted" and saved.priority == 5
        assert sorted(saved.affected_populations) == ["asylum_seekers", "unaccompanied_children"]
        nothing = db.session.scalar(
            select(Feedback.id)
            .join(Item, Item.id == Feedback.item_id)
            .where(Feedback.organization_id == organisation, Item.code == free[1])
        )
        assert nothing is None  # the invalid row left nothing behind
    # Run again: the submitted position is updated (a new revision), not duplicated.
    rows[0]["comment"] = "Detention must end now."
    with positions.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerow(rows[0])
    again = run_example(positions, site, token)
    assert again.returncode == 0, again.stderr
    with seeded.app_context():
        assert db.session.get(Feedback, saved.id).comment == "Detention must end now."
