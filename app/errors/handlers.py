"""One place that turns HTTP and domain errors into pages (or JSON under /api/)."""

from __future__ import annotations

from http import HTTPStatus

from flask import Flask, current_app, g, jsonify, render_template, render_template_string, request
from flask_babel import gettext as _
from flask_login import user_unauthorized
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError, OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

from app import security_log
from app.errors import DomainError
from app.extensions import db
from app.storage import StoreError

# What a refused or failed-before-commit request tells its client to wait before sending again.
RETRY_AFTER_SECONDS = 1


def wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def _titles() -> dict[int, str]:
    return {
        400: _("Bad request"),
        403: _("Not allowed"),
        404: _("Page not found"),
        405: _("Method not allowed"),
        409: _("Conflict"),
        413: _("Too large"),
        429: _("Too many requests"),
        500: _("Something went wrong"),
        503: _("Service unavailable"),
    }


def _messages() -> dict[int, str]:
    return {
        400: _("The request could not be understood. Please go back and try again."),
        403: _("You do not have permission to do this."),
        404: _("We could not find that page."),
        405: _("That action is not available here."),
        409: _("Someone else changed this at the same time. Reload and try again."),
        413: _("The upload is larger than allowed."),
        429: _("Too many attempts. Please wait a little and try again."),
        500: _("An unexpected error happened. It has been logged."),
        503: _("The service is temporarily unavailable."),
    }


def error_response(  # noqa: ANN201
    status: int,
    code: str,
    message: str,
    field: str | None = None,
    fields: dict[str, object] | None = None,
    rows: list[dict[str, object]] | None = None,
):
    g.error_code = code  # the reason a refusal is logged with (log_refusals)
    if wants_json():
        body: dict[str, object] = {"error": {"code": code, "message": message}}
        if field:
            body["error"]["field"] = field  # type: ignore[index]
        if fields:
            body["error"]["fields"] = fields  # type: ignore[index]
        if rows:
            body["error"]["rows"] = rows  # type: ignore[index]
        body["request_id"] = g.get("request_id")
        return jsonify(body), status
    title = _titles().get(status, _("Error"))
    context = {"status": status, "title": title, "message": message}
    try:
        page = render_template("errors/error.html", request_id=g.get("request_id"), **context)
    except Exception:  # the layout needs the database (current user); never fail the error page
        current_app.logger.exception("error page could not be rendered")
        db.session.rollback()
        page = render_template_string(MINIMAL_ERROR_PAGE, request_id=g.get("request_id"), **context)
    return page, status


MINIMAL_ERROR_PAGE = """<!doctype html>
<html lang="{{ request.accept_languages.best_match(['en', 'es', 'fr']) or 'en' }}">
<head><meta charset="utf-8"><title>{{ title }} · Consulta</title></head>
<body><main><h1>{{ title }}</h1><p>{{ message }}</p>
{% if request_id %}<p>{{ request_id }}</p>{% endif %}
<p><a href="/">Consulta</a></p></main></body></html>"""


def register_error_handlers(app: Flask) -> None:
    app.after_request(log_refusals)
    user_unauthorized.connect(log_sign_in_required)  # once: blinker keeps one of each receiver

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):  # noqa: ANN202
        message = _("Your form expired or was sent from elsewhere. Please submit it again.")
        return error_response(400, "csrf_failed", message)

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):  # noqa: ANN202
        db.session.rollback()
        rows = [row.__dict__ for row in getattr(error, "rows", ())] or None  # a batch's drafts
        # An input fault may name several fields, each with its message (as webargs does).
        faults = {name: [message] for name, message in getattr(error, "faults", {}).items()}
        return error_response(
            error.status_code, error.code, error.message, error.field, faults or None, rows=rows
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):  # noqa: ANN202
        status = error.code or 500
        code = (error.name or "error").lower().replace(" ", "_")
        invalid = _invalid_fields(error)
        if invalid:  # the API's request validation (webargs): every field at fault
            message = _("Some fields are not valid: %(fields)s.", fields=", ".join(invalid))
            first = next(iter(invalid))
            return error_response(
                status, "validation_failed", message, first, invalid, rows=_batch_rows(invalid)
            )
        response = error_response(status, code, _messages().get(status, error.description or ""))
        kept = {
            name: value
            for name, value in error.get_response().headers.items()
            # Required with 401 and 405, and what a throttled client waits for.
            if name in ("WWW-Authenticate", "Allow", "Retry-After")
        }
        if kept:
            body, status = response
            return body, status, kept
        return response

    @app.errorhandler(DataError)
    def invalid_data(error: DataError):  # noqa: ANN202
        # Input the database cannot hold (a NUL character, a number out of range): the
        # request's fault, not the server's.
        db.session.rollback()
        app.logger.info("data refused by the database: %s", error.orig)
        return error_response(400, "invalid_data", _messages()[400])

    @app.errorhandler(OperationalError)
    def database_unavailable(error: OperationalError):  # noqa: ANN202
        # The database is down, or a statement ran past the web's statement_timeout: either
        # way nothing was committed, so the client may send the request again shortly.
        db.session.rollback()
        app.logger.error("database unavailable: %s", error)
        body, status = error_response(503, "service_unavailable", _messages()[503])
        return body, status, {"Retry-After": str(RETRY_AFTER_SECONDS)}

    @app.errorhandler(StoreError)
    def file_store_unavailable(error: StoreError):  # noqa: ANN202
        # The object store (or the upload folder's disk) failed: nothing was stored.
        db.session.rollback()
        app.logger.error("file store unavailable: %s", error.__cause__ or error)
        return error_response(503, "service_unavailable", _messages()[503])

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):  # noqa: ANN202
        if isinstance(error, HTTPException):
            return http_error(error)
        db.session.rollback()
        app.logger.exception("unhandled error: %s", error)
        return error_response(500, "internal_error", _messages()[500])

    @app.errorhandler(InternalServerError)
    def internal_error(error: InternalServerError):  # noqa: ANN202
        app.logger.error("internal server error: %s", error.original_exception or error)
        return error_response(500, "internal_error", _messages()[500])


def log_refusals(response):  # noqa: ANN001, ANN201 - a Flask response
    """Every refused authorisation (401, 403, a failed CSRF check) and every throttled sign-in,
    whichever view, hook or handler answered it, is logged here once."""
    status = response.status_code
    code = g.get("error_code")
    if status in (401, 403) or code == "csrf_failed":
        security_log.refused(code or HTTPStatus(status).phrase.lower(), status)
    elif status == 429 and request.endpoint == "auth.login":
        security_log.failed_sign_in(request.form.get("email", ""), "throttled")
    return response


def log_sign_in_required(_sender: Flask, **_extra: object) -> None:
    """Flask-Login's unauthorized(): the visitor is sent to the sign-in page (a redirect)."""
    security_log.refused("sign_in_required")


def _invalid_fields(error: HTTPException) -> dict[str, object]:
    """Field -> messages from a webargs validation error ({location: {field: [...]}})."""
    messages = (getattr(error, "data", None) or {}).get("messages") or {}
    found: dict[str, object] = {}
    for by_field in messages.values():
        if isinstance(by_field, dict):
            found.update((str(name), _stringify_keys(value)) for name, value in by_field.items())
    return found


def _stringify_keys(value: object) -> object:
    """Nested messages keyed by list index (ints) become JSON objects keyed by strings."""
    if isinstance(value, dict):
        return {str(key): _stringify_keys(inner) for key, inner in value.items()}
    return value


def _batch_rows(invalid: dict[str, object]) -> list[dict[str, object]] | None:
    """A batch's schema faults ({"drafts": {"3": {"priority": [...]}}}) in the shape of its
    other faults: one entry per draft and field."""
    drafts = invalid.get("drafts")
    if not isinstance(drafts, dict):
        return None
    rows = []
    for index, faults in drafts.items():
        if not (isinstance(index, str) and index.isdecimal() and isinstance(faults, dict)):
            continue
        for field, messages in faults.items():
            text = "; ".join(messages) if isinstance(messages, list) else str(messages)
            rows.append(
                {"index": int(index), "code": "validation_failed", "message": text, "field": field}
            )
    return rows or None
