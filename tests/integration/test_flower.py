"""Flower as docker-compose.yml runs it: refused without its basic-auth credentials, and showing
the tasks a real worker ran."""

from __future__ import annotations

import base64
import json
import os
import secrets
import sys

import pytest

from app import create_app
from tests.helpers.processes import Process, compose_command, http_get, wait_until_serving
from tests.helpers.services import free_port
from tests.helpers.waiting import wait_for
from tests.helpers.worker import start_worker_for

pytestmark = [pytest.mark.worker]

CREDENTIALS = "ops:" + secrets.token_urlsafe(12)


def flower_argv(broker: str, port: int) -> list[str]:
    """docker-compose.yml's command, on the test's broker and a loopback port."""
    argv = compose_command("flower")
    assert argv[:3] == ["celery", "--broker=redis://redis:6379/0", "flower"]
    argv[1] = f"--broker={broker}"
    argv = [arg for arg in argv if not arg.startswith("--port=")]
    return [sys.executable, "-m", *argv, f"--port={port}", "--address=127.0.0.1"]


@pytest.fixture
def flower(redis_url, tmp_path):
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("CONSULTA_", "FLOWER_"))},
        "FLOWER_BASIC_AUTH": CREDENTIALS,  # as compose hands it over
    }
    process = Process(flower_argv(redis_url, port), env, tmp_path, "flower")
    base = f"http://127.0.0.1:{port}"
    wait_until_serving(process, f"{base}/healthcheck")
    yield base
    process.stop()


def authorised() -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(CREDENTIALS.encode()).decode()}


def test_flower_refuses_anyone_without_its_credentials(flower):
    assert http_get(f"{flower}/")[0] == 401
    assert http_get(f"{flower}/api/tasks")[0] == 401
    wrong = {"Authorization": "Basic " + base64.b64encode(b"ops:guess").decode()}
    assert http_get(f"{flower}/api/tasks", wrong)[0] == 401
    assert http_get(f"{flower}/", authorised())[0] == 200


def test_a_task_a_worker_ran_shows_in_flower(flower, app_overrides, app, tmp_path):
    queued = create_app({**app_overrides, "celery_queue": f"flower-{secrets.token_hex(3)}"})
    worker = start_worker_for(queued, tmp_path / "worker.log")
    try:
        sent = queued.extensions["celery"].send_task("worker.reports.reconcile_reports")

        def shown() -> dict | None:
            status, _headers, body = http_get(f"{flower}/api/tasks", authorised())
            task = json.loads(body).get(sent.id) if status == 200 else None
            return task if task and task["state"] == "SUCCESS" else None

        task = wait_for(shown, timeout=30)
        assert task["name"] == "worker.reports.reconcile_reports"
        assert task["worker"]  # the worker that ran it
    finally:
        worker.stop()
