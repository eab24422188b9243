"""The deployment files (Dockerfile, docker-compose.yml, .env.example) agree with the code.

These checks are structural and need no Docker engine: the compose file is parsed with PyYAML,
and the settings names are taken from `Settings.from_env` itself by handing it a mapping that
records every key it looks up. When the `docker compose` CLI plugin is installed, the compose file
is also validated with `docker compose config` (which needs no engine either).
"""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

import pytest
import yaml

from app.config import ConfigError, Settings

PROJECT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = PROJECT / "docker-compose.yml"
DOCKERFILE = PROJECT / "Dockerfile"
DOCKERIGNORE = PROJECT / ".dockerignore"
ENV_EXAMPLE = PROJECT / ".env.example"

APP_SERVICES = {"web", "worker", "beat", "migrate"}
ALL_SERVICES = APP_SERVICES | {"postgres", "redis", "minio", "mailcatcher", "backup", "flower"}
LONG_RUNNING = ALL_SERVICES - {"migrate"}

# How the app's environment setting is spelled in deployment files. Settings.from_env also falls
# back to a bare `ENV`, but that name is generic (POSIX shells use it for their startup file), so
# the deployment files deliberately never use or advertise it.
ENV_NAME = "CONSULTA_ENV"
UNADVERTISED = {"ENV"}
# Named in .env.example only as a commented-out line: its default depends on where the project
# lives, and the Docker image sets it itself.
OPTIONAL_IN_ENV_EXAMPLE = {"INSTANCE_PATH"}
# Read by docker-compose.yml alone (not the app), and required there: .env.example assigns them,
# empty, for the operator to fill in.
COMPOSE_ONLY = {"FLOWER_BASIC_AUTH"}

STRONG_KEY = "k" * 48
SECRET_NAME = "SECRET_KEY"  # compose refuses to interpolate it when unset


class RecordingEnv(dict):
    """A mapping that remembers every key looked up through `get`."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.seen: list[str] = []

    def get(self, key, default=None):  # noqa: ANN001, ANN201 - dict.get signature
        self.seen.append(key)
        return super().get(key, default)


def recorded_keys() -> set[str]:
    env = RecordingEnv()
    Settings.from_env(env)
    return set(env.seen)


def setting_names() -> set[str]:
    """Plain setting names: every name N that is read both as N and as CONSULTA_N."""
    keys = recorded_keys()
    return {key for key in keys if f"CONSULTA_{key}" in keys}


def load_compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


def app_env_block() -> dict[str, str]:
    compose = load_compose()
    block = compose["x-app-env"]
    assert isinstance(block, dict), "x-app-env must be a mapping of NAME: value"
    return {str(name): str(value) for name, value in block.items()}


def service_env(service: dict) -> dict[str, str]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    return {str(name): str(value) for name, value in environment.items()}


def interpolate(value: str, variables: dict[str, str]) -> str:
    """Enough of compose's ${VAR}, ${VAR:-default} and ${VAR:?error} for these files."""

    def substitute(match: re.Match[str]) -> str:
        name, operator, argument = match.group(1), match.group(2), match.group(3)
        current = variables.get(name, "")
        if operator == ":-":
            return current or argument
        if operator == ":?":
            if not current:
                raise KeyError(f"{name}: {argument}")
            return current
        return current

    return re.sub(r"\$\{(\w+)(?:(:[-?])([^}]*))?\}", substitute, value.replace("$$", "\0")).replace(
        "\0", "$"
    )


def parse_env_file(text: str) -> tuple[dict[str, str], set[str]]:
    """Assignments of a dotenv file, and the names that appear only in commented-out lines."""
    active: dict[str, str] = {}
    commented: set[str] = set()
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            match = re.match(r"#\s*([A-Z][A-Z0-9_]*)=", stripped)
            if match:
                commented.add(match.group(1))
            continue
        name, separator, value = stripped.partition("=")
        assert separator, f"not a NAME=value line in .env.example: {line!r}"
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*", name), f"bad variable name {name!r}"
        assert name not in active, f"{name} is assigned twice in .env.example"
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        active[name] = value
    return active, commented - set(active)


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with backslash continuations joined and comments dropped."""
    logical: list[str] = []
    current = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        logical.append(current + line)
        current = ""
    assert not current, "the Dockerfile ends inside a continued line"
    pairs = []
    for line in logical:
        instruction, _, arguments = line.partition(" ")
        pairs.append((instruction.upper(), arguments.strip()))
    return pairs


def instruction_args(name: str) -> list[str]:
    return [
        arguments for instruction, arguments in dockerfile_instructions() if instruction == name
    ]


def command_text(command: object) -> str:
    return command if isinstance(command, str) else " ".join(map(str, command))


# --- docker-compose.yml -----------------------------------------------------------------------


def test_compose_has_exactly_the_planned_services() -> None:
    compose = load_compose()
    assert "version" not in compose, "compose spec files carry no top-level version"
    assert set(compose["services"]) == ALL_SERVICES


def test_python_services_share_one_image_built_from_the_project() -> None:
    services = load_compose()["services"]
    contexts = set()
    images = set()
    for name in APP_SERVICES:
        build = services[name].get("build")
        assert build is not None, f"{name} must be built from the project"
        context = build if isinstance(build, str) else build.get("context", ".")
        dockerfile = (
            "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
        )
        contexts.add(((PROJECT / context).resolve(), dockerfile))
        images.add(services[name].get("image"))
    assert contexts == {(PROJECT, "Dockerfile")}
    assert len(images) == 1, f"the Python services must tag one image, not {images}"
    assert "command" not in services["web"], "web runs the image's default CMD (gunicorn)"


def test_flower_runs_from_the_image_behind_basic_auth_on_the_hosts_loopback_only() -> None:
    services = load_compose()["services"]
    flower = services["flower"]
    web = services["web"]
    assert (flower["build"], flower["image"]) == (web["build"], web["image"])
    command = shlex.split(command_text(flower["command"]))
    # The broker and nothing else: no database, no secret key in the monitor's container.
    assert command[:3] == ["celery", f"--broker={app_env_block()['REDIS_URL']}", "flower"]
    assert set(service_env(flower)) == {"FLOWER_BASIC_AUTH"}
    auth = service_env(flower)["FLOWER_BASIC_AUTH"]
    with pytest.raises(KeyError, match="FLOWER_BASIC_AUTH"):
        interpolate(auth, {})
    assert interpolate(auth, {"FLOWER_BASIC_AUTH": "ops:pw"}) == "ops:pw"
    assert all(str(port).startswith("127.0.0.1:") for port in flower["ports"])
    assert flower["depends_on"]["redis"]["condition"] == "service_healthy"
    extras = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert any(requirement.startswith("flower") for requirement in extras["monitoring"])


def test_workers_send_the_task_events_flower_shows() -> None:
    from app import celery_settings

    settings = celery_settings(Settings())
    assert settings["worker_send_task_events"] is True
    assert settings["task_send_sent_event"] is True


def test_redis_is_durable_and_never_evicts() -> None:
    redis = load_compose()["services"]["redis"]
    command = command_text(redis["command"])
    assert "--appendonly yes" in command
    assert "--maxmemory-policy noeviction" in command
    assert any(str(volume).endswith(":/data") for volume in redis.get("volumes", []))


def test_attachments_live_in_minio_so_web_replicas_share_no_disk() -> None:
    compose = load_compose()
    services = compose["services"]
    env = app_env_block()
    assert env["ATTACHMENT_STORE"] == "s3"
    assert env["S3_ENDPOINT_URL"] == "http://minio:9000"
    assert env["S3_BUCKET"]
    # Attachments are in the bucket: of the instance folder only the report files are shared,
    # by the worker that writes them and the web that serves them.
    for name in APP_SERVICES:
        mounts = [str(volume) for volume in services[name].get("volumes", [])]
        shared = [mount for mount in mounts if "/app/instance" in mount]
        expected = ["reports:/app/instance/reports"] if name in ("web", "worker") else []
        assert shared == expected, f"{name} mounts {mounts}"
    assert "uploads" not in (compose.get("volumes") or {})
    for name in ("web", "worker"):
        assert services[name]["depends_on"]["minio"]["condition"] == "service_healthy", name


def test_minio_keeps_its_data_and_its_credentials_match_the_app() -> None:
    compose = load_compose()
    minio = compose["services"]["minio"]
    assert command_text(minio["command"]).split()[:2] == ["server", "/data"]
    assert any(str(volume) == "minio-data:/data" for volume in minio["volumes"])
    assert "minio-data" in compose["volumes"]
    assert not minio.get("ports"), "the S3 API stays on the internal network"
    for variables in ({}, {"MINIO_ROOT_USER": "admin", "MINIO_ROOT_PASSWORD": "p" * 12}):
        server = {k: interpolate(v, variables) for k, v in service_env(minio).items()}
        app = {k: interpolate(v, variables) for k, v in app_env_block().items() if k != SECRET_NAME}
        assert app["S3_ACCESS_KEY_ID"] == server["MINIO_ROOT_USER"]
        assert app["S3_SECRET_ACCESS_KEY"] == server["MINIO_ROOT_PASSWORD"]
        assert len(server["MINIO_ROOT_PASSWORD"]) >= 8  # MinIO refuses shorter ones


def test_postgres_matches_the_database_url() -> None:
    postgres = load_compose()["services"]["postgres"]
    env = service_env(postgres)
    assert env["POSTGRES_DB"] == "consulta"
    assert env["POSTGRES_USER"] == "consulta"
    password = interpolate(env["POSTGRES_PASSWORD"], {"POSTGRES_PASSWORD": "s3cret"})
    url = interpolate(
        app_env_block()["DATABASE_URL"], {"POSTGRES_PASSWORD": "s3cret", "SECRET_KEY": "x"}
    )
    assert url == f"postgresql://consulta:{password}@postgres:5432/consulta"
    assert any("/var/lib/postgresql/data" in str(v) for v in postgres.get("volumes", []))


def test_every_long_running_service_has_a_healthcheck() -> None:
    services = load_compose()["services"]
    for name in LONG_RUNNING:
        healthcheck = services[name].get("healthcheck")
        assert healthcheck, f"{name} has no healthcheck"
        assert not healthcheck.get("disable"), f"{name} has its healthcheck disabled"
        assert healthcheck.get("test"), f"{name} healthcheck has no test"
    assert "pg_isready" in command_text(services["postgres"]["healthcheck"]["test"])
    assert "redis-cli ping" in command_text(services["redis"]["healthcheck"]["test"])
    assert command_text(services["minio"]["healthcheck"]["test"]) == "CMD mc ready local"
    # Database and broker only: the web is not unhealthy while workers start.
    assert "/readyz?worker=optional" in command_text(services["web"]["healthcheck"]["test"])
    assert "/healthcheck" in command_text(services["flower"]["healthcheck"]["test"])
    worker_check = command_text(services["worker"]["healthcheck"]["test"])
    assert "worker.celery_app inspect ping" in worker_check


def test_services_start_in_order() -> None:
    services = load_compose()["services"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["migrate"]["restart"] == "no"
    for name in ("web", "worker", "beat"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
        assert depends["redis"]["condition"] == "service_healthy", name
    assert services["web"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "5000:5000" in [str(port) for port in services["web"]["ports"]]


def test_migrate_upgrades_the_schema_then_seeds(tmp_path: Path) -> None:
    command = command_text(load_compose()["services"]["migrate"]["command"])
    assert command == 'sh -c "flask --app app db upgrade && flask --app app seed"'
    # Both commands exist on the app, and `db` uses the migrations/ copied into the image.
    from app import create_app

    application = create_app({"env": "test", "instance_path": str(tmp_path)})
    assert {"db", "seed"} <= set(application.cli.commands)
    assert Path(application.extensions["migrate"].directory) == PROJECT / "migrations"
    assert (PROJECT / "migrations" / "env.py").is_file()


def test_celery_services_name_the_real_entry_point() -> None:
    services = load_compose()["services"]
    worker = shlex.split(command_text(services["worker"]["command"]))
    beat = shlex.split(command_text(services["beat"]["command"]))
    assert worker[:4] == ["celery", "-A", "worker.celery_app", "worker"]
    assert beat[:4] == ["celery", "-A", "worker.celery_app", "beat"]
    entry_point = PROJECT / "worker" / "celery_app.py"
    assert entry_point.is_file()
    assert re.search(r"^celery\s*=", entry_point.read_text(encoding="utf-8"), re.MULTILINE), (
        "worker/celery_app.py must define the module-level `celery` app"
    )


def test_app_services_all_use_the_shared_environment() -> None:
    services = load_compose()["services"]
    shared = app_env_block()
    for name in APP_SERVICES:
        assert service_env(services[name]) == shared, f"{name} does not use x-app-env"


def test_compose_environment_names_are_read_by_the_app() -> None:
    names = set(app_env_block())
    read = recorded_keys()
    assert names <= read, f"compose sets variables the app never reads: {sorted(names - read)}"
    prefixed = {name for name in names if name.startswith("CONSULTA_")} - {ENV_NAME}
    assert not prefixed, f"use plain names in compose: {sorted(prefixed)}"
    assert not names & UNADVERTISED


def test_compose_environment_is_a_valid_production_configuration() -> None:
    variables = {"SECRET_KEY": STRONG_KEY}
    env = {name: interpolate(value, variables) for name, value in app_env_block().items()}
    settings = Settings.from_env(env).resolved()
    settings.check()  # raises ConfigError on an unsafe production setup
    assert settings.is_production
    assert settings.database_url.startswith("postgresql://")
    assert settings.broker_url == settings.redis_url == "redis://redis:6379/0"
    assert settings.ratelimit_storage_url == settings.redis_url
    assert settings.mail_server == "mailcatcher"
    assert settings.mail_port == 1025
    assert settings.base_url == "http://localhost:5000"
    assert settings.attachment_store == "s3"
    assert settings.s3_endpoint_url == "http://minio:9000"
    assert settings.s3_bucket == "consulta-attachments"


def test_compose_refuses_to_run_without_a_secret_key() -> None:
    with pytest.raises(KeyError, match="SECRET_KEY"):
        interpolate(app_env_block()["SECRET_KEY"], {})


# --- .env.example -----------------------------------------------------------------------------


def test_env_example_names_every_setting_and_nothing_else() -> None:
    active, commented = parse_env_file(ENV_EXAMPLE.read_text(encoding="utf-8"))
    expected = setting_names() - UNADVERTISED - OPTIONAL_IN_ENV_EXAMPLE
    assert expected, "no settings recorded from Settings.from_env"
    missing = expected - set(active)
    assert not missing, f".env.example lacks {sorted(missing)}"
    unknown = set(active) - recorded_keys() - COMPOSE_ONLY
    assert not unknown, f".env.example sets variables the app never reads: {sorted(unknown)}"
    assert not set(active) & UNADVERTISED
    for name in OPTIONAL_IN_ENV_EXAMPLE:
        assert name in active or name in commented, f".env.example does not mention {name}"


def test_env_example_documents_each_setting_with_a_comment() -> None:
    lines = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    for index, line in enumerate(lines):
        if line and not line.startswith("#"):
            assert index > 0 and lines[index - 1].startswith("#"), f"no comment above {line!r}"


def test_env_example_values_parse_but_never_pass_as_production_secrets() -> None:
    active, _ = parse_env_file(ENV_EXAMPLE.read_text(encoding="utf-8"))
    settings = Settings.from_env(active).resolved()  # every value has the right type
    assert settings.secret_key == "", "SECRET_KEY must stay a placeholder in .env.example"
    assert not settings.demo_mode
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        settings.check()
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    assert 'python -c "import secrets; print(secrets.token_urlsafe(48))"' in text


# --- Dockerfile and .dockerignore -------------------------------------------------------------


def test_dockerfile_runs_gunicorn_as_a_non_root_user() -> None:
    froms = instruction_args("FROM")
    assert froms and froms[-1].startswith("python:3.11-slim")  # the image; earlier stages build
    users = instruction_args("USER")
    assert users, "the image must switch to an unprivileged USER"
    assert users[-1].split(":")[0] not in {"root", "0"}
    cmd = instruction_args("CMD")
    assert len(cmd) == 1
    argv = yaml.safe_load(cmd[0])  # exec form is a JSON array
    assert argv[0] == "gunicorn"
    assert argv[-1] == "app:create_app()"
    assert "0.0.0.0:5000" in argv
    assert "5000" in " ".join(instruction_args("EXPOSE")).split()
    assert any("CONSULTA_ENV=production" in env for env in instruction_args("ENV"))


def test_dockerfile_has_a_healthcheck_on_healthz() -> None:
    healthchecks = instruction_args("HEALTHCHECK")
    assert len(healthchecks) == 1
    assert "http://127.0.0.1:5000/healthz" in healthchecks[0]
    assert "urllib" in healthchecks[0]


def test_dockerfile_installs_the_whole_project_and_compiles_translations() -> None:
    copies = instruction_args("COPY")
    assert ". ." in copies, "the whole project (app/, worker/, migrations/) must be copied"
    # gunicorn, `flask --app app` and `celery -A` all import `app` from the working directory,
    # whose migrations/ is what app/web.py hands to Flask-Migrate.
    assert instruction_args("WORKDIR")[-1] == "/app"  # the image's; /build is the front end's
    runs = " ".join(instruction_args("RUN"))
    assert 'pip install ".[monitoring]"' in runs  # the project, and Flower for compose
    assert "pybabel compile -f -d app/translations" in runs
    assert "if ls app/translations/*/LC_MESSAGES/*.po" in runs
    assert "|| true" not in runs
    # Compiled before `pip install .`, so the installed package carries the .mo files as well.
    assert runs.index("pybabel compile") < runs.index('pip install ".[monitoring]"')


def test_dockerfile_builds_the_front_end_from_the_lock_file_in_a_stage_of_its_own() -> None:
    stages = instruction_args("FROM")
    assert any(stage.startswith("node:") and stage.endswith(" AS frontend") for stage in stages)
    runs = instruction_args("RUN")
    assert "npm ci --omit=optional --no-audit --no-fund" in runs
    assert "scripts/build-frontend" in runs
    copies = instruction_args("COPY")
    assert "package.json package-lock.json .npmrc ./" in copies
    # Copied after the project, so the built files are what the image serves.
    built = "--from=frontend /build/app/static/vendor app/static/vendor"
    assert copies.index(built) > copies.index(". .")


def test_dockerignore_keeps_local_state_out_but_not_the_code() -> None:
    patterns = {
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    required = {
        ".venv",
        "instance",
        ".git",
        "__pycache__",
        "*.egg-info",
        ".pytest_cache",
        ".ruff_cache",
        "bench/results",
    }
    assert required <= patterns
    for needed in ("app", "worker", "migrations", "pyproject.toml"):
        assert needed not in patterns and f"{needed}/" not in patterns


def make_rule(target: str) -> tuple[list[str], list[str]]:
    """The prerequisites and recipe lines of `target` in the Makefile."""
    lines = (PROJECT / "Makefile").read_text().splitlines()
    for index, line in enumerate(lines):
        if line.startswith(f"{target}:"):
            recipe = []
            for following in lines[index + 1 :]:
                if not following.startswith("\t"):
                    break
                recipe.append(following.strip())
            return line.split(":", 1)[1].split(), recipe
    raise AssertionError(f"no rule {target} in the Makefile")


def installed_extras(target: str) -> set[str]:
    """The pyproject extras that `target` installs, following its prerequisites."""
    prerequisites, recipe = make_rule(target)
    extras = set()
    for line in recipe:
        match = re.search(r'-e "\.\[([^\]]*)\]"', line)
        if match:
            extras.update(match.group(1).split(","))
    for prerequisite in prerequisites:
        if prerequisite.startswith("$(VENV)/") or prerequisite in ("install", "translations"):
            extras |= installed_extras(prerequisite)
    return extras


def test_make_run_installs_what_running_needs_and_no_test_tools() -> None:
    run = installed_extras("run")
    assert run == {"embedded"}
    assert installed_extras("test") >= {"embedded", "test", "dev"}
    embedded = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]["embedded"]
    # The mail sink scripts/run-embedded starts is what the embedded extra is for.
    assert any(requirement.startswith("aiosmtpd") for requirement in embedded)
    assert "aiosmtpd" in (PROJECT / "scripts" / "run-embedded").read_text()


def test_gunicorn_has_threads_to_spare_for_refusing_a_surge_and_a_statement_timeout() -> None:
    argv = yaml.safe_load(instruction_args("CMD")[0])

    def flag(name: str) -> str:
        return argv[argv.index(name) + 1]

    assert flag("--worker-class") == "gthread"
    # More threads than requests let work at once: the spare ones answer 503 at once.
    assert int(flag("--threads")) > Settings().max_concurrent_requests
    assert int(flag("--workers")) >= 2
    assert int(flag("--timeout")) <= 60
    timeout = flag("--env")
    assert timeout.startswith("CONSULTA_STATEMENT_TIMEOUT_MS=")
    assert 0 < int(timeout.split("=", 1)[1]) <= 10_000
    # The worker runs long report scans: compose must not hand it the web's timeout.
    assert "STATEMENT_TIMEOUT" not in str(load_compose()["services"]["worker"])


def test_the_test_tools_bring_an_s3_server_and_running_brings_its_client() -> None:
    project = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]
    assert any(requirement.startswith("boto3") for requirement in project["dependencies"])
    test_extra = project["optional-dependencies"]["test"]
    # tests/integration/test_object_store.py runs moto's server process when MinIO is absent.
    assert any(requirement.startswith("moto[server]") for requirement in test_extra)
    assert "test" in installed_extras("test")


# --- the backup service (docs/backups.md) -------------------------------------------------------


def backup_service() -> dict:
    return load_compose()["services"]["backup"]


def test_backup_service_runs_the_backup_command_on_a_schedule_into_its_volume(
    tmp_path: Path,
) -> None:
    service = backup_service()
    assert "backups:/backups" in [str(volume) for volume in service["volumes"]]
    assert "backups" in load_compose()["volumes"]
    variables = {SECRET_NAME: STRONG_KEY}
    env = {name: interpolate(value, variables) for name, value in service_env(service).items()}
    assert int(env["BACKUP_KEEP"]) >= 1 and int(env["BACKUP_INTERVAL_SECONDS"]) >= 60
    # The loop's body, as the container's shell runs it: a command the app really has.
    script = shlex.split(interpolate(command_text(service["command"]), {}))
    assert script[:2] == ["sh", "-c"]
    body = script[2].replace('"$BACKUP_KEEP"', env["BACKUP_KEEP"])
    assert body.startswith("while true; do flask --app app backup create /backups --keep ")
    assert 'sleep "$BACKUP_INTERVAL_SECONDS"; done' in body
    argv = shlex.split(body.split(";")[1])[1:]  # after "do"
    from app import create_app

    application = create_app({"env": "test", "instance_path": str(tmp_path)})
    group = application.cli.commands[argv[3]]
    context = group.commands[argv[4]].make_context(argv[4], argv[5:])
    assert context.params == {"root": Path("/backups"), "keep": int(env["BACKUP_KEEP"])}


def test_backup_service_reaches_the_database_and_the_attachments_as_the_app_does() -> None:
    service = backup_service()
    env = service_env(service)
    assert {name: env[name] for name in app_env_block()} == app_env_block()
    for name in ("migrate", "postgres", "minio"):
        expected = "service_completed_successfully" if name == "migrate" else "service_healthy"
        assert service["depends_on"][name]["condition"] == expected, name
    assert service["restart"] == "unless-stopped"


def test_backup_service_has_the_postgres_services_client_and_runs_unprivileged() -> None:
    compose = load_compose()
    service = compose["services"]["backup"]
    server_image = compose["services"]["postgres"]["image"]
    major = server_image.split(":")[1]
    build = service["build"]
    assert build["additional_contexts"] == {"app": "service:web"}  # the app's own image
    lines = [line.strip() for line in build["dockerfile_inline"].splitlines() if line.strip()]
    assert lines[0] == f"FROM {server_image}-bookworm AS client"
    assert "FROM app" in lines
    copies = [line for line in lines if line.startswith("COPY --from=client")]
    assert copies == [
        f"COPY --from=client /usr/lib/postgresql/{major}/bin/pg_dump "
        f"/usr/lib/postgresql/{major}/bin/pg_restore /usr/local/bin/"
    ]
    assert lines[-1] == "USER consulta"
    assert service["image"] != compose["services"]["web"]["image"]


def test_backup_healthcheck_is_healthy_only_while_the_newest_backup_is_recent(
    tmp_path: Path,
) -> None:
    import os
    import subprocess
    import sys
    import time

    check = backup_service()["healthcheck"]["test"]
    assert check[:3] == ["CMD", "python", "-c"]
    code = check[3].replace("/backups/", f"{tmp_path}/")
    env = {**os.environ, "BACKUP_INTERVAL_SECONDS": "3600"}

    def healthy() -> bool:
        done = subprocess.run([sys.executable, "-c", code], env=env, check=False)  # noqa: S603
        return done.returncode == 0

    assert not healthy()  # no backup yet
    (tmp_path / ".incomplete-20261207T020000Z").mkdir()
    (tmp_path / ".incomplete-20261207T020000Z" / "manifest.json").write_text("{}")
    assert not healthy()  # one being written is not one made
    older = tmp_path / "20261206T020000Z"
    older.mkdir()
    (older / "manifest.json").write_text("{}")
    assert healthy()
    long_ago = time.time() - 1.5 * 3600 - 60
    os.utime(older / "manifest.json", (long_ago, long_ago))
    assert not healthy()


def test_env_example_mentions_the_backup_schedule() -> None:
    _, commented = parse_env_file(ENV_EXAMPLE.read_text(encoding="utf-8"))
    assert {"BACKUP_KEEP", "BACKUP_INTERVAL_SECONDS"} <= commented
