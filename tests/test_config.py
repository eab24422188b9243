"""Settings from the environment: production refuses unsafe values; building the app connects to
nothing; the embedded default needs no services."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app import create_app
from app.config import ConfigError, Settings
from app.extensions import limiter

STRONG_KEY = "k" * 48
# Nothing listens on port 1: if building the app connected anywhere, it would fail.
UNREACHABLE_POSTGRES = "postgresql://u@127.0.0.1:1/x"
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


def production_env(**changes: str | None) -> dict[str, str]:
    """A complete production environment; a change of None removes that variable."""
    env = {
        "CONSULTA_ENV": "production",
        "CONSULTA_SECRET_KEY": STRONG_KEY,
        "CONSULTA_DATABASE_URL": UNREACHABLE_POSTGRES,
        "CONSULTA_REDIS_URL": UNREACHABLE_REDIS,
        "CONSULTA_INSTANCE_PATH": "/nonexistent/consulta-instance",
    }
    for name, value in changes.items():
        env.pop(f"CONSULTA_{name}", None)
        if value is not None:
            env[f"CONSULTA_{name}"] = value
    return env


def overrides(tmp_path: Path, **settings: object) -> dict[str, object]:
    """create_app overrides that pin every service setting, whatever the process environment."""
    return {
        "env": "development",
        "database_url": "",
        "redis_url": "",
        "broker_url": "",
        "ratelimit_storage_url": "",
        "demo_mode": False,
        "instance_path": str(tmp_path / "instance"),
        **settings,
    }


def production_overrides(tmp_path: Path, **settings: object) -> dict[str, object]:
    production = {
        "env": "production",
        "secret_key": STRONG_KEY,
        "database_url": UNREACHABLE_POSTGRES,
        "redis_url": UNREACHABLE_REDIS,
    }
    return overrides(tmp_path, **{**production, **settings})


@pytest.fixture(autouse=True)
def _restore_the_rate_limiter() -> Iterator[None]:
    """The Limiter is one object per process and every create_app rebinds its storage: put it
    back, so the unreachable Redis built here never reaches another test or the limit reset."""
    saved = dict(vars(limiter))
    yield
    vars(limiter).clear()
    vars(limiter).update(saved)


# --- production refuses unsafe settings -----------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        pytest.param({"SECRET_KEY": None}, "SECRET_KEY", id="insecure-default-key"),
        pytest.param({"SECRET_KEY": "dev-insecure-key-change-me"}, "SECRET_KEY", id="dev-key"),
        pytest.param({"SECRET_KEY": "s" * 31}, "SECRET_KEY", id="short-key"),
        pytest.param({"DATABASE_URL": "sqlite:///c.sqlite"}, "DATABASE_URL", id="sqlite"),
        pytest.param({"DATABASE_URL": ""}, "DATABASE_URL", id="empty-database-url"),
        pytest.param({"DATABASE_URL": None}, "DATABASE_URL", id="missing-database-url"),
        pytest.param({"REDIS_URL": None}, "REDIS_URL", id="missing-redis-url"),
        pytest.param({"DEMO_MODE": "true"}, "DEMO_MODE", id="demo-mode"),
        pytest.param(
            {"PASSWORD_HASH_PROFILE": "fast"}, "PASSWORD_HASH_PROFILE", id="fast-password-hash"
        ),
    ],
)
def test_production_refuses_unsafe_settings(changes: dict[str, str | None], named: str):
    settings = Settings.from_env(production_env(**changes)).resolved()

    with pytest.raises(ConfigError, match=named):
        settings.check()


def test_production_app_is_not_built_on_the_embedded_database(tmp_path: Path):
    settings = production_overrides(tmp_path, database_url=f"sqlite:///{tmp_path / 'x.sqlite'}")

    with pytest.raises(ConfigError, match="DATABASE_URL"):
        create_app(settings)
    assert not (tmp_path / "instance").exists()


def test_development_accepts_the_dev_key_and_the_embedded_database():
    Settings.from_env({"CONSULTA_ENV": "development"}).resolved().check()


# --- a complete production environment ------------------------------------------------------


def test_complete_production_environment_passes_the_check():
    Settings.from_env(production_env()).resolved().check()


def test_production_app_builds_without_connecting_and_sets_strict_cookies(tmp_path: Path):
    app = create_app(production_overrides(tmp_path))

    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@127.0.0.1:1/x"
    assert app.config["CELERY"]["broker_url"] == UNREACHABLE_REDIS
    assert app.config["RATELIMIT_STORAGE_URI"] == UNREACHABLE_REDIS
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["REMEMBER_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_HTTPONLY"] is True
    assert app.config["REMEMBER_COOKIE_SAMESITE"] == "Lax"
    assert app.config["PREFERRED_URL_SCHEME"] == "https"
    assert app.config["TESTING"] is False


def test_production_hashes_passwords_with_strong_argon2id_parameters(tmp_path: Path):
    from app.accounts.passwords import password_hasher

    assert Settings.from_env(production_env()).password_hash_profile == "strong"
    app = create_app(production_overrides(tmp_path))
    with app.app_context():
        hasher = password_hasher()
        stored = hasher.hash("a long and unusual passphrase")

    # RFC 9106's low-memory profile at least: 64 MiB, 3 passes, argon2id.
    assert hasher.memory_cost >= 64 * 1024
    assert hasher.time_cost >= 3
    assert stored.startswith("$argon2id$")
    assert f"m={hasher.memory_cost},t={hasher.time_cost}" in stored


def test_an_unknown_password_hash_profile_is_refused():
    environment = {"CONSULTA_ENV": "development", "CONSULTA_PASSWORD_HASH_PROFILE": "cheap"}
    with pytest.raises(ConfigError, match="PASSWORD_HASH_PROFILE"):
        Settings.from_env(environment).resolved().check()


def test_development_cookies_are_not_secure_only(tmp_path: Path):
    app = create_app(overrides(tmp_path))

    assert app.config["SESSION_COOKIE_SECURE"] is False
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True


# --- the embedded default -------------------------------------------------------------------


def test_without_services_settings_fall_back_to_sqlite_and_memory(tmp_path: Path):
    settings = Settings.from_env({"CONSULTA_INSTANCE_PATH": str(tmp_path)}).resolved()

    assert settings.database_url == f"sqlite:///{tmp_path / 'consulta.sqlite'}"
    assert settings.broker_url == f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}"
    assert settings.ratelimit_storage_url == "memory://"


def test_embedded_app_keeps_its_databases_under_the_instance_path(tmp_path: Path):
    app = create_app(overrides(tmp_path))
    instance = tmp_path / "instance"

    assert app.instance_path == str(instance)
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{instance / 'consulta.sqlite'}"
    assert app.config["CELERY"]["broker_url"] == f"sqla+sqlite:///{instance / 'broker.sqlite'}"
    assert app.config["CELERY"]["broker_transport_options"] == {}
    assert app.config["RATELIMIT_STORAGE_URI"] == "memory://"


# --- with Redis -----------------------------------------------------------------------------


def test_redis_url_becomes_the_broker_with_safe_delivery_settings(tmp_path: Path):
    app = create_app(overrides(tmp_path, redis_url=UNREACHABLE_REDIS))
    celery = app.config["CELERY"]

    assert celery["broker_url"] == UNREACHABLE_REDIS
    assert app.config["RATELIMIT_STORAGE_URI"] == UNREACHABLE_REDIS
    assert celery["task_acks_late"] is True
    assert celery["task_reject_on_worker_lost"] is True
    assert celery["worker_prefetch_multiplier"] == 1
    assert celery["accept_content"] == ["json"]
    assert celery["task_serializer"] == "json"
    # A task still running must never be redelivered to a second worker.
    visibility = celery["broker_transport_options"]["visibility_timeout"]
    assert visibility > celery["task_time_limit"]
    assert celery["task_soft_time_limit"] < celery["task_time_limit"]


def test_explicit_broker_url_wins_over_redis_url():
    settings = Settings.from_env(
        {"CONSULTA_REDIS_URL": UNREACHABLE_REDIS, "CONSULTA_BROKER_URL": "redis://broker:6379/2"}
    ).resolved()

    assert settings.broker_url == "redis://broker:6379/2"


# --- database URLs --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@db:5432/consulta", "postgresql+psycopg://u:p@db:5432/consulta"),
        ("postgresql://u:p@db:5432/consulta", "postgresql+psycopg://u:p@db:5432/consulta"),
        ("postgresql+psycopg://u@db/consulta", "postgresql+psycopg://u@db/consulta"),
        ("sqlite:////srv/consulta.sqlite", "sqlite:////srv/consulta.sqlite"),
    ],
)
def test_postgres_urls_are_given_the_psycopg_driver(given: str, expected: str):
    config = Settings(database_url=given).flask_config()

    assert config["SQLALCHEMY_DATABASE_URI"] == expected


def test_unprefixed_variables_are_read_too():
    settings = Settings.from_env({"DATABASE_URL": "postgres://u@db/x", "REDIS_URL": "redis://r"})

    assert settings.database_url == "postgres://u@db/x"
    assert settings.redis_url == "redis://r"


# --- overrides ------------------------------------------------------------------------------


def test_lowercase_override_replaces_a_setting(tmp_path: Path):
    app = create_app(overrides(tmp_path, celery_queue="reports-only", max_upload_mb=2))

    assert app.config["SETTINGS"].celery_queue == "reports-only"
    assert app.config["CELERY"]["task_default_queue"] == "reports-only"
    assert app.config["MAX_CONTENT_LENGTH"] == 2 * 1024 * 1024


def test_uppercase_override_lands_in_flask_config(tmp_path: Path):
    app = create_app(overrides(tmp_path, WTF_CSRF_ENABLED=False, MAX_CONTENT_LENGTH=1024))

    assert app.config["WTF_CSRF_ENABLED"] is False
    assert app.config["MAX_CONTENT_LENGTH"] == 1024
    assert not hasattr(app.config["SETTINGS"], "WTF_CSRF_ENABLED")


def test_a_mistyped_lowercase_override_is_refused(tmp_path: Path):
    with pytest.raises(ConfigError, match="databse_url"):
        create_app({"instance_path": str(tmp_path), "databse_url": "sqlite://"})


@pytest.mark.parametrize("name", ["prod", "Production", "staging"])
def test_an_unknown_environment_name_is_refused(name: str):
    with pytest.raises(ConfigError, match="CONSULTA_ENV"):
        Settings.from_env({"CONSULTA_ENV": name}).resolved().check()


def test_a_bare_env_variable_does_not_choose_the_environment():
    settings = Settings.from_env({"ENV": "production"})
    assert settings.env == "development"


# --- leased jobs ----------------------------------------------------------------------------


def test_jobs_have_short_leases_and_attempts_per_kind_by_default():
    settings = Settings.from_env({})
    assert settings.job_lease_seconds == 30  # a heartbeat renews it: a dead worker's job moves on
    assert settings.job_reconcile_seconds <= 30
    assert (settings.report_attempts, settings.bulk_action_attempts, settings.mail_attempts) == (
        3,
        5,
        12,
    )
    assert settings.report_lease_seconds is None  # the kind uses JOB_LEASE_SECONDS


def test_each_kind_of_job_takes_its_attempts_and_lease_from_the_environment(tmp_path: Path):
    settings = Settings.from_env(
        {
            "CONSULTA_JOB_LEASE_SECONDS": "12",
            "CONSULTA_JOB_RECONCILE_SECONDS": "7",
            "CONSULTA_REPORT_ATTEMPTS": "4",
            "CONSULTA_REPORT_LEASE_SECONDS": "90",
            "MAIL_ATTEMPTS": "2",
            "CONSULTA_MAIL_LEASE_SECONDS": "",
        }
    )
    assert (settings.job_lease_seconds, settings.report_attempts) == (12, 4)
    assert (settings.report_lease_seconds, settings.mail_attempts) == (90, 2)
    assert settings.mail_lease_seconds is None
    app = create_app(overrides(tmp_path, job_reconcile_seconds=7))
    schedule = app.config["CELERY"]["beat_schedule"]
    assert schedule["reconcile-reports"]["schedule"] == 7.0
    assert schedule["reconcile-notifications"]["schedule"] == 7.0


@pytest.mark.parametrize(
    "name", ["JOB_LEASE_SECONDS", "REPORT_ATTEMPTS", "MAIL_LEASE_SECONDS", "JOB_RECONCILE_SECONDS"]
)
def test_a_job_setting_below_one_is_refused(name: str):
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({f"CONSULTA_{name}": "0"}).resolved().check()


def test_the_statement_timeout_is_off_unless_the_process_sets_it():
    quiet = Settings.from_env(production_env()).resolved().flask_config()
    assert "statement_timeout" not in quiet["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"]["options"]
    web = Settings.from_env(production_env(STATEMENT_TIMEOUT_MS="5000")).resolved().flask_config()
    options = web["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"]["options"].split()
    assert "statement_timeout=5000" in options and "jit=off" in options


def test_a_negative_statement_timeout_is_refused():
    with pytest.raises(ConfigError, match="STATEMENT_TIMEOUT_MS"):
        Settings.from_env(production_env(STATEMENT_TIMEOUT_MS="-1")).check()
