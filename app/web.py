"""The `register_*` steps of create_app: logging, extensions, blueprints and request hooks."""

from __future__ import annotations

import importlib
import re
import uuid

from flask import Flask, g, has_request_context, request, session
from flask_login import current_user
from sqlalchemy import event
from sqlalchemy.exc import SQLAlchemyError

from app import logs, overload
from app.extensions import babel, csrf, db, limiter, login_manager, migrate
from app.models import LOCALES
from app.parsing import refuse_nul_in_query

REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def register_logging(app: Flask) -> None:
    settings = app.config["SETTINGS"]
    logs.configure(app.logger, settings.log_level, production=settings.is_production)


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=str(_migrations_dir()), render_as_batch=True)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=lambda: "UTC")
    limiter.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", _sqlite_pragmas)

    from app.accounts.sessions import load_session_user

    login_manager.user_loader(load_session_user)


def _migrations_dir():
    from app.config import PROJECT_ROOT

    return PROJECT_ROOT / "migrations"


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001 - DB-API objects
    # WAL lets the web process read while the worker writes; foreign keys are off by default.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def select_locale() -> str:
    """The page's language: the one chosen with the switch for this visit, else the account's,
    else the browser's. The switch never changes the account (its page does), and a choice
    made before signing in survives sign-in (auth_views keeps it in the fresh session)."""
    if not has_request_context():  # CLI and worker: callers choose with force_locale
        return "en"
    chosen = session.get("locale")
    if chosen in LOCALES:
        return chosen
    try:
        if current_user and current_user.is_authenticated and current_user.locale in LOCALES:
            return current_user.locale
    except SQLAlchemyError:  # the database is down: still answer, in the visitor's language
        db.session.rollback()
    return request.accept_languages.best_match(LOCALES) or "en"


# Every module that adds pages, in the order their blueprints register. Some blueprints are
# shared by several modules (the admin, moderation and reports areas): each module is imported
# here, so its routes exist, and each blueprint registers once.
PAGE_MODULES = (
    "app.health",
    "app.accounts.auth_views",
    "app.accounts.profile_views",
    "app.organizations.views",
    "app.consultations.views",
    "app.feedback.views",
    "app.feedback.attachment_views",
    "app.feedback.cosigning_views",
    "app.moderation.views",
    "app.moderation.decision_views",
    "app.organizations.verification_views",
    "app.audit.views",
    "app.moderation.campaign_views",
    "app.reports.views",
    "app.reports.downloads",
    "app.reports.responses",
    "app.admin.views",
    "app.admin.content",
    "app.admin.invitations",
    "app.admin.onboarding",
)


def register_blueprints(app: Flask) -> None:
    # Every module first, so that a shared blueprint has all its routes before it registers.
    blueprints = {}
    for module in [importlib.import_module(name) for name in PAGE_MODULES]:
        blueprints.setdefault(module.bp.name, module.bp)
    for blueprint in blueprints.values():
        app.register_blueprint(blueprint)


CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


# Staff, report and account areas: never kept by a browser's or a proxy's cache, whoever asks.
PRIVATE_AREAS = ("/moderation", "/reports", "/admin", "/account", "/organisation", "/auth")
NEVER_PRIVATE = ("static", "health.favicon", "health.healthz", "health.readyz")


def _private(req) -> bool:  # noqa: ANN001 - the current request
    """An answer no shared or browser cache may keep: a staff, report or account page, or
    anything answered to someone signed in or holding an API token (static files aside)."""
    if req.endpoint in NEVER_PRIVATE:
        return False
    if req.path.startswith(PRIVATE_AREAS) or "Authorization" in req.headers:
        return True
    return bool(current_user and current_user.is_authenticated)


def register_request_hooks(app: Flask) -> None:
    def assign_request_id() -> None:
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if REQUEST_ID_PATTERN.match(incoming) else uuid.uuid4().hex

    # Before the extensions' own hooks (CSRF, the rate limiter's round trip to Redis): every
    # answer carries its request id, and a refused request has touched nothing.
    overload.register(app)
    app.before_request_funcs.setdefault(None, []).insert(0, assign_request_id)
    app.before_request(refuse_nul_in_query)

    @app.after_request
    def security_headers(response):  # noqa: ANN001, ANN202 - Flask response
        response.headers["X-Request-ID"] = g.get("request_id", "")
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        if app.config["SETTINGS"].is_production:
            response.headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
        if _private(request):
            response.headers["Cache-Control"] = "private, no-store"
        return response

    @app.context_processor
    def template_globals() -> dict[str, object]:
        from flask_babel import get_locale

        return {"current_locale": str(get_locale()), "locales": LOCALES}
