"""The language switch changes the pages for this visit; the account's language is changed on
the account page; a language chosen before signing in survives sign-in."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import User
from tests.helpers.web import csrf_token

LEAD = "lead@example.org"


def switch(client, locale: str) -> None:
    page = client.get("/").get_data(as_text=True)
    response = client.post(
        "/auth/locale", data={"csrf_token": csrf_token(page), "locale": locale, "next": "/"}
    )
    assert response.status_code == 302


def account_language(app, email: str) -> str:
    with app.app_context():
        return db.session.scalar(select(User.locale).where(User.email == email))


def test_the_switch_changes_the_pages_but_not_the_account(seeded, client, login):
    login(client, LEAD)
    before = account_language(seeded, LEAD)
    chosen = "fr" if before != "fr" else "es"
    switch(client, chosen)

    assert f'<html lang="{chosen}"' in client.get("/").get_data(as_text=True)
    assert account_language(seeded, LEAD) == before  # silently changed before


def test_a_language_chosen_before_signing_in_survives_sign_in(seeded, client, login):
    assert account_language(seeded, LEAD) != "es"
    switch(client, "es")

    login(client, LEAD)  # the session is new: nothing else is carried over

    assert '<html lang="es"' in client.get("/").get_data(as_text=True)
    assert account_language(seeded, LEAD) != "es"


def test_without_a_choice_for_this_visit_the_accounts_language_is_used(seeded, client, login):
    with seeded.app_context():
        db.session.execute(db.update(User).where(User.email == LEAD).values(locale="fr"))
        db.session.commit()
    login(client, LEAD)
    assert '<html lang="fr"' in client.get("/").get_data(as_text=True)
