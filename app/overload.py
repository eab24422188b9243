"""Load shedding: a web process lets a bounded number of requests work at once, and answers
the rest at once with 503 and `Retry-After` instead of queueing them until clients time out.

The bound sits in front of the database pool (one slot per connection a request may hold), so
a surge never turns into requests waiting on the pool, or on PostgreSQL, for seconds. A request
that finds no free slot within `overload_wait_ms` is refused before it touches anything: it has
read nothing and written nothing, so the client may simply send it again. Liveness checks and
static files are never refused."""

from __future__ import annotations

import threading

from flask import Flask, g, request
from flask_babel import gettext as _

from app.errors.handlers import RETRY_AFTER_SECONDS, error_response

EXEMPT_PREFIXES = ("/static/", "/healthz")


def register(app: Flask) -> None:
    """Puts the guard ahead of every hook registered so far (the extensions' CSRF check and
    rate limiter): refusing costs no round trip to Redis."""
    settings = app.config["SETTINGS"]
    if settings.max_concurrent_requests < 1:
        return
    slots = threading.BoundedSemaphore(settings.max_concurrent_requests)
    app.extensions["overload_slots"] = slots
    wait = settings.overload_wait_ms / 1000

    def take_a_slot():  # noqa: ANN202 - a response, or None to go on
        if request.path.startswith(EXEMPT_PREFIXES):
            return None
        if not slots.acquire(timeout=wait):
            app.logger.warning("overloaded: %s %s refused", request.method, request.path)
            body, status = error_response(
                503, "overloaded", _("The service is busy. Please try again in a moment.")
            )
            return body, status, {"Retry-After": str(RETRY_AFTER_SECONDS)}
        g.holds_a_slot = True
        return None

    app.before_request_funcs.setdefault(None, []).insert(0, take_a_slot)

    @app.teardown_request
    def give_the_slot_back(_error: BaseException | None) -> None:
        if g.pop("holds_a_slot", False):
            slots.release()
