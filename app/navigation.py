"""The header's navigation: the sections a person's role opens, and the pages of the section
they are in. The templates draw them with GOV.UK's service navigation (which collapses behind a
"Menu" button on a phone) and MOJ's sub-navigation."""

from __future__ import annotations

from dataclasses import dataclass

from flask import request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.models import Role


@dataclass(frozen=True)
class Link:
    text: str
    href: str
    current: bool


# A section: its label, its first page, the roles that see it, and the blueprints it covers.
# Each section's own pages come from SUBSECTIONS, under the section's name.
_SECTIONS = (
    ("consultations", _l("Consultations"), "consultations.index", None, ("consultations",)),
    ("feedback", _l("Our feedback"), "feedback.dashboard", (Role.STAKEHOLDER,), ("feedback",)),
    (
        "organisation",
        _l("My organisation"),
        "organizations.mine",
        (Role.STAKEHOLDER,),
        ("organizations", "cosigning"),
    ),
    (
        "moderation",
        _l("Moderation"),
        "moderation.queue",
        (Role.MODERATOR, Role.ADMIN),
        ("moderation", "moderation_organizations", "moderation_campaigns", "moderation_audit"),
    ),
    ("audit", _l("Audit log"), "moderation_audit.index", (Role.COUNCIL,), ("moderation_audit",)),
    ("reports", _l("Reports"), "reports.index", (Role.COUNCIL, Role.ADMIN), ("reports",)),
    ("admin", _l("Administration"), "admin.consultation_list", (Role.ADMIN,), ("admin",)),
    ("account", _l("My account"), "account.profile", (), ("account",)),
)

# A section's pages: label, address, and the endpoints (or their beginnings) that are that page.
_SUBSECTIONS = {
    "moderation": (
        (_l("Submissions"), "moderation.queue", ("moderation.",)),
        (
            _l("Organisations to verify"),
            "moderation_organizations.pending",
            ("moderation_organizations.",),
        ),
        (_l("Campaigns"), "moderation_campaigns.index", ("moderation_campaigns.",)),
        (_l("Audit log"), "moderation_audit.index", ("moderation_audit.",)),
    ),
    "admin": (
        (
            _l("Consultations"),
            "admin.consultation_list",
            ("admin.consultation_list", "admin.new_", "admin.edit_", "admin.invitations"),
        ),
        (_l("Users"), "admin.users", ("admin.users", "admin.set_active", "admin.change_role")),
        (_l("Import organisations"), "admin.import_organizations", ("admin.import_organizations",)),
    ),
}


def _sees(roles: tuple[Role, ...] | None) -> bool:
    """None: everyone; (): anyone signed in; otherwise signed in with one of these roles
    (a stakeholder only once they speak for an organisation)."""
    if roles is None:
        return True
    if not current_user.is_authenticated:
        return False
    if not roles:
        return True
    if current_user.role == Role.STAKEHOLDER and not current_user.organization_id:
        return False
    return current_user.role in roles


def _section_of(endpoint: str) -> str | None:
    blueprint = endpoint.partition(".")[0]
    visible = [
        name for name, _label, _to, roles, bps in _SECTIONS if _sees(roles) and blueprint in bps
    ]
    if blueprint == "attachments":
        return "feedback" if "feedback" in visible else None
    return visible[0] if visible else None


def main_navigation() -> list[Link]:
    """The sections this person sees, the one they are in marked current."""
    section = _section_of(request.endpoint or "")
    return [
        Link(str(label), url_for(to), name == section)
        for name, label, to, roles, _blueprints in _SECTIONS
        if _sees(roles)
    ]


def sub_navigation() -> list[Link]:
    """The pages of the section this person is in, when it has several; else nothing."""
    endpoint = request.endpoint or ""
    pages = _SUBSECTIONS.get(_section_of(endpoint) or "", ())
    return [
        Link(str(label), url_for(to), endpoint.startswith(prefixes))
        for label, to, prefixes in pages
    ]
