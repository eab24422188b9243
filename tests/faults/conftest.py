"""Fixtures of the fault tests: an app on the session's database whose jobs go to a queue of the
test's own, with leases of seconds, and the worker processes started on it (all stopped when
the test ends, whatever it did to them)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask

from tests.helpers.fault_processes import ServiceProcess, kill_tree, start_beat
from tests.helpers.faults import BEAT_SECONDS, server_settings, short_lease_app
from tests.helpers.worker import WorkerProcess, start_worker_for


@pytest.fixture
def faults_app(seeded: Flask, tmp_path: Path) -> Flask:
    return short_lease_app(seeded, tmp_path)


StartWorker = Callable[..., WorkerProcess]


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[StartWorker]:
    """start(app, name, *celery_args, include="", beat=False, **env): a worker process on
    `app`, tuned by tests/faults/tuning.py, loading the modules `include` names too; with
    `beat`, it runs beat too, its reconcilers every BEAT_SECONDS. Every worker still running
    is stopped at the end of the test."""
    started: list[WorkerProcess] = []

    def start(app: Flask, name: str, *args: str, include: str = "", beat: bool = False, **env: str):
        # One --include: celery reads only the last one given.
        modules = ",".join(filter(None, ("tests.faults.tuning", include)))
        extra = ["--include", modules, *args]
        if beat:
            extra += ["-B", "--schedule", str(tmp_path / f"{name}.schedule")]
            env.setdefault("FAULTS_BEAT_SECONDS", str(BEAT_SECONDS))
        worker = start_worker_for(app, tmp_path / f"{name}.log", *extra, **env)
        started.append(worker)
        return worker

    yield start
    for worker in started:  # the test is over: nothing of its work needs to be finished
        if worker.process.poll() is None:
            kill_tree(worker.process)
        worker.stop()


@pytest.fixture
def beats(tmp_path: Path) -> Iterator[Callable[[Flask, str], ServiceProcess]]:
    """start(app, name): a `celery beat` process on `app` of its own, every periodic task each
    BEAT_SECONDS (tests/faults/tuning.py); stopped at the end of the test."""
    started: list[ServiceProcess] = []

    def start(app: Flask, name: str) -> ServiceProcess:
        beat = start_beat(
            server_settings(app),
            tmp_path / f"{name}.log",
            "tests.faults.tuning",
            FAULTS_BEAT_SECONDS=str(BEAT_SECONDS),
        )
        started.append(beat)
        return beat

    yield start
    for beat in started:
        beat.stop()
