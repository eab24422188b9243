"""Production logs are one JSON object a line, carrying the request id the client got back (the
web) or the task's id (the worker); outside production they stay readable text."""

from __future__ import annotations

import json
import logging
import secrets
import sys

import pytest

from app import logs
from tests.helpers.logs import captured
from tests.helpers.processes import (
    Process,
    app_env,
    dockerfile_gunicorn,
    http_get,
    wait_until_serving,
)
from tests.helpers.services import free_port
from tests.helpers.waiting import wait_for
from tests.helpers.worker import worker_command

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

FIELDS = {"time", "level", "logger", "message", "request_id"}


@pytest.fixture
def production_gunicorn(app, tmp_path):
    port = free_port()
    server = Process(dockerfile_gunicorn(port), app_env(app, tmp_path), tmp_path, "gunicorn")
    base = f"http://127.0.0.1:{port}"
    wait_until_serving(server, f"{base}/healthz")
    yield server, base
    server.stop()


def test_gunicorn_in_production_writes_json_lines_that_carry_the_request_id(production_gunicorn):
    server, base = production_gunicorn
    status, headers, _body = http_get(f"{base}/moderation/")
    assert status == 403
    request_id = headers["X-Request-ID"]

    def refusal_logged() -> list[dict]:
        return [r for r in server.json_lines() if r["request_id"] == request_id]

    [refusal] = wait_for(refusal_logged, timeout=10)
    assert refusal["level"] == "WARNING"
    assert refusal["logger"] == "app.security"
    assert refusal["path"] == "/moderation/"
    # Every line on stderr is JSON (json_lines fails otherwise), gunicorn's own lines too.
    records = server.json_lines()
    assert all(set(record) >= FIELDS for record in records), records
    assert any(r["logger"] == "gunicorn.error" for r in records)
    # The access line on stdout names the same request.
    wait_for(lambda: [r for r in server.json_lines("stdout") if r["request_id"] == request_id])


def test_a_production_worker_writes_json_lines_that_name_the_task(app, tmp_path):
    queue = f"json-logs-{secrets.token_hex(3)}"
    worker = Process(
        worker_command(queue),
        app_env(app, tmp_path, CONSULTA_CELERY_QUEUE=queue),
        tmp_path,
        "worker",
    )
    try:
        wait_for(lambda: worker.running() and " ready." in worker.stderr_path.read_text(), 60)
        sent = app.extensions["celery"].send_task("worker.reports.reconcile_reports", queue=queue)

        def task_lines() -> list[dict]:
            return [r for r in worker.json_lines() if r.get("task_id") == sent.id]

        lines = wait_for(task_lines, timeout=30)
        assert lines[0]["task_name"] == "worker.reports.reconcile_reports"
        assert all(set(record) >= FIELDS for record in worker.json_lines())
    finally:
        worker.stop()


def test_json_lines_carry_the_exception_text():
    record = logging.LogRecord("app", logging.ERROR, __file__, 1, "failed: %s", ("x",), None)
    try:
        raise RuntimeError("the cause")
    except RuntimeError:
        record.exc_info = sys.exc_info()
    record.request_id = "r-12345678"
    line = json.loads(logs.json_formatter().format(record))
    assert line["message"] == "failed: x"
    assert line["level"] == "ERROR" and line["logger"] == "app"
    assert "RuntimeError: the cause" in line["exception"]
    assert line["request_id"] == "r-12345678"


def test_outside_production_the_lines_stay_readable_text(app):
    with captured("app.security") as records:
        response = app.test_client().get("/moderation/")
    [handler] = [h for h in app.logger.handlers if getattr(h, "_consulta", False)]
    line = handler.format(records[0])
    request_id = response.headers["X-Request-ID"]
    assert f"WARNING [{request_id}] app.security: refused GET /moderation/" in line
