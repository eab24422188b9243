"""Onboarding at scale: an admin imports organisations and their leads from a CSV file.

The file is UTF-8 (a byte-order mark is allowed), with a header line naming its columns:

    organisation_name   required, up to 200 characters
    organisation_type   required, one of the OrganizationType values (ngo, migrant_led, ...)
    country             required, an ISO 3166-1 two-letter code (MX, CA, ...), or XX for an
                        organisation working across countries ("International / several
                        countries"; app.organizations.countries)
    website             optional, an http(s) address
    lead_name           required, up to 200 characters
    lead_email          required, an email address
    lead_language       optional, en, es or fr (en when empty)

Column names are read case-insensitively, with spaces or underscores; other columns are
ignored. One line per organisation.

All or none: every line is checked first, and one faulty line imports nothing (ImportInvalid
lists every fault with its line, field and message), as the API's batch of drafts does.

Idempotent: organisations are matched by name (case and spacing aside) and people by email
(case aside); what is already there is left as it is and counted as present. Organisations an
admin imports are verified, by that admin. A new lead gets an account without a password and an
email with a single-use link to choose one; a lead who still has not chosen one is invited
again by a later import, at most once a day. So importing the same file twice the same day
creates nothing and sends nothing.

The work is set-based: a few queries and bulk inserts for the whole file, never one per line.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from app import audit
from app.accounts.permissions import acting_user
from app.accounts.services import set_password_link
from app.accounts.sessions import has_usable_password, unusable_password
from app.errors import Conflict, DomainError
from app.extensions import db
from app.models import LOCALES, Organization, OrganizationType, Role, User, VerificationState
from app.models.base import utcnow
from app.notifications import mail
from app.organizations.countries import organisation_country

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_ROWS = 10_000
COLUMNS = (
    "organisation_name",
    "organisation_type",
    "country",
    "website",
    "lead_name",
    "lead_email",
    "lead_language",
)
REQUIRED = ("organisation_name", "organisation_type", "country", "lead_name", "lead_email")
TYPES = frozenset(kind.value for kind in OrganizationType)
NAME_LIMIT = 200
EMAIL_LIMIT = 254
WEBSITE_LIMIT = 500
EMAIL = re.compile(r"[^@\s]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}", re.ASCII)


@dataclass(frozen=True)
class RowError:
    line: int  # in the file, the header being line 1
    field: str | None
    code: str
    message: str


class ImportInvalid(DomainError):
    """The file cannot be imported; `rows` lists every faulty line (empty for the file itself)."""

    status_code = 422
    code = "import_invalid"

    def __init__(self, message: str, rows: list[RowError] | None = None) -> None:
        super().__init__(message, field="file")
        self.rows = rows or []


@dataclass(frozen=True)
class ImportResult:
    rows: int
    organizations_created: int
    organizations_present: int
    leads_created: int
    leads_present: int
    invitations_queued: int

    @property
    def created_anything(self) -> bool:
        return bool(self.organizations_created or self.leads_created)


@dataclass(frozen=True)
class Row:
    line: int
    name: str
    type: OrganizationType
    country: str
    website: str | None
    lead_name: str
    lead_email: str
    lead_language: str

    @property
    def key(self) -> str:
        return normalised_name(self.name)


def normalised_name(name: str) -> str:
    """What two spellings of one organisation's name share: case and spacing aside."""
    return " ".join(name.split()).casefold()


def import_organizations(admin_id: int, data: bytes) -> ImportResult:
    """Import the organisations and leads of a CSV file (see the module's docstring); commits."""
    admin = acting_user(admin_id, Role.ADMIN)
    rows = parse(data)
    organizations, users = _existing(rows)
    faults = _conflicts(rows, organizations, users)
    if faults:
        raise _invalid(faults)
    try:
        result = _apply(admin, rows, organizations, users)
    except IntegrityError as error:  # another import of the same names, at the same moment
        db.session.rollback()
        raise Conflict(
            _("Another import added some of these at the same time: try again.")
        ) from error
    db.session.commit()
    return result


# --- reading and checking the file -----------------------------------------------------------


def parse(data: bytes) -> list[Row]:
    """Every line of the file, checked on its own and against the others; ImportInvalid lists
    every fault."""
    if len(data) > MAX_FILE_BYTES:
        raise ImportInvalid(
            _("The file is larger than %(n)s MB.", n=MAX_FILE_BYTES // (1024 * 1024))
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportInvalid(_("The file is not UTF-8 text: save it as CSV UTF-8.")) from error
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as error:
        raise ImportInvalid(_("The file is not a CSV file.")) from error
    columns = [name.strip().lower().replace(" ", "_") for name in header or []]
    missing = [name for name in REQUIRED if name not in columns]
    if missing:
        raise ImportInvalid(
            _("The header line lacks these columns: %(columns)s.", columns=", ".join(missing))
        )
    places = {name: columns.index(name) for name in COLUMNS if name in columns}
    rows: list[Row] = []
    faults: list[RowError] = []
    first_line: dict[str, dict[str, int]] = {"name": {}, "email": {}}
    line = reader.line_num
    try:
        for values in reader:
            start, line = line + 1, reader.line_num
            if not any(value.strip() for value in values):
                continue  # blank lines are no organisation
            if len(rows) + len(faults) >= MAX_ROWS:
                raise ImportInvalid(_("The file has more than %(n)s lines.", n=MAX_ROWS))
            found = {name: _value(values, at) for name, at in places.items()}
            row, row_faults = _check(start, found, extra=len(values) > len(columns))
            faults.extend(row_faults)
            faults.extend(_repeats(start, found, first_line))
            if row is not None:
                rows.append(row)
    except csv.Error:  # a stray quote or NUL: the rest of the file cannot be read reliably
        faults.append(RowError(line + 1, None, "malformed", _("This line is not valid CSV.")))
    if faults:
        raise _invalid(faults)
    if not rows:
        raise ImportInvalid(_("The file has no organisations in it."))
    return rows


def _value(values: list[str], at: int) -> str:
    return values[at].strip() if at < len(values) else ""


def _check(line: int, found: dict[str, str], *, extra: bool) -> tuple[Row | None, list[RowError]]:
    faults: list[RowError] = []

    def fault(field: str | None, code: str, message: str) -> None:
        faults.append(RowError(line, field, code, message))

    if extra:
        fault(None, "malformed", _("This line has more values than the header has columns."))
    for name in REQUIRED:
        if not found.get(name):
            fault(name, "required", _("This value is required."))
    name, lead_name = found.get("organisation_name", ""), found.get("lead_name", "")
    for field, value in (("organisation_name", name), ("lead_name", lead_name)):
        if len(value) > NAME_LIMIT:
            fault(field, "too_long", _("Use at most %(n)s characters.", n=NAME_LIMIT))
    kind = found.get("organisation_type", "").lower()
    if kind and kind not in TYPES:
        choices = ", ".join(t.value for t in OrganizationType)
        fault("organisation_type", "invalid_choice", _("Use one of: %(choices)s.", choices=choices))
    country = found.get("country", "").upper()
    if country and organisation_country(country) is None:
        message = _(
            "Use a two-letter country code, such as MX or CA, or XX for an organisation "
            "working across several countries."
        )
        fault("country", "invalid_country", message)
    website = found.get("website", "")
    if website and not _is_web_address(website):
        fault("website", "invalid_url", _("Use a web address starting with http:// or https://."))
    email = found.get("lead_email", "").lower()
    if email and (len(email) > EMAIL_LIMIT or not EMAIL.fullmatch(email)):
        fault("lead_email", "invalid_email", _("This is not a valid email address."))
    language = found.get("lead_language", "").lower() or "en"
    if language not in LOCALES:
        fault("lead_language", "invalid_choice", _("Use en, es or fr."))
    if faults:
        return None, faults
    row = Row(
        line=line,
        name=" ".join(name.split()),
        type=OrganizationType(kind),
        country=country,
        website=website or None,
        lead_name=lead_name,
        lead_email=email,
        lead_language=language,
    )
    return row, []


def _repeats(
    line: int, found: dict[str, str], first_line: dict[str, dict[str, int]]
) -> list[RowError]:
    """Faults for an organisation or a lead already on an earlier line of the file."""
    faults = []
    for kind, field, key in (
        ("name", "organisation_name", normalised_name(found.get("organisation_name", ""))),
        ("email", "lead_email", found.get("lead_email", "").lower()),
    ):
        if not key:
            continue
        earlier = first_line[kind].setdefault(key, line)
        if earlier != line:
            message = _("The same value is already on line %(line)s.", line=earlier)
            faults.append(RowError(line, field, "duplicate", message))
    return faults


def _is_web_address(value: str) -> bool:
    parts = urlsplit(value)
    return len(value) <= WEBSITE_LIMIT and parts.scheme in ("http", "https") and bool(parts.netloc)


def _invalid(faults: list[RowError]) -> ImportInvalid:
    lines = len({fault.line for fault in faults})
    message = ngettext(
        "%(num)d line of the file cannot be imported; nothing was imported.",
        "%(num)d lines of the file cannot be imported; nothing was imported.",
        lines,
    )
    return ImportInvalid(message, sorted(faults, key=lambda fault: fault.line))


# --- against what is already there -----------------------------------------------------------


def _existing(rows: list[Row]) -> tuple[dict[str, Organization], dict[str, User]]:
    """The organisations (by normalised name) and people (by email) the file names, in two
    queries."""
    names = {row.name.lower() for row in rows}
    organizations = {
        normalised_name(found.name): found
        for found in db.session.scalars(
            select(Organization).where(func.lower(Organization.name).in_(names))
        )
    }
    emails = [row.lead_email for row in rows]
    users = {
        user.email: user for user in db.session.scalars(select(User).where(User.email.in_(emails)))
    }
    return organizations, users


def _conflicts(
    rows: list[Row], organizations: dict[str, Organization], users: dict[str, User]
) -> list[RowError]:
    faults = []
    for row in rows:
        organization = organizations.get(row.key)
        if organization is not None and organization.verification is VerificationState.REJECTED:
            message = _("Moderators rejected this organisation; it is not imported again.")
            faults.append(RowError(row.line, "organisation_name", "rejected", message))
        user = users.get(row.lead_email)
        if user is None:
            continue
        if user.role is not Role.STAKEHOLDER:
            message = _(
                "This address belongs to a staff account, which cannot lead an organisation."
            )
            faults.append(RowError(row.line, "lead_email", "staff_account", message))
        elif user.organization_id is not None and (
            organization is None or user.organization_id != organization.id
        ):
            message = _("This person already belongs to another organisation.")
            faults.append(RowError(row.line, "lead_email", "other_organization", message))
    return faults


# --- importing -------------------------------------------------------------------------------


def _apply(
    admin: User, rows: list[Row], organizations: dict[str, Organization], users: dict[str, User]
) -> ImportResult:
    now = utcnow()
    new_organizations = [row for row in rows if row.key not in organizations]
    created_ids: dict[str, int] = {}
    if new_organizations:
        inserted = db.session.execute(
            insert(Organization).returning(Organization.id, Organization.name),
            [
                {
                    "name": row.name,
                    "type": row.type,
                    "country": row.country,
                    "website": row.website,
                    "verification": VerificationState.VERIFIED,
                    "verified_by_id": admin.id,
                    "verified_at": now,
                    "created_at": now,
                }
                for row in new_organizations
            ],
        )
        created_ids = {normalised_name(name): id_ for id_, name in inserted}
    organization_of = {key: found.id for key, found in organizations.items()} | created_ids

    new_leads = [row for row in rows if row.lead_email not in users]
    lead_ids: list[int] = []
    if new_leads:
        lead_ids = list(
            db.session.scalars(
                insert(User).returning(User.id),
                [
                    {
                        "email": row.lead_email,
                        "name": row.lead_name,
                        "password_hash": unusable_password(),
                        "role": Role.STAKEHOLDER,
                        "organization_id": organization_of[row.key],
                        "is_lead": True,
                        "locale": row.lead_language,
                        "active": True,
                        "created_at": now,
                    }
                    for row in new_leads
                ],
            )
        )
    for row in rows:  # people already there: made the lead of the organisation the file names
        user = users.get(row.lead_email)
        if user is not None and (user.organization_id is None or not user.is_lead):
            user.organization_id, user.is_lead = organization_of[row.key], True

    audit.record_many(
        admin.id,
        "organization.import",
        "organization",
        {id_: {"verification": VerificationState.VERIFIED.value} for id_ in created_ids.values()},
    )
    audit.record_many(
        admin.id, "user.create", "user", {id_: {"role": Role.STAKEHOLDER} for id_ in lead_ids}
    )
    invited = _invite_leads(rows, organization_of)
    result = ImportResult(
        rows=len(rows),
        organizations_created=len(created_ids),
        organizations_present=len(rows) - len(created_ids),
        leads_created=len(lead_ids),
        leads_present=len(rows) - len(lead_ids),
        invitations_queued=invited,
    )
    audit.record(admin.id, "organization.import_file", "organization", None, after=result.__dict__)
    return result


def _invite_leads(rows: list[Row], organization_of: dict[str, int]) -> int:
    """Mail every lead of the file who has no password yet a link to choose one (once a day)."""
    db.session.flush()
    names = {id_: row.name for row in rows if (id_ := organization_of[row.key])}
    leads = db.session.scalars(
        select(User).where(User.email.in_([row.lead_email for row in rows]), User.active.is_(True))
    )
    today = f"{utcnow():%Y%m%d}"
    messages = [
        mail.Outgoing(
            to_email=lead.email,
            locale=lead.locale,
            dedupe_key=f"lead-invitation:{lead.id}:{today}",
            user_id=lead.id,
            context={
                "name": lead.name,
                "organization": names.get(lead.organization_id, ""),
                "link": set_password_link(lead),
            },
        )
        for lead in leads
        if not has_usable_password(lead.password_hash)
    ]
    return mail.queue_emails("lead_invitation", messages) if messages else 0
