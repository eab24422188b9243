"""Showing a service's domain error on the form field it names."""

from __future__ import annotations

from flask import flash
from flask_wtf import FlaskForm

from app.errors import DomainError


def attach_domain_error(form: FlaskForm, error: DomainError) -> None:
    """Put the message under the field at fault, or flash it when it concerns no field."""
    field = getattr(form, error.field or "", None)
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        flash(error.message, "error")
