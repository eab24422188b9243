"""Every moderation, report and admin URL refuses outsiders with 403 and shows them nothing.

The URLs are read from the application's own URL map, so a route added later is covered
without editing this file.
"""

from __future__ import annotations

from fnmatch import fnmatch

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Feedback, FeedbackState, Role, User
from tests import factories
from tests.helpers.web import csrf_token

# Which roles each staff area admits; everyone else gets 403.
AREAS = {
    "/reports/*/diagnostics": {"admin"},
    "/moderation/campaigns": {"moderator", "admin"},
    "/moderation/organisations": {"moderator", "admin"},
    "/moderation": {"moderator", "council", "admin"},
    "/reports": {"council", "admin"},
    "/admin": {"admin"},
}
PEOPLE = {
    "stakeholder": "stakeholder@example.org",
    "lead": "lead@example.org",
    "moderator": "moderator@example.org",
    "council": "council@example.org",
}


def area_of(path: str) -> str | None:
    """The first area whose pattern ("*" for any one part) begins the path."""
    return next((area for area in AREAS if fnmatch(path, area + "*")), None)


def staff_urls(app, feedback_id: int) -> list[tuple[str, str, str]]:
    """(method, url, area) for every staff rule, with real ids so nothing 404s first."""
    found = []
    for rule in app.url_map.iter_rules():
        area = area_of(rule.rule)
        if area is None:
            continue
        values = {
            name: feedback_id if converter.__class__.__name__ == "IntegerConverter" else "x"
            for name, converter in rule._converters.items()
        }
        with app.test_request_context():
            from flask import url_for

            url = url_for(rule.endpoint, **values)
        for method in sorted(rule.methods & {"GET", "POST"}):
            found.append((method, url, area))
    return found


@pytest.fixture
def people(app) -> dict[str, str]:
    """One person per role (a member and the lead of one organisation): role -> email."""
    with app.app_context():
        organization = factories.organization()
        factories.member(organization, email=PEOPLE["stakeholder"])
        factories.lead(organization, email=PEOPLE["lead"])
        factories.staff(Role.MODERATOR, email=PEOPLE["moderator"])
        factories.staff(Role.COUNCIL, email=PEOPLE["council"])
    return PEOPLE


@pytest.fixture
def secret_feedback(app, people) -> tuple[int, str]:
    """A submitted position awaiting review and a phrase from its comment."""
    with app.app_context():
        lead = db.session.scalar(select(User).where(User.email == people["lead"]))
        feedback = factories.feedback(
            lead, factories.item(), comment="Our confidential position on the pledge, in full."
        )
        return feedback.id, feedback.comment[:40]


def refused(client, method: str, url: str):
    if method == "GET":
        return client.get(url)
    token = csrf_token(client.get("/").get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, "reason": "x", "code": "spam"})


def test_the_staff_areas_cover_every_staff_route(app):
    urls = staff_urls(app, 1)
    areas = {area for _method, _url, area in urls}
    assert areas == set(AREAS)
    assert len(urls) > 30


def test_a_visitor_gets_403_on_every_staff_url_and_is_offered_to_sign_in(
    app, client, secret_feedback
):
    feedback_id, phrase = secret_feedback
    for method, url, _area in staff_urls(app, feedback_id):
        response = refused(client, method, url)
        body = response.get_data(as_text=True)
        assert response.status_code == 403, (method, url)
        assert phrase not in body and "@example.org" not in body
        assert "/auth/login" in body  # a way in for a moderator whose session ran out


@pytest.mark.parametrize("person", sorted(PEOPLE))
def test_signed_in_people_get_403_outside_their_role(app, client, login, secret_feedback, person):
    feedback_id, phrase = secret_feedback
    login(client, PEOPLE[person])
    checked = 0
    for method, url, area in staff_urls(app, feedback_id):
        if person in AREAS[area]:
            continue
        response = refused(client, method, url)
        assert response.status_code == 403, (method, url)
        assert phrase not in response.get_data(as_text=True)
        checked += 1
    assert checked > 0
    with app.app_context():
        assert db.session.get(Feedback, feedback_id).state is FeedbackState.SUBMITTED


def test_the_role_that_may_enter_is_let_in(people, client, login):
    login(client, "council@example.org")
    assert client.get("/moderation/audit/").status_code == 200
    assert client.get("/reports/").status_code == 200
    assert client.get("/admin/users").status_code == 403
