"""A real Celery worker process, run the way production runs it (prefork, its own connections)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import redis
from flask import Flask

from app.wakeups import KEY_PREFIX
from tests.helpers.services import PROJECT


def worker_command(queue: str) -> list[str]:
    """`celery worker` on `queue` with the pool that production runs: a forked child with its
    own connections."""
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "worker.celery_app",
        "worker",
        "--pool=prefork",
        "--concurrency=1",
        "--without-gossip",
        "--without-mingle",
        "--loglevel=INFO",
        "-Q",
        queue,
    ]


class WorkerProcess:
    def __init__(
        self, env: dict[str, str], log_path: Path, extra_args: tuple[str, ...] = ()
    ) -> None:
        self.log_path = log_path
        self._log = log_path.open("w")
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [*worker_command(env["CONSULTA_CELERY_QUEUE"]), *extra_args],
            cwd=PROJECT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited early:\n{self.log_path.read_text()}")
            if " ready." in self.log_path.read_text():
                return
            time.sleep(0.2)
        raise RuntimeError(f"worker not ready in {timeout}s:\n{self.log_path.read_text()}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._log.close()


JOB_SETTINGS = ("job_lease_seconds", "job_reconcile_seconds", "report_attempts")


def start_worker(
    settings: dict,
    log_path: Path,
    extra_args: tuple[str, ...] = (),
    extra_env: dict[str, str] | None = None,
) -> WorkerProcess:
    """A worker process on `settings` (create_app overrides), ready to take tasks; `extra_args`
    go to `celery worker` (e.g. `-B` for an embedded beat), `extra_env` to its environment."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CONSULTA_")},
        "CONSULTA_ENV": "test",
        "CONSULTA_SECRET_KEY": settings["secret_key"],
        "CONSULTA_DATABASE_URL": settings["database_url"],
        "CONSULTA_REDIS_URL": settings["redis_url"],
        "CONSULTA_INSTANCE_PATH": settings["instance_path"],
        "CONSULTA_CELERY_QUEUE": settings["celery_queue"],
        "CONSULTA_MAIL_SERVER": "127.0.0.1",
        "CONSULTA_MAIL_PORT": str(settings.get("mail_port", 1025)),
        "CONSULTA_PASSWORD_HASH_PROFILE": settings.get("password_hash_profile", "strong"),
        "PYTHONUNBUFFERED": "1",
    }
    for name in JOB_SETTINGS:
        if name in settings:
            env[f"CONSULTA_{name.upper()}"] = str(settings[name])
    worker = WorkerProcess({**env, **(extra_env or {})}, log_path, extra_args)
    worker.wait_ready()
    return worker


def start_worker_for(app: Flask, log_path: Path, *args: str, **env: str) -> WorkerProcess:
    """A worker on the database, broker, queue, mail server and job settings of `app`; `args`
    go to `celery worker`, `env` to its environment."""
    settings = app.config["SETTINGS"]
    return start_worker(
        {
            "secret_key": settings.secret_key,
            "database_url": settings.database_url,
            "redis_url": settings.redis_url,
            "instance_path": settings.instance_path,
            "celery_queue": settings.celery_queue,
            "mail_port": settings.mail_port,
            "job_lease_seconds": settings.job_lease_seconds,
            "job_reconcile_seconds": settings.job_reconcile_seconds,
            "report_attempts": settings.report_attempts,
            "password_hash_profile": settings.password_hash_profile,
        },
        log_path,
        extra_args=args,
        extra_env=env,
    )


def settle_queue(client: redis.Redis, queue: str, timeout: float = 30) -> None:
    """Between tests: drop the wake-ups no worker has taken yet (the test that sent them is
    over, and the database they point at is about to be reset), then wait for the task the
    worker is running, so that it writes nothing into the next test's data. The keys that say
    a batched wake-up is pending go too: theirs was among the dropped."""
    waiting = client.keys(f"{queue}*")  # the queue, and its lists per priority
    waiting += client.keys(f"{KEY_PREFIX}{queue}:*")  # batched wake-ups said to be pending
    if waiting:
        client.delete(*waiting)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        # Kombu keeps a taken, unacknowledged message in this hash until its task has ended.
        if not any(queue.encode() in message for message in client.hvals("unacked")):
            return
        time.sleep(0.05)
