"""Driving the pages over HTTP as a browser would: CSRF tokens, hidden fields, signing in."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

DEMO_PASSWORD = "consulta-demo"  # noqa: S105 - the documented demo credential
CSRF_PATTERN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
HIDDEN_INPUT = re.compile(r"<input\b[^>]*>")
ATTRIBUTE = re.compile(r'(\w+)="([^"]*)"')


def csrf_token(html: str) -> str:
    match = CSRF_PATTERN.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def hidden_fields(html: str) -> dict[str, str]:
    """The hidden inputs of a page, as a browser would send them back."""
    fields = {}
    for tag in HIDDEN_INPUT.findall(html):
        attributes = dict(ATTRIBUTE.findall(tag))
        if attributes.get("type") == "hidden" and "name" in attributes:
            fields.setdefault(attributes["name"], attributes.get("value", ""))
    return fields


def submit_form(client: FlaskClient, page: str, action: str | None = None, **fields: object):
    """GET `page` and POST `fields` with its hidden inputs (CSRF token, lock version, ...)."""
    html = client.get(page).get_data(as_text=True)
    return client.post(action or page, data={**hidden_fields(html), **fields})


def sign_in(client: FlaskClient, email: str, password: str = DEMO_PASSWORD) -> None:
    """Sign in through the login form; fails the test when the form does not accept it."""
    response = submit_form(client, "/auth/login", email=email, password=password)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
