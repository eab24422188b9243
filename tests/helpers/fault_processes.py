"""Processes a fault test breaks on purpose: a private Redis and a private PostgreSQL cluster
(stopped and started at will, never the machine's shared ones), gunicorn, Celery beat, and
SIGKILL for a worker's pool child or the whole worker."""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import psycopg
import redis

from tests.helpers.services import PROJECT, free_port
from tests.helpers.waiting import wait_for

REDIS_SERVER = "/usr/bin/redis-server"


def children_of(pid: int) -> list[int]:
    """The direct children of `pid` (a worker's pool processes, gunicorn's workers)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def kill_children(process: subprocess.Popen) -> list[int]:
    """SIGKILL the children of `process` (the worker's pool child, gunicorn's workers) and
    leave the process itself alive, as the kernel's OOM killer would."""
    children = children_of(process.pid)
    for child in children:
        os.kill(child, signal.SIGKILL)
    return children


def kill_tree(process: subprocess.Popen) -> None:
    """SIGKILL `process` and its children at once, as a machine losing power would."""
    kill_children(process)
    process.kill()
    process.wait(timeout=10)


class PrivateRedis:
    """A redis-server of the test's own on a free port, without persistence: a restart loses
    every queued message, as a Redis without a volume does."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - a fixed binary and our arguments
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)
        wait_for(self._answers(client), timeout=20, interval=0.05)
        client.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()  # lost at once, nothing written: the worst case
            self.process.wait(timeout=10)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_connect_timeout=1, socket_timeout=2)

    @staticmethod
    def _answers(client: redis.Redis):  # noqa: ANN205 - a predicate for wait_for
        def answers() -> bool:
            try:
                return bool(client.ping())
            except redis.RedisError:
                return False

        return answers


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own (initdb in a temporary folder, on a free port,
    run as the postgres user), that a test may restart under a running task."""

    def __init__(self) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        if not found:
            raise RuntimeError("no PostgreSQL server binaries under /usr/lib/postgresql")
        self.bin = Path(found[-1]).parent
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="consulta-pg-"))
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        shutil.chown(self.folder, "postgres", "postgres")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def init(self) -> None:
        self._as_postgres(
            "initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync"
        )
        settings = "\n".join(
            (
                f"port = {self.port}",
                "listen_addresses = '127.0.0.1'",
                f"unix_socket_directories = '{self.folder}'",
                "fsync = off",  # a throwaway cluster: nothing here must survive the machine
                "synchronous_commit = off",
                "full_page_writes = off",
                "shared_buffers = 32MB",
                "max_connections = 60",
            )
        )
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write("\n" + settings + "\n")

    def start(self) -> None:
        self._pg_ctl("start", "-w", "-t", "60", "-l", str(self.log))

    def restart(self) -> None:
        """Stop fast (every connection is cut, open transactions roll back), then start."""
        self._pg_ctl("restart", "-m", "fast", "-w", "-t", "60", "-l", str(self.log))

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._pg_ctl("stop", "-m", "immediate", "-w", "-t", "60")

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.url(), autocommit=True, connect_timeout=10) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def _pg_ctl(self, *args: str) -> None:
        self._as_postgres("pg_ctl", "-D", str(self.data), *args)

    def _as_postgres(self, program: str, *args: str) -> None:
        command = [str(self.bin / program), *args]
        if os.geteuid() == 0:  # the server refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(  # noqa: S603 - fixed binaries and our arguments
            command, check=True, cwd=self.folder, capture_output=True, timeout=120
        )


class ServiceProcess:
    """A long-running process of the project (gunicorn, beat) with its output in a log file."""

    def __init__(self, command: Sequence[str], env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self.url = ""  # where a server answers
        self._log = log_path.open("w")
        self.process = subprocess.Popen(  # noqa: S603 - our own programs
            list(command),
            cwd=PROJECT,
            env={**env, "PYTHONUNBUFFERED": "1"},
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def log(self) -> str:
        return self.log_path.read_text()

    def wait_for_log(self, text: str, timeout: float = 60) -> None:
        def seen() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.log_path.name} exited early:\n{self.log()}")
            return text in self.log()

        wait_for(seen, timeout=timeout, interval=0.1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                kill_tree(self.process)
        self._log.close()


def worker_env(settings: dict[str, str]) -> dict[str, str]:
    """The environment of a process of ours: this one's, without its CONSULTA_* settings, plus
    `settings` (name without the prefix -> value)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONSULTA_")}
    env.update({f"CONSULTA_{name.upper()}": value for name, value in settings.items()})
    return env


def start_gunicorn(settings: dict[str, str], log_path: Path, workers: int = 1) -> ServiceProcess:
    """`gunicorn "app:create_app()"` on a free port, configured by CONSULTA_* variables (sync
    workers, as the Dockerfile runs it); `.url` is its address."""
    port = free_port()
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    server = ServiceProcess(
        [
            gunicorn,
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--timeout",
            "120",
            "app:create_app()",
        ],
        worker_env(settings),
        log_path,
    )
    server.url = f"http://127.0.0.1:{port}"
    server.wait_for_log("Booting worker", timeout=60)
    wait_for(lambda: answers(server.url), timeout=60, interval=0.2)
    return server


def answers(url: str) -> bool:
    """Whether the web server at `url` answers its health check."""
    import requests

    try:
        return requests.get(f"{url}/healthz", timeout=5).status_code < 500
    except requests.RequestException:
        return False


def launch_beat(
    settings: dict[str, str], log_path: Path, app_module: str, **env: str
) -> ServiceProcess:
    """`celery beat` of `app_module`, with a schedule file of its own beside its log; `env`
    goes to its environment as given. Not waited for: see `wait_for_beat`."""
    return ServiceProcess(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            app_module,
            "beat",
            "--loglevel=INFO",
            "--schedule",
            str(log_path.with_suffix(".schedule")),
        ],
        {**worker_env(settings), **env},
        log_path,
    )


def wait_for_beat(beat: ServiceProcess) -> ServiceProcess:
    beat.wait_for_log("beat: Starting", timeout=60)
    return beat


def start_beat(
    settings: dict[str, str], log_path: Path, app_module: str, **env: str
) -> ServiceProcess:
    """A beat process (`launch_beat`), once it has started."""
    return wait_for_beat(launch_beat(settings, log_path, app_module, **env))
