"""Test data built through the models and services, so a test says what it needs instead of
leaning on the demo data. Call inside an app context; every factory commits what it builds
(the live server and the worker read the data through other connections) and returns it.

Each call makes new names and emails, so a test may call a factory as often as it likes.
"""

from __future__ import annotations

import itertools
from datetime import timedelta

from app.accounts import services as accounts
from app.extensions import db
from app.feedback.services import FeedbackInput, save_feedback
from app.models import (
    Consultation,
    Feedback,
    Item,
    ItemKind,
    ItemVersion,
    Organization,
    OrganizationType,
    Role,
    Stance,
    User,
    VerificationState,
)
from app.models.base import utcnow
from app.moderation import services as moderation
from tests.helpers.web import DEMO_PASSWORD

PASSWORD = DEMO_PASSWORD  # every factory-made person signs in with the demo password
_numbers = itertools.count(1)


def _next() -> int:
    return next(_numbers)


def organization(
    name: str | None = None,
    *,
    kind: OrganizationType = OrganizationType.NGO,
    country: str = "MX",
    verified: bool = True,
) -> Organization:
    organization = Organization(
        name=name or f"Factory Organisation {_next()}",
        type=kind,
        country=country,
        verification=VerificationState.VERIFIED if verified else VerificationState.PENDING,
        verified_at=utcnow() if verified else None,
    )
    db.session.add(organization)
    db.session.commit()
    return organization


def person(
    email: str | None = None,
    *,
    role: Role = Role.STAKEHOLDER,
    organization: Organization | None = None,
    is_lead: bool = False,
    locale: str = "en",
    password: str = PASSWORD,
) -> User:
    """Someone who can sign in with `password` (through accounts.create_user)."""
    number = _next()
    user = accounts.create_user(
        email or f"person{number}@factory.example.org",
        f"Factory Person {number}",
        password,
        role=role,
        organization=organization,
        is_lead=is_lead,
        locale=locale,
    )
    db.session.commit()
    return user


def lead(organization_: Organization | None = None, **values: object) -> User:
    """The lead of `organization_` (a new verified organisation when none is given)."""
    return person(organization=organization_ or organization(), is_lead=True, **values)


def member(organization_: Organization, **values: object) -> User:
    """A stakeholder of `organization_` who is not its lead."""
    return person(organization=organization_, **values)


def staff(role: Role, **values: object) -> User:
    """A moderator, council member or admin."""
    return person(role=role, **values)


def consultation(
    slug: str | None = None, *, codes: tuple[str, ...] = ("A1",), open_now: bool = True
) -> Consultation:
    """A consultation with one item per code, open now for 30 days (or opening in a week)."""
    now = utcnow()
    number = _next()
    opens = now - timedelta(days=1) if open_now else now + timedelta(days=7)
    consultation = Consultation(
        slug=slug or f"factory-consultation-{number}",
        title={"en": f"Factory consultation {number}"},
        summary={"en": "A consultation made for one test."},
        opens_at=opens,
        closes_at=opens + timedelta(days=31),
    )
    for position, code in enumerate(codes, start=1):
        item = Item(
            code=code,
            kind=ItemKind.PLEDGE,
            source={"en": "Factory source"},
            position=position,
            current_version=1,
        )
        item.versions.append(
            ItemVersion(
                number=1,
                title={"en": f"Item {code}"},
                body={"en": f"The text of item {code}."},
                change_note="Published",
            )
        )
        consultation.items.append(item)
    db.session.add(consultation)
    db.session.commit()
    return consultation


def item(consultation_: Consultation | None = None, code: str = "A1") -> Item:
    """An item of `consultation_` (of a new open consultation when none is given)."""
    consultation_ = consultation_ or consultation(codes=(code,))
    return next(i for i in consultation_.items if i.code == code)


def feedback(
    author: User,
    item_: Item,
    *,
    comment: str | None = None,
    stance: Stance = Stance.SUPPORT,
    priority: int = 3,
    submit: bool = True,
    **fields: object,
) -> Feedback:
    """The author's organisation's feedback on the item, saved (or submitted, by a lead)
    through the feedback service, as the form would."""
    data = FeedbackInput(
        stance=stance,
        priority=priority,
        comment=comment or f"A considered position on the item, number {_next()}.",
        **fields,
    )
    current = db.session.scalar(
        db.select(Feedback.lock_version).where(
            Feedback.organization_id == author.organization_id, Feedback.item_id == item_.id
        )
    )
    return save_feedback(author.id, item_.id, data, submit=submit, lock_version=current or 0)


def published_feedback(author: User, item_: Item, **values: object) -> Feedback:
    """Submitted feedback that a (new) moderator has published."""
    submitted = feedback(author, item_, submit=True, **values)
    moderator = staff(Role.MODERATOR)
    moderation.publish_feedback(moderator.id, submitted.id, submitted.lock_version)
    db.session.refresh(submitted)
    return submitted
