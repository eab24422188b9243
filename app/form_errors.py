"""Showing a service's domain error on the form field it names."""

from __future__ import annotations

from flask import flash
from flask_wtf import FlaskForm

from app.errors import DomainError


def attach_domain_error(form: FlaskForm, error: DomainError) -> None:
    """Put each message under the field at fault (an input fault may name several), or flash
    it when it concerns no field of the form."""
    faults = getattr(error, "faults", None) or {error.field or "": error.message}
    for name, message in faults.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = [*field.errors, message]
        else:
            flash(message, "error")
