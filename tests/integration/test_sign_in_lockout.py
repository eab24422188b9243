"""Wrong passwords lock an account's password sign-in, never its owner: only failures count,
and the right password on a locked account mails a one-time link that signs in."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.extensions import db
from app.models import Notification, User
from tests.helpers.web import csrf_token

LEAD = "lead@example.org"
PASSWORD = "consulta-demo"  # noqa: S105 - the demo accounts' password


def attempt(app, password: str, address: str, email: str = LEAD):
    """One sign-in from its own browser and address (an attacker spreads over many)."""
    client = app.test_client()
    # Every request of this browser comes from its address (sessions are bound to it).
    client.environ_base["REMOTE_ADDR"] = address
    page = client.get("/auth/login").get_data(as_text=True)
    response = client.post(
        "/auth/login",
        data={"csrf_token": csrf_token(page), "email": email, "password": password},
    )
    return client, response


def lock(app, email: str = LEAD) -> None:
    for n in range(10):
        _client, response = attempt(app, f"guess {n}", f"10.9.0.{n + 1}", email)
        assert response.status_code == 200


def sign_in_mails(app) -> list[Notification]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(Notification).where(
                    Notification.to_email == LEAD,
                    Notification.dedupe_key.like("sign_in_link:%"),
                )
            )
        )


def link_in(message: Notification) -> str:
    return re.search(r"https?://[^/\s]+(/auth/sign-in/\S+)", message.body_text).group(1)


def signed_in(client) -> bool:
    return client.get("/account/").status_code == 200


def test_only_wrong_passwords_count_towards_the_lock(seeded):
    for n in range(15):
        client, response = attempt(seeded, PASSWORD, f"10.8.0.{n + 1}")
        assert response.status_code == 302
    assert signed_in(client)


def test_an_attacker_cannot_keep_the_owner_out_the_right_password_mails_a_sign_in_link(seeded):
    lock(seeded)
    owner, response = attempt(seeded, PASSWORD, "192.0.2.7")
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert "emailed you a link that signs you in" in response.get_data(as_text=True)
    assert not signed_in(owner)

    [message] = sign_in_mails(seeded)
    link = link_in(message)
    page = owner.get(link)
    assert page.status_code == 200
    assert not signed_in(owner)  # opening the link (a mail scanner) signs nobody in
    answer = owner.post(link, data={"csrf_token": csrf_token(page.get_data(as_text=True))})
    assert answer.status_code == 302
    assert signed_in(owner)

    again = seeded.test_client()
    used = again.post(link, data={"csrf_token": csrf_token(again.get("/auth/login").text)})
    assert used.status_code == 400
    assert not signed_in(again)


def test_a_locked_account_answers_the_same_to_a_wrong_and_a_right_password(seeded):
    lock(seeded)
    _client, wrong = attempt(seeded, "still guessing", "10.9.1.1")
    assert sign_in_mails(seeded) == []
    _client, right = attempt(seeded, PASSWORD, "10.9.1.2")
    assert len(sign_in_mails(seeded)) == 1

    def without_tokens(page: str) -> str:
        return re.sub(r'value="[^"]*"', 'value=""', page)

    assert wrong.status_code == right.status_code == 429
    assert without_tokens(wrong.get_data(as_text=True)) == without_tokens(
        right.get_data(as_text=True)
    )


def test_a_sign_in_link_dies_when_the_password_changes(seeded):
    from app.accounts.sessions import hash_password

    lock(seeded)
    attempt(seeded, PASSWORD, "10.9.2.1")
    [message] = sign_in_mails(seeded)
    with seeded.app_context():
        user = db.session.scalar(select(User).where(User.email == LEAD))
        user.password_hash = hash_password("a-new-and-long-password-77")
        db.session.commit()
    client = seeded.test_client()
    response = client.get(link_in(message))
    assert response.status_code == 400
    assert "already been used" in response.get_data(as_text=True)
