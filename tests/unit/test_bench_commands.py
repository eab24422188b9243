"""The bench runs the deployment files' own commands: it reads the Dockerfile's CMD and the
compose commands, whatever flags they carry, and changes only the bind address, the served
application (the baseline) and beat's schedule file."""

from __future__ import annotations

from bench import stack


def test_the_dockerfile_cmd_is_read_in_exec_and_shell_form(tmp_path):
    exec_form = tmp_path / "Dockerfile"
    exec_form.write_text(
        'FROM python:3.11-slim\n# CMD ["not", "this"]\nCMD ["gunicorn", "--workers", "3", \\\n'
        '     "--bind", "0.0.0.0:5000", "app:create_app()"]\n'
    )
    assert stack.dockerfile_cmd(exec_form) == [
        "gunicorn", "--workers", "3", "--bind", "0.0.0.0:5000", "app:create_app()",
    ]  # fmt: skip
    exec_form.write_text("CMD gunicorn -w 4 --threads 2 'app:create_app()'\n")
    assert stack.dockerfile_cmd(exec_form) == [
        "gunicorn", "-w", "4", "--threads", "2", "app:create_app()",
    ]  # fmt: skip


def test_the_repositorys_own_files_give_gunicorn_and_celery():
    web = stack.dockerfile_cmd()
    assert web[0] == "gunicorn" and any(stack.APP_SPEC.match(arg) for arg in web)
    assert stack.compose_command("worker")[:4] == ["celery", "-A", "worker.celery_app", "worker"]
    assert "beat" in stack.compose_command("beat")


def test_only_the_bind_address_changes_whatever_the_spelling():
    to = "127.0.0.1:8123"
    for given, expected in [
        (["gunicorn", "--bind", "0.0.0.0:5000", "-w", "3", "m:a"], ["--bind", to]),
        (["gunicorn", "--bind=0.0.0.0:5000", "-w", "3", "m:a"], ["--bind=" + to]),
        (["gunicorn", "-b", "0.0.0.0:5000", "-w", "3", "m:a"], ["-b", to]),
        (["gunicorn", "-b0.0.0.0:5000", "-w", "3", "m:a"], ["-b" + to]),
    ]:
        changed = stack.with_bind(given, to)
        assert changed[1 : 1 + len(expected)] == expected
        assert changed[-3:] == ["-w", "3", "m:a"]
    assert stack.with_bind(["gunicorn", "-w", "3", "m:a"], to) == [
        "gunicorn", "--bind", to, "-w", "3", "m:a",
    ]  # fmt: skip


def test_the_baseline_is_served_by_the_same_command():
    argv = ["gunicorn", "--bind", "x:1", "--workers", "3", "--timeout", "30", "app:create_app()"]
    assert stack.with_app(argv, "bench.baseline_app:app") == [
        "gunicorn", "--bind", "x:1", "--workers", "3", "--timeout", "30", "bench.baseline_app:app",
    ]  # fmt: skip


def test_beats_schedule_moves_to_the_runs_folder():
    argv = ["celery", "-A", "w", "beat", "--schedule", "/tmp/s", "--loglevel=INFO"]
    assert stack.with_schedule(argv, "/run/x") == [
        "celery", "-A", "w", "beat", "--schedule", "/run/x", "--loglevel=INFO",
    ]  # fmt: skip
    assert stack.with_schedule(["celery", "beat"], "/run/x")[-2:] == ["--schedule", "/run/x"]
    assert stack.worker_concurrency(["celery", "worker", "--concurrency=2"]) == "2"
