"""Demo accounts, organisations and feedback in every state, for `make run` only."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import select

from app.accounts.services import create_user
from app.extensions import db
from app.feedback.positions import new_reference, snapshot
from app.models import (
    Consultation,
    ConsultationState,
    CosignState,
    CouncilResponse,
    Decision,
    Feedback,
    FeedbackCosigner,
    FeedbackRevision,
    FeedbackState,
    Item,
    Organization,
    OrganizationType,
    Role,
    Stance,
    User,
    VerificationState,
)
from app.models.base import utcnow
from app.models.organization import INTERNATIONAL_COUNTRY

DEMO_PASSWORD = "consulta-demo"  # noqa: S105 - documented demo credential, demo mode only
DEMO_ORGANIZATION = "Northern Corridor Migrant Support Network"

DEMO_ACCOUNTS = (
    ("stakeholder@example.org", "Sam Stakeholder", Role.STAKEHOLDER, False),
    ("lead@example.org", "Lee Lead", Role.STAKEHOLDER, True),
    ("moderator@example.org", "Mo Moderator", Role.MODERATOR, False),
    ("council@example.org", "Cam Council", Role.COUNCIL, False),
    ("admin@example.org", "Ada Admin", Role.ADMIN, False),
)

# (name, type, country, verification, locale, [(item code, state, stance, priority, comment)])
OTHER_ORGANIZATIONS = (
    (
        "Red Fronteriza de Acogida",
        OrganizationType.FAITH_BASED,
        "MX",
        VerificationState.VERIFIED,
        "es",
        [
            (
                "P4",
                FeedbackState.PUBLISHED,
                Stance.SUPPORT,
                5,
                "Los albergues del sur de México necesitan capacidad de asilo real, "
                "no solo promesas.",
            ),
            (
                "P6",
                FeedbackState.SUBMITTED,
                Stance.OPPOSE,
                4,
                "Los retornos solo pueden ser voluntarios si existe una alternativa "
                "segura y legal.",
            ),
        ],
    ),
    (
        "Coalition québécoise pour l'accueil",
        OrganizationType.NGO,
        "CA",
        VerificationState.VERIFIED,
        "fr",
        [
            (
                "P4",
                FeedbackState.PUBLISHED,
                Stance.SUPPORT_WITH_AMENDMENTS,
                4,
                "La réinstallation doit s'accompagner d'un parrainage privé mieux financé.",
            ),
            ("P2", FeedbackState.REJECTED, Stance.SUPPORT, 2, "Voir notre site."),
        ],
    ),
    (
        "Central American Workers' Rights Centre",
        OrganizationType.WORKERS,
        "SV",
        VerificationState.VERIFIED,
        "en",
        [
            (
                "P2",
                FeedbackState.PUBLISHED,
                Stance.SUPPORT_WITH_AMENDMENTS,
                5,
                "Seasonal visas must be portable between employers so workers can leave abuse.",
            ),
            (
                "P5",
                FeedbackState.CHANGES_REQUESTED,
                Stance.SUPPORT,
                3,
                "Please call our coordinator on +1 555 0100 for the full evidence.",
            ),
        ],
    ),
    (
        "Diaspora Futures Collective",
        OrganizationType.MIGRANT_LED,
        "US",
        VerificationState.PENDING,
        "en",
        [
            (
                "P3",
                FeedbackState.SUBMITTED,
                Stance.NEUTRAL,
                3,
                "Root-cause funding should reach local organisations, not only large contractors.",
            ),
            (
                "P1",
                FeedbackState.WITHDRAWN,
                Stance.SUPPORT,
                2,
                "Withdrawn while we consult members.",
            ),
            ("P6", FeedbackState.DRAFT, Stance.OPPOSE, 4, "Draft: returns and reintegration."),
        ],
    ),
    (
        "Hemispheric Alliance for Migrant Rights",
        OrganizationType.INTERNATIONAL,
        INTERNATIONAL_COUNTRY,
        VerificationState.VERIFIED,
        "en",
        [
            (
                "P3",
                FeedbackState.PUBLISHED,
                Stance.NO_POSITION,
                3,
                "Our members disagree on this pledge as a whole, so we take no overall "
                "position; all of them ask that its funding be published country by country.",
            ),
            (
                "P5",
                FeedbackState.SUBMITTED,
                Stance.NO_POSITION,
                2,
                "We comment on the data-sharing clauses only: they need a privacy safeguard.",
            ),
        ],
    ),
)


# The demo organisation's own work on the Task Force items, so its dashboard shows each state:
# (item code, state, stance, priority, comment, author email, earlier submitted comment or None).
OWN_FEEDBACK = (
    (
        "TF-AP-1",
        FeedbackState.DRAFT,
        Stance.SUPPORT,
        None,
        "Draft for the lead: labour pathways should include domestic and care workers.",
        "stakeholder@example.org",
        None,
    ),
    (
        "TF-RC-1",
        FeedbackState.PUBLISHED,
        Stance.SUPPORT_WITH_AMENDMENTS,
        5,
        "A regional council on migration must give migrant-led organisations a seat and a vote.",
        "lead@example.org",
        "A regional council on migration must give migrant-led organisations a seat.",
    ),
    (
        "TF-HP-1",
        FeedbackState.CHANGES_REQUESTED,
        Stance.OPPOSE,
        4,
        "Call our director on +1 555 0142 for the case files on detention at the border.",
        "lead@example.org",
        None,
    ),
)

# Joint submissions: (owner, item code, co-signing organisation, state).
COSIGNATURES = (
    ("Red Fronteriza de Acogida", "P4", "Central American Workers' Rights Centre", "accepted"),
    ("Coalition québécoise pour l'accueil", "P4", DEMO_ORGANIZATION, "invited"),
    ("Central American Workers' Rights Centre", "P2", "Red Fronteriza de Acogida", "declined"),
)

DEMO_WINDOW = timedelta(days=90)


def seed_demo_data() -> dict[str, int]:
    """Create what is missing; running it again changes nothing but reopening closed windows."""
    created = {"users": 0, "organizations": 0, "feedback": 0}
    _keep_consultations_open()
    demo_org = _organization(
        DEMO_ORGANIZATION, OrganizationType.NGO, "US", VerificationState.VERIFIED, created
    )
    for email, name, role, is_lead in DEMO_ACCOUNTS:
        if db.session.scalar(select(User.id).where(User.email == email)) is None:
            in_org = role is Role.STAKEHOLDER
            create_user(
                email,
                name,
                DEMO_PASSWORD,
                role=role,
                organization=demo_org if in_org else None,
                is_lead=is_lead,
            )
            created["users"] += 1

    items = {item.code: item for item in db.session.scalars(select(Item))}
    for code, state, stance, priority, comment, email, earlier in OWN_FEEDBACK:
        item = items.get(code)
        if item is None or _has_feedback(demo_org.id, item.id):
            continue
        author = db.session.scalar(select(User).where(User.email == email))
        feedback = _add_feedback(item, demo_org, author, state, stance, priority, comment, "en")
        if earlier:
            _add_earlier_revision(feedback, earlier)
        created["feedback"] += 1
    for index, (name, kind, country, verification, locale, entries) in enumerate(
        OTHER_ORGANIZATIONS, start=1
    ):
        organization = _organization(name, kind, country, verification, created)
        author = _member(organization, f"member{index}@demo.example.org", locale, created)
        for code, state, stance, priority, comment in entries:
            item = items.get(code)
            if item is None or _has_feedback(organization.id, item.id):
                continue
            _add_feedback(item, organization, author, state, stance, priority, comment, locale)
            created["feedback"] += 1
    _add_cosignatures(items)
    _add_council_response(items["P4"])
    db.session.commit()
    return created


COUNCIL_RESPONSE = (
    "The council will fund asylum capacity in southern Mexico through the regional compact, "
    "as several organisations asked. Private sponsorship is **under study** with the partner "
    "governments; we will report back before the next round."
)


def _add_council_response(item: Item) -> None:
    """A published answer on P4, tied to the published positions it answers."""
    if db.session.scalar(select(CouncilResponse.id).where(CouncilResponse.item_id == item.id)):
        return
    council = db.session.scalar(select(User).where(User.email == "council@example.org"))
    answered = db.session.scalars(
        select(Feedback).where(
            Feedback.item_id == item.id, Feedback.state == FeedbackState.PUBLISHED
        )
    ).all()
    db.session.add(
        CouncilResponse(
            consultation_id=item.consultation_id,
            item_id=item.id,
            decision=Decision.PARTLY_ACCEPTED,
            rationale=COUNCIL_RESPONSE,
            responded_by_id=council.id,
            published_at=utcnow() - timedelta(hours=6),
            notified_at=utcnow() - timedelta(hours=6),  # demo: told long ago, never re-sent
            feedback=list(answered),
        )
    )


def _add_cosignatures(items: dict[str, Item]) -> None:
    organizations = {o.name: o for o in db.session.scalars(select(Organization))}
    for owner, code, cosigner, state in COSIGNATURES:
        feedback = db.session.scalar(
            select(Feedback).where(
                Feedback.organization_id == organizations[owner].id,
                Feedback.item_id == items[code].id,
            )
        )
        organization = organizations[cosigner]
        exists = db.session.scalar(
            select(FeedbackCosigner.id).where(
                FeedbackCosigner.feedback_id == feedback.id,
                FeedbackCosigner.organization_id == organization.id,
            )
        )
        if exists is None:
            decided = utcnow() if state != "invited" else None
            db.session.add(
                FeedbackCosigner(
                    feedback_id=feedback.id,
                    organization_id=organization.id,
                    state=CosignState(state),
                    invited_by_id=feedback.author_id,
                    decided_at=decided,
                )
            )


def _keep_consultations_open() -> None:
    # A demo is for trying the forms: a consultation whose file dates have passed reopens.
    now = utcnow()
    for consultation in db.session.scalars(select(Consultation)):
        if consultation.state_at(now) is not ConsultationState.OPEN:
            consultation.opens_at = min(consultation.opens_at, now - timedelta(days=1))
            consultation.closes_at = now + DEMO_WINDOW
            consultation.state_override = None


def _organization(name, kind, country, verification, created) -> Organization:  # noqa: ANN001
    organization = db.session.scalar(select(Organization).where(Organization.name == name))
    if organization is None:
        organization = Organization(
            name=name,
            type=kind,
            country=country,
            verification=verification,
            verified_at=utcnow() if verification is VerificationState.VERIFIED else None,
        )
        db.session.add(organization)
        db.session.flush()
        created["organizations"] += 1
    return organization


def _member(organization: Organization, email: str, locale: str, created) -> User:  # noqa: ANN001
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        user = create_user(
            email,
            f"Member of {organization.name}",
            secrets.token_urlsafe(24),
            organization=organization,
            is_lead=True,
            locale=locale,
        )
        created["users"] += 1
    return user


def _has_feedback(organization_id: int, item_id: int) -> bool:
    return (
        db.session.scalar(
            select(Feedback.id).where(
                Feedback.organization_id == organization_id, Feedback.item_id == item_id
            )
        )
        is not None
    )


def _add_feedback(item, organization, author, state, stance, priority, comment, locale) -> Feedback:  # noqa: ANN001, PLR0913
    now = utcnow()
    submitted = state is not FeedbackState.DRAFT
    feedback = Feedback(
        reference=new_reference(),
        item_id=item.id,
        item_version_id=next(v.id for v in item.versions if v.number == item.current_version),
        organization_id=organization.id,
        author_id=author.id,
        submitted_by_id=author.id if submitted else None,
        state=state,
        stance=stance,
        priority=priority,
        comment=comment,
        language=locale,
        affected_populations=[],
        # the countries concerned: an organisation working across countries names none here
        countries=[] if organization.country == INTERNATIONAL_COUNTRY else [organization.country],
        evidence_links=[],
        submitted_at=now - timedelta(days=2) if submitted else None,
        published_at=now - timedelta(days=1) if state is FeedbackState.PUBLISHED else None,
        moderated_at=now - timedelta(days=1) if state in _MODERATED else None,
        moderation_reason=_REASONS.get(state),
    )
    db.session.add(feedback)
    db.session.flush()
    if submitted:
        db.session.add(
            FeedbackRevision(
                feedback_id=feedback.id, number=1, author_id=author.id, snapshot=snapshot(feedback)
            )
        )
    return feedback


def _add_earlier_revision(feedback: Feedback, earlier_comment: str) -> None:
    """Make the first revision an earlier wording, so the history has a change to show."""
    db.session.flush()
    first = db.session.scalar(
        select(FeedbackRevision).where(
            FeedbackRevision.feedback_id == feedback.id, FeedbackRevision.number == 1
        )
    )
    first.snapshot = {
        **first.snapshot,
        "state": FeedbackState.SUBMITTED.value,
        "comment": earlier_comment,
    }
    first.created_at = utcnow() - timedelta(days=3)
    db.session.add(
        FeedbackRevision(
            feedback_id=feedback.id,
            number=2,
            author_id=feedback.author_id,
            snapshot={**snapshot(feedback), "state": FeedbackState.SUBMITTED.value},
        )
    )


_MODERATED = (FeedbackState.PUBLISHED, FeedbackState.REJECTED, FeedbackState.CHANGES_REQUESTED)
_REASONS = {
    FeedbackState.REJECTED: "Off-topic: the comment points to a website instead of answering.",
    FeedbackState.CHANGES_REQUESTED: "Please remove the phone number from the public comment.",
}
