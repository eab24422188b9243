"""Domain errors raised by services; app.errors.handlers maps them to pages and JSON bodies."""

from __future__ import annotations


class DomainError(Exception):
    status_code = 400
    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class InvalidState(DomainError):
    status_code = 409
    code = "invalid_state"


class InvalidInput(DomainError):
    """What was sent breaks a rule (422, with the field at fault); a request that the record's
    state refuses, whatever was sent, is an InvalidState (409)."""

    status_code = 422
    code = "invalid_input"
