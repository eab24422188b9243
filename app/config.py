"""Typed settings, read from environment variables only and parsed in this one place."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Literal, cast, get_args

INSECURE_DEV_KEY = "dev-insecure-key-change-me"  # noqa: S105 - refused in production below
PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENVIRONMENTS = ("development", "production", "test")
# argon2id costs by name (app/accounts/passwords.py holds the parameters). "fast" exists so the
# test suite can create hundreds of accounts; production refuses it.
PasswordHashProfile = Literal["strong", "fast"]
PASSWORD_HASH_PROFILES: tuple[str, ...] = get_args(PasswordHashProfile)
# Where attachments are kept (app/storage.py): this machine's instance folder, or an
# S3-compatible object store that every web and worker process reaches.
AttachmentStore = Literal["local", "s3"]
ATTACHMENT_STORES: tuple[str, ...] = get_args(AttachmentStore)
JOB_SETTINGS = (
    "job_lease_seconds",
    "job_reconcile_seconds",
    "worker_heartbeat_seconds",
    "report_attempts",
    "report_lease_seconds",
    "flag_batch_size",
    "bulk_action_attempts",
    "bulk_action_lease_seconds",
    "mail_attempts",
    "mail_lease_seconds",
)


class ConfigError(RuntimeError):
    """The environment does not describe a runnable configuration."""


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _optional_int(value: str) -> int | None:
    return int(value) if value.strip() else None


@dataclass(frozen=True)
class Settings:
    env: str = "development"  # development | production | test
    secret_key: str = INSECURE_DEV_KEY
    database_url: str = ""
    redis_url: str = ""
    broker_url: str = ""
    base_url: str = "http://127.0.0.1:5000"
    instance_path: str = str(PROJECT_ROOT / "instance")
    mail_server: str = "localhost"
    mail_port: int = 1025
    mail_use_tls: bool = False
    mail_username: str = ""
    mail_password: str = ""
    mail_sender: str = "Consulta <no-reply@consulta.local>"
    demo_mode: bool = False
    log_level: str = "INFO"
    max_upload_mb: int = 50
    ratelimit_storage_url: str = ""
    celery_queue: str = "consulta"
    # Leased background jobs (app.jobs). A running job's heartbeat renews its lease every third
    # of it, so a worker that dies (even killed outright) holds its job at most this long before
    # the reconciler hands it to another; tests shorten it to see a takeover in seconds.
    job_lease_seconds: int = 30
    # How often beat looks for lost wake-ups and expired leases.
    job_reconcile_seconds: int = 20
    # How often each worker says it is alive (app.worker_heartbeat); /readyz counts a worker
    # gone after three beats without one.
    worker_heartbeat_seconds: int = 10
    # Attempts per kind of job, and its own lease (None: job_lease_seconds).
    report_attempts: int = 3
    report_lease_seconds: int | None = None
    # A consultation report reads an item's rows in parts of about this many (row ranges by
    # feedback id), so that several workers share one large item.
    report_part_rows: int = 100_000
    # Submissions flagged per transaction by the worker (app.moderation.flagging).
    flag_batch_size: int = 200
    bulk_action_attempts: int = 5
    bulk_action_lease_seconds: int | None = None
    # With the growing delays between attempts (app.notifications.mail), about a day and a half.
    mail_attempts: int = 12
    mail_lease_seconds: int | None = None
    # Requests per API token (or per address without one), in the limits library's notation.
    api_rate_limit: str = "600/minute"
    # Proxies in front of the web (the TLS proxy, a load balancer) whose X-Forwarded-For,
    # -Proto and -Host are believed: the client's address (rate limits, logs) is the one the
    # nearest of them saw. 0 (no proxy) believes no such header.
    trusted_proxies: int = 0
    password_hash_profile: PasswordHashProfile = "strong"  # noqa: S105 - a cost, not a secret
    # Load shedding (app.overload): requests one web process lets work at once (at most the
    # database connections it may hold; 0 turns it off), and how long a request waits for a
    # slot before it is answered 503 with Retry-After.
    max_concurrent_requests: int = 24
    overload_wait_ms: int = 50
    # PostgreSQL's statement_timeout on this process's connections (0: none). The web sets it
    # (the Dockerfile's gunicorn command) so that a runaway query frees its slot and its
    # connection; the worker and the CLI leave it off, since reports and fills scan for long.
    statement_timeout_ms: int = 0
    # How long the moderation queue's capped counts are reused (0: counted on every view).
    queue_counts_seconds: int = 10
    attachment_store: AttachmentStore = "local"
    s3_endpoint_url: str = ""  # empty: the provider's own endpoint (AWS)
    s3_bucket: str = ""
    s3_access_key_id: str = ""  # empty: boto3's usual chain (environment, instance role)
    s3_secret_access_key: str = ""
    s3_region: str = "us-east-1"
    extra: Mapping[str, object] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ

        def get(name: str, default: str = "") -> str:
            return env.get(f"CONSULTA_{name}", env.get(name, default))

        instance = get("INSTANCE_PATH", str(PROJECT_ROOT / "instance"))
        settings = cls(
            # Only the prefixed name: a bare ENV is set by some shells for their start-up file.
            env=env.get("CONSULTA_ENV", "development") or "development",
            secret_key=get("SECRET_KEY", INSECURE_DEV_KEY),
            database_url=get("DATABASE_URL", ""),
            redis_url=get("REDIS_URL", ""),
            broker_url=get("BROKER_URL", ""),
            base_url=get("BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
            instance_path=instance,
            mail_server=get("MAIL_SERVER", "localhost"),
            mail_port=int(get("MAIL_PORT", "1025")),
            mail_use_tls=_bool(get("MAIL_USE_TLS", "false")),
            mail_username=get("MAIL_USERNAME", ""),
            mail_password=get("MAIL_PASSWORD", ""),
            mail_sender=get("MAIL_SENDER", "Consulta <no-reply@consulta.local>"),
            demo_mode=_bool(get("DEMO_MODE", "false")),
            log_level=get("LOG_LEVEL", "INFO").upper(),
            max_upload_mb=int(get("MAX_UPLOAD_MB", "50")),
            ratelimit_storage_url=get("RATELIMIT_STORAGE_URL", ""),
            celery_queue=get("CELERY_QUEUE", "consulta"),
            trusted_proxies=int(get("TRUSTED_PROXIES", "0")),
            job_lease_seconds=int(get("JOB_LEASE_SECONDS", "30")),
            job_reconcile_seconds=int(get("JOB_RECONCILE_SECONDS", "20")),
            worker_heartbeat_seconds=int(get("WORKER_HEARTBEAT_SECONDS", "10")),
            report_attempts=int(get("REPORT_ATTEMPTS", "3")),
            report_lease_seconds=_optional_int(get("REPORT_LEASE_SECONDS", "")),
            report_part_rows=int(get("REPORT_PART_ROWS", "100000")),
            flag_batch_size=int(get("FLAG_BATCH_SIZE", "200")),
            bulk_action_attempts=int(get("BULK_ACTION_ATTEMPTS", "5")),
            bulk_action_lease_seconds=_optional_int(get("BULK_ACTION_LEASE_SECONDS", "")),
            mail_attempts=int(get("MAIL_ATTEMPTS", "12")),
            mail_lease_seconds=_optional_int(get("MAIL_LEASE_SECONDS", "")),
            api_rate_limit=get("API_RATE_LIMIT", "600/minute"),
            password_hash_profile=cast(
                PasswordHashProfile, get("PASSWORD_HASH_PROFILE", "strong").strip().lower()
            ),
            max_concurrent_requests=int(get("MAX_CONCURRENT_REQUESTS", "24")),
            overload_wait_ms=int(get("OVERLOAD_WAIT_MS", "50")),
            statement_timeout_ms=int(get("STATEMENT_TIMEOUT_MS", "0")),
            queue_counts_seconds=int(get("QUEUE_COUNTS_SECONDS", "10")),
            attachment_store=cast(
                AttachmentStore, get("ATTACHMENT_STORE", "local").strip().lower() or "local"
            ),
            s3_endpoint_url=get("S3_ENDPOINT_URL", "").strip(),
            s3_bucket=get("S3_BUCKET", "").strip(),
            s3_access_key_id=get("S3_ACCESS_KEY_ID", ""),
            s3_secret_access_key=get("S3_SECRET_ACCESS_KEY", ""),
            s3_region=get("S3_REGION", "us-east-1").strip() or "us-east-1",
        )
        return settings

    def replace(self, **changes: object) -> Settings:
        known = {f.name for f in fields(self)}
        values = asdict(self)
        extra = dict(values.pop("extra"))
        for key, value in changes.items():
            if key in known:
                values[key] = value
            elif key.isupper():  # a Flask config key, passed through as given
                extra[key] = value
            else:
                raise ConfigError(f"unknown setting {key!r}")
        return Settings(**values, extra=extra)

    def resolved(self) -> Settings:
        """Fill what was left empty with the embedded defaults: SQLite files under instance/."""
        values = asdict(self)
        instance = Path(self.instance_path)
        if not self.database_url:
            values["database_url"] = f"sqlite:///{instance / 'consulta.sqlite'}"
        if not self.broker_url:
            values["broker_url"] = self.redis_url or f"sqla+sqlite:///{instance / 'broker.sqlite'}"
        if not self.ratelimit_storage_url:
            values["ratelimit_storage_url"] = self.redis_url or "memory://"
        return Settings(**values)

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    def check(self) -> None:
        """Refuse unknown names, and production on placeholders, the embedded database or a
        cheap password hash."""
        if self.env not in ENVIRONMENTS:
            raise ConfigError(f"CONSULTA_ENV must be one of {', '.join(ENVIRONMENTS)}")
        if self.password_hash_profile not in PASSWORD_HASH_PROFILES:
            raise ConfigError(
                f"PASSWORD_HASH_PROFILE must be one of {', '.join(PASSWORD_HASH_PROFILES)}"
            )
        for name in JOB_SETTINGS:
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f"{name.upper()} must be a positive whole number")
        limits = (
            self.max_concurrent_requests,
            self.overload_wait_ms,
            self.statement_timeout_ms,
            self.queue_counts_seconds,
        )
        if min(limits) < 0:
            raise ConfigError(
                "MAX_CONCURRENT_REQUESTS, OVERLOAD_WAIT_MS, STATEMENT_TIMEOUT_MS and"
                " QUEUE_COUNTS_SECONDS must not be negative"
            )
        if self.trusted_proxies < 0:
            raise ConfigError("TRUSTED_PROXIES must be the number of proxies in front, 0 or more")
        if self.attachment_store not in ATTACHMENT_STORES:
            raise ConfigError(f"ATTACHMENT_STORE must be one of {', '.join(ATTACHMENT_STORES)}")
        if self.attachment_store == "s3" and not self.s3_bucket:
            raise ConfigError("S3_BUCKET must name the bucket when ATTACHMENT_STORE is s3")
        if not self.is_production:
            return
        if self.secret_key == INSECURE_DEV_KEY or len(self.secret_key) < 32:
            raise ConfigError("SECRET_KEY must be set to a random value of 32+ characters")
        if self.database_url.startswith("sqlite") or not self.database_url:
            raise ConfigError("DATABASE_URL must name a PostgreSQL database in production")
        if not self.redis_url:
            raise ConfigError("REDIS_URL must name the Redis broker in production")
        if self.demo_mode:
            raise ConfigError("DEMO_MODE must not be enabled in production")
        if self.password_hash_profile != "strong":  # noqa: S105 - a cost, not a secret
            raise ConfigError("PASSWORD_HASH_PROFILE must be strong in production")

    def flask_config(self) -> dict[str, object]:
        return {
            "SECRET_KEY": self.secret_key,
            "SQLALCHEMY_DATABASE_URI": _sqlalchemy_url(self.database_url),
            "SQLALCHEMY_ENGINE_OPTIONS": _engine_options(
                self.database_url, self.statement_timeout_ms, self.max_concurrent_requests
            ),
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "SESSION_COOKIE_SECURE": self.is_production,
            "REMEMBER_COOKIE_HTTPONLY": True,
            "REMEMBER_COOKIE_SAMESITE": "Lax",
            "REMEMBER_COOKIE_SECURE": self.is_production,
            "MAX_CONTENT_LENGTH": self.max_upload_mb * 1024 * 1024,
            "WTF_CSRF_TIME_LIMIT": 8 * 3600,
            "BABEL_DEFAULT_LOCALE": "en",
            "BABEL_TRANSLATION_DIRECTORIES": str(Path(__file__).parent / "translations"),
            "RATELIMIT_STORAGE_URI": self.ratelimit_storage_url,
            "RATELIMIT_HEADERS_ENABLED": True,
            # Redis down must not refuse sign-ins and submissions: the limits are counted in
            # this process's memory until it answers again.
            "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
            "RATELIMIT_SWALLOW_ERRORS": True,
            "PREFERRED_URL_SCHEME": "https" if self.is_production else "http",
            "TESTING": self.env == "test",
            **self.extra,
        }


def _sqlalchemy_url(url: str) -> str:
    # psycopg 3 is the driver we ship; accept the common postgres:// spellings.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _engine_options(
    url: str, statement_timeout_ms: int = 0, requests_at_once: int = 24
) -> dict[str, object]:
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 30}}
    # JIT compilation pays off for long analytical scans, not for the short indexed queries a
    # web page runs: it added about 80 ms to the moderation queue's counts at a million rows.
    options = "-c jit=off"
    if statement_timeout_ms:
        options += f" -c statement_timeout={statement_timeout_ms}"
    # One connection for each request let work at once (app.overload), and a few more for what
    # runs beside them (noting a token's use after the response).
    return {
        "pool_pre_ping": True,
        "pool_size": max(requests_at_once, 5),
        "max_overflow": 2,
        "connect_args": {"options": options},
    }
