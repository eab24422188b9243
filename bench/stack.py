"""The production-shaped processes of the bench: its own PostgreSQL database, gunicorn as the
Dockerfile's CMD runs it, Celery worker and beat as docker-compose.yml runs them, a mail sink.

The commands are read from the Dockerfile and docker-compose.yml at every run, so the bench
follows whatever flags they carry; only gunicorn's bind address (a free local port) and beat's
schedule file (a temporary folder) are changed. `flask`, `gunicorn` and `celery` resolve to
this virtual environment's (its bin folder goes first on PATH). Every process is started in a
session of its own and stopped by its process group; the database is dropped on exit, also on
failure or Ctrl-C.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import yaml

PROJECT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get(
    "CONSULTA_BENCH_PG",
    os.environ.get("CONSULTA_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres"),
)
REDIS_URL = os.environ.get("CONSULTA_BENCH_REDIS", "redis://127.0.0.1:6379/9")
APP_SPEC = re.compile(r"^[\w.]+:[\w.]+(\(.*\))?$")  # gunicorn's MODULE:VARIABLE(...)


# --- the commands, as the deployment files say --------------------------------------------------


def dockerfile_cmd(path: Path = PROJECT / "Dockerfile") -> list[str]:
    """The last CMD of the Dockerfile, exec form (JSON) or shell form, with continued lines."""
    text = re.sub(r"\\\n", " ", path.read_text())
    commands = [line.strip()[4:].strip() for line in text.splitlines() if _is_cmd(line)]
    if not commands:
        raise RuntimeError(f"no CMD in {path}")
    command = commands[-1]
    return json.loads(command) if command.startswith("[") else shlex.split(command)


def _is_cmd(line: str) -> bool:
    stripped = line.strip()
    return stripped[:4].upper() == "CMD " and not stripped.startswith("#")


def compose_command(service: str, path: Path = PROJECT / "docker-compose.yml") -> list[str]:
    """A service's `command` in docker-compose.yml, as a list of arguments."""
    command = yaml.safe_load(path.read_text())["services"][service]["command"]
    return list(command) if isinstance(command, list) else shlex.split(command)


def _with_option(argv: list[str], short: str, long: str, value: str) -> tuple[list[str], bool]:
    """`argv` with every value of the option (`-x V`, `-xV`, `--long V`, `--long=V`) replaced
    by `value`, and whether it was there at all."""
    out, skip, found = [], False, False
    for arg in argv:
        if skip:
            out.append(value)
            skip = False
        elif arg in (short, long):
            out.append(arg)
            skip, found = True, True
        elif arg.startswith(long + "="):
            out.append(f"{long}={value}")
            found = True
        elif arg.startswith(short) and len(arg) > len(short) and not arg.startswith("--"):
            out.append(short + value)
            found = True
        else:
            out.append(arg)
    return out, found


def with_bind(argv: list[str], address: str) -> list[str]:
    """gunicorn's arguments with every bind address replaced by `address` (one is added when
    the command has none)."""
    out, bound = _with_option(argv, "-b", "--bind", address)
    return out if bound else [out[0], "--bind", address, *out[1:]]


def with_app(argv: list[str], app_spec: str) -> list[str]:
    """gunicorn's arguments serving another WSGI application (the baseline), flags unchanged."""
    specs = [i for i, arg in enumerate(argv) if i > 0 and APP_SPEC.match(arg)]
    if not specs:
        raise RuntimeError(f"no MODULE:VARIABLE in {argv}")
    return [*argv[: specs[-1]], app_spec, *argv[specs[-1] + 1 :]]


def with_schedule(argv: list[str], schedule: str) -> list[str]:
    """beat's arguments with its schedule file moved to `schedule`."""
    out, found = _with_option(argv, "-s", "--schedule", schedule)
    return out if found else [*out, "--schedule", schedule]


def worker_concurrency(argv: list[str]) -> str:
    for i, arg in enumerate(argv):
        if arg.startswith("--concurrency="):
            return arg.split("=", 1)[1]
        if arg in ("-c", "--concurrency") and i + 1 < len(argv):
            return argv[i + 1]
    return f"default ({os.cpu_count()}, the number of cores)"


# --- processes ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Process:
    name: str
    argv: list[str]
    log: Path
    popen: subprocess.Popen = field(repr=False)

    def alive(self) -> bool:
        return self.popen.poll() is None

    def terminate(self) -> None:
        """SIGTERM to the group we started (its own session); `stop` waits for it."""
        if self.alive():
            with suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)

    def stop(self, timeout: float = 20) -> None:
        if not self.alive():
            return
        try:
            self.terminate()
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)
        except ProcessLookupError:
            pass

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def start(name: str, argv: list[str], env: dict[str, str], logs: Path) -> Process:
    log = logs / f"{name}.log"
    with log.open("w") as out:
        popen = subprocess.Popen(  # noqa: S603 - the deployment files' own commands
            argv,
            cwd=PROJECT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches the bench, which stops them in order
        )
    return Process(name, argv, log, popen)


def wait_http(process: Process, url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process.alive():
            raise RuntimeError(f"{process.name} exited:\n{process.tail()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 - our own server
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{process.name} not answering {url} in {timeout} s:\n{process.tail()}")


def wait_log(process: Process, marker: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process.alive():
            raise RuntimeError(f"{process.name} exited:\n{process.tail()}")
        if marker in process.log.read_text(errors="replace"):
            return
        time.sleep(0.2)
    raise RuntimeError(f"{process.name} not ready in {timeout} s:\n{process.tail()}")


def run(argv: list[str], env: dict[str, str], **kwargs: object) -> str:
    """A one-shot command (migrations, seed, fill): its output, or an error with it."""
    done = subprocess.run(  # noqa: S603 - our own commands
        argv, cwd=PROJECT, env=env, capture_output=True, text=True, check=False, **kwargs
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


# --- the stack ----------------------------------------------------------------------------------


@dataclass
class Stack:
    database_url: str  # postgresql://… of the bench database
    env: dict[str, str]  # the app's environment (production settings)
    tmp: Path
    logs: Path
    base_url: str = ""
    baseline_url: str = ""
    commands: dict[str, list[str]] = field(default_factory=dict)
    processes: list[Process] = field(default_factory=list)

    def sql(self) -> psycopg.Connection:
        return psycopg.connect(self.database_url, autocommit=True)

    def flask(self, *args: str) -> str:
        return run(["flask", "--app", "app", *args], self.env)

    def start_all(self) -> None:
        """gunicorn serving the app and the baseline, Celery worker and beat; all ready."""
        self.start_servers()
        self.start_workers()
        self.wait_servers()

    def start_servers(self) -> None:
        """gunicorn for the app and for the baseline, not waited for: they do nothing until a
        request comes, so they may boot while the database is being filled."""
        self.start_web()
        self.start_baseline()

    def wait_servers(self) -> None:
        for process in self.processes:
            if process.name == "gunicorn":
                wait_http(process, self.base_url + "/healthz")
            elif process.name == "baseline":
                wait_http(process, self.baseline_url + "/healthz")

    def start_web(self) -> Process:
        port = free_port()
        argv = with_bind(self.commands["web"], f"127.0.0.1:{port}")
        web = start("gunicorn", argv, self.env, self.logs)
        self.processes.append(web)
        self.base_url = f"http://127.0.0.1:{port}"
        return web

    def start_baseline(self) -> Process:
        """The same gunicorn command serving bench/baseline_app.py (one INSERT a request)."""
        with self.sql() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS bench_baseline (id bigserial PRIMARY KEY, "
                "item_id integer, comment text, created_at timestamptz DEFAULT now())"
            )
        port = free_port()
        argv = with_app(
            with_bind(self.commands["web"], f"127.0.0.1:{port}"), "bench.baseline_app:app"
        )
        baseline = start("baseline", argv, self.env, self.logs)
        self.processes.append(baseline)
        self.baseline_url = f"http://127.0.0.1:{port}"
        return baseline

    def stop(self, name: str) -> None:
        for process in [p for p in self.processes if p.name == name]:
            process.stop()
            self.processes.remove(process)

    def start_workers(self) -> None:
        worker = start("worker", self.commands["worker"], self.env, self.logs)
        self.processes.append(worker)
        beat = start("beat", self.commands["beat"], self.env, self.logs)
        self.processes.append(beat)
        wait_log(worker, " ready.")

    def check_alive(self) -> None:
        for process in self.processes:
            if not process.alive():
                raise RuntimeError(f"{process.name} died:\n{process.tail()}")


def _app_env(database_url: str, redis_url: str, tmp: Path, mail_port: int) -> dict[str, str]:
    venv_bin = str(Path(sys.executable).parent)
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("CONSULTA_")}
    return {
        **inherited,
        "PATH": venv_bin + os.pathsep + inherited.get("PATH", ""),
        "PYTHONUNBUFFERED": "1",
        "CONSULTA_ENV": "production",
        "CONSULTA_SECRET_KEY": secrets.token_urlsafe(48),
        "CONSULTA_DATABASE_URL": database_url,
        "CONSULTA_REDIS_URL": redis_url,
        "CONSULTA_INSTANCE_PATH": str(tmp / "instance"),
        "CONSULTA_MAIL_SERVER": "127.0.0.1",
        "CONSULTA_MAIL_PORT": str(mail_port),
        # A queue of this run's own, so that no other worker on the machine takes its tasks.
        "CONSULTA_CELERY_QUEUE": f"bench-{secrets.token_hex(4)}",
        # Every client of the bench comes from 127.0.0.1: the per-address API limit would
        # measure the limiter, not the pages (the overload scenario sets its own).
        "CONSULTA_API_RATE_LIMIT": "1000000/minute",
    }


@contextmanager
def database(prefix: str = "consulta_bench") -> Iterator[str]:
    """A new PostgreSQL database, dropped on exit whatever happens."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _terminate_on_sigterm() -> None:
    def stop(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt  # unwinds through every `finally`: processes, database

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started ignoring it


@contextmanager
def stack(redis_url: str = REDIS_URL, keep_logs: Path | None = None) -> Iterator[Stack]:
    """A migrated, seeded database and the environment to run the app on it; the caller starts
    the processes (after filling the database). Everything is stopped and dropped on exit."""
    _terminate_on_sigterm()
    with ExitStack() as cleanup:
        tmp = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="consulta-bench-")))
        logs = keep_logs or tmp / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        url = cleanup.enter_context(database())
        mail_port = free_port()
        env = _app_env(url, redis_url, tmp, mail_port)
        (tmp / "instance").mkdir()
        bench = Stack(url, env, tmp, logs)
        bench.commands = {
            "web": dockerfile_cmd(),
            "worker": compose_command("worker"),
            "beat": with_schedule(compose_command("beat"), str(tmp / "celerybeat-schedule")),
            "migrate": compose_command("migrate"),
        }

        def stop_all() -> None:
            for process in bench.processes:  # all at once: each shuts down gracefully
                process.terminate()
            for process in reversed(bench.processes):
                process.stop()

        cleanup.callback(stop_all)
        sink = start(
            "mail",
            [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{mail_port}"]
            + ["-c", "aiosmtpd.handlers.Sink"],
            env,
            logs,
        )
        bench.processes.append(sink)
        run(bench.commands["migrate"], env)  # `flask db upgrade && flask seed`, as compose
        yield bench
