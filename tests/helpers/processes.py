"""Production-shaped processes on the test's services, their stdout and stderr kept apart: gunicorn
as the Dockerfile runs it, a Celery worker, Flower as docker-compose.yml runs it."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import yaml
from flask import Flask

from tests.helpers.services import PROJECT
from tests.helpers.waiting import wait_for


def app_env(app: Flask, instance: Path, **extra: str) -> dict[str, str]:
    """The environment of a process on `app`'s database, Redis and queue, in production unless
    `extra` says otherwise (so the strong password hash, as production demands)."""
    settings = app.config["SETTINGS"]
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("CONSULTA_")},
        "CONSULTA_ENV": "production",
        "CONSULTA_SECRET_KEY": settings.secret_key,
        "CONSULTA_DATABASE_URL": settings.database_url,
        "CONSULTA_REDIS_URL": settings.redis_url,
        "CONSULTA_CELERY_QUEUE": settings.celery_queue,
        "CONSULTA_INSTANCE_PATH": str(instance),
        "CONSULTA_MAIL_SERVER": "127.0.0.1",
        "CONSULTA_MAIL_PORT": str(settings.mail_port),
        "CONSULTA_PASSWORD_HASH_PROFILE": "strong",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


class Process:
    """A child process whose stdout and stderr are written to two files of `folder`."""

    def __init__(self, argv: list[str], env: dict[str, str], folder: Path, name: str) -> None:
        self.stdout_path = folder / f"{name}.stdout"
        self.stderr_path = folder / f"{name}.stderr"
        self._files = (self.stdout_path.open("w"), self.stderr_path.open("w"))
        self.process = subprocess.Popen(  # noqa: S603 - our interpreter, the project's commands
            argv, cwd=PROJECT, env=env, stdout=self._files[0], stderr=self._files[1]
        )

    def output(self) -> str:
        return f"stdout:\n{self.stdout_path.read_text()}\nstderr:\n{self.stderr_path.read_text()}"

    def running(self) -> bool:
        assert self.process.poll() is None, f"exited early\n{self.output()}"
        return True

    def stop(self, *, kill: bool = False) -> None:
        if kill:
            self.process.kill()
        else:
            self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        for file in self._files:
            file.close()

    def json_lines(self, stream: str = "stderr") -> list[dict]:
        """Every line of `stream`, each of which must be one JSON object."""
        path = self.stderr_path if stream == "stderr" else self.stdout_path
        lines = [line for line in path.read_text().splitlines() if line.strip()]
        records = []
        for line in lines:
            try:
                records.append(json.loads(line))
            except ValueError:
                raise AssertionError(f"not a JSON line on {stream}: {line!r}") from None
        return records


def dockerfile_gunicorn(port: int) -> list[str]:
    """The image's CMD on a loopback port, with one process (the test machine is shared)."""
    for line in (PROJECT / "Dockerfile").read_text(encoding="utf-8").splitlines():
        if line.startswith("CMD "):
            argv = yaml.safe_load(line[4:])
    argv[argv.index("--bind") + 1] = f"127.0.0.1:{port}"
    argv[argv.index("--workers") + 1] = "1"
    return [sys.executable, "-m", *argv]


def compose_command(service: str) -> list[str]:
    compose = yaml.safe_load((PROJECT / "docker-compose.yml").read_text(encoding="utf-8"))
    command = compose["services"][service]["command"]
    return shlex.split(command) if isinstance(command, str) else list(command)


def http_get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict, bytes]:
    """(status, headers, body) of a GET, whatever the status."""
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 - a loopback URL
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def wait_until_serving(process: Process, url: str, timeout: float = 60) -> None:
    def serving() -> bool:
        process.running()
        try:
            http_get(url)
        except OSError:
            return False
        return True

    wait_for(serving, timeout=timeout)
