"""`flask --app app …` commands: seed, demo-data, create-user, compile-report, generate-feedback,
backup (create, verify, restore).

The report pipeline and the data generators are imported by the commands that run them: every
web process registers these commands, and importing the analysis stack (scikit-learn) would add
about two seconds to its start."""

from __future__ import annotations

import time
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from app.accounts import services as accounts
from app.accounts.passwords import password_problems
from app.backups import services as backups
from app.backups.postgres import BackupError
from app.consultations import seeding as content
from app.errors import DomainError
from app.extensions import db
from app.models import Consultation, Item, Organization, Role, User
from app.reports import services as reports


def register_commands(app: Flask) -> None:
    for command in (seed, demo_data, create_user, compile_report, generate_feedback, backup):
        app.cli.add_command(command)


@click.command("seed")
@with_appcontext
def seed() -> None:
    """Load the seeded consultations from app/content (idempotent)."""
    outcome = content.seed_content()
    click.echo(
        f"consultations: {outcome.consultations_created} created, "
        f"{outcome.consultations_updated} updated; items: {outcome.items_created} created, "
        f"{outcome.items_updated} updated; new versions: {len(outcome.versions_added)}"
    )
    for name in outcome.versions_added:
        click.echo(f"  new version of {name}")


@click.command("demo-data")
@with_appcontext
def demo_data() -> None:
    """Create the demo accounts, organisations and feedback (idempotent)."""
    settings = current_app.config["SETTINGS"]
    if settings.is_production or not settings.demo_mode:
        raise click.ClickException(
            "demo data is loaded only with DEMO_MODE=true, never in production"
        )
    from app.dev import demo

    created = demo.seed_demo_data()
    click.echo(", ".join(f"{n} {kind} created" for kind, n in created.items()))


@click.command("create-user")
@with_appcontext
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.ADMIN.value)
@click.option("--organization", default=None, help="Name of an existing organisation.")
@click.option("--lead", is_flag=True, default=False)
@click.password_option()
def create_user(
    email: str, name: str, role: str, organization: str | None, lead: bool, password: str
) -> None:
    """Create a user, for example the first admin."""
    problems = password_problems(password, email)
    if problems:
        raise click.BadParameter(" ".join(problems), param_hint="password")
    org = None
    if organization:
        org = db.session.scalar(select(Organization).where(Organization.name == organization))
        if org is None:
            raise click.BadParameter("no such organisation", param_hint="organization")
    try:
        user = accounts.create_user(
            email, name, password, role=Role(role), organization=org, is_lead=lead
        )
    except DomainError as error:
        raise click.ClickException(error.message) from error
    db.session.commit()
    click.echo(f"created {user.email} ({user.role.value})")


@click.command("compile-report")
@with_appcontext
@click.option("--consultation", "slug", required=True, help="Consultation slug.")
@click.option("--item", "code", default=None, help="Item code, e.g. P1 (default: every item).")
@click.option("--public", is_flag=True, help="The public version (published feedback only).")
@click.option("--user", "email", default=None, help="Council member or admin asking for it.")
@click.option("--wait", is_flag=True, help="Compile in this process instead of on the workers.")
def compile_report(
    slug: str, code: str | None, public: bool, email: str | None, wait: bool
) -> None:
    """Ask for a report on a consultation or one of its items (queued unless --wait)."""
    consultation = db.session.scalar(select(Consultation).where(Consultation.slug == slug))
    if consultation is None:
        raise click.ClickException("no such consultation")
    item_id = None
    if code is not None:
        item_id = db.session.scalar(
            select(Item.id).where(Item.consultation_id == consultation.id, Item.code == code)
        )
        if item_id is None:
            raise click.ClickException("no such item")
    query = select(User).where(User.role.in_((Role.COUNCIL, Role.ADMIN)))
    user = db.session.scalar(query.where(User.email == email.lower()) if email else query)
    if user is None:
        raise click.ClickException("no council member or admin to ask as; use create-user")
    report = reports.request_report(user.id, consultation.id, item_id=item_id, public=public)
    click.echo(f"report {report.id}: {report.status.value}")
    if wait:
        from app.reports import pipeline

        pipeline.run_in_process(report.id)
        db.session.refresh(report)
        headline = (report.result or {}).get("figures", {}).get("headline", {})
        click.echo(
            f"report {report.id}: {report.status.value}, "
            f"{headline.get('submissions', 0)} submissions, timings {report.result.get('timings')}"
            if report.result
            else f"report {report.id}: {report.status.value} {report.error or ''}"
        )


@click.command("generate-feedback")
@with_appcontext
@click.option("--count", type=click.IntRange(min=1), default=10_000, show_default=True)
@click.option(
    "--consultation", "slug", default=None, help="Consultation slug (default: every one)."
)
@click.option(
    "--campaign-share",
    type=click.FloatRange(0, 1),
    default=0.8,
    show_default=True,
    help="Share of the volume sent by mass campaigns.",
)
@click.option(
    "--published-share",
    type=click.FloatRange(0, 1),
    default=0.5,
    show_default=True,
    help="Share published; the rest stays submitted.",
)
@click.option("--seed", type=int, default=1, show_default=True, help="Same seed, same data.")
def generate_feedback(
    count: int, slug: str | None, campaign_share: float, published_share: float, seed: int
) -> None:
    """Fill the seeded consultations with synthetic feedback for report benchmarks."""
    started = time.perf_counter()

    def progress(stage: str, done: int, total: int) -> None:
        elapsed = time.perf_counter() - started
        click.echo(f"  {stage}: {done:,}/{total:,} ({done / total:.0%}) {elapsed:.1f} s")

    from app.dev import synthetic_feedback

    try:
        report = synthetic_feedback.generate(
            count,
            consultation_slug=slug,
            campaign_share=campaign_share,
            published_share=published_share,
            seed=seed,
            progress=progress,
        )
    except DomainError as error:
        raise click.ClickException(error.message) from error
    languages = ", ".join(f"{language} {n:,}" for language, n in report.languages.items())
    click.echo(
        f"{report.feedback:,} feedback ({report.published:,} published; {languages}) from "
        f"{report.organizations:,} new organisations; {report.campaigns} campaigns on "
        f"{report.campaign_groups} items with {report.campaign_members:,} members; "
        f"{report.flags:,} flags; {report.cosigners:,} co-signatures; "
        f"in {report.seconds:.1f} s"
    )


@click.group("backup")
def backup() -> None:
    """Back up the database and the attachment files, check a backup, restore one."""


@backup.command("create")
@with_appcontext
@click.argument("root", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--keep",
    type=click.IntRange(min=1),
    default=None,
    help="Then delete all but the newest KEEP backups in ROOT.",
)
def backup_create(root: Path, keep: int | None) -> None:
    """Write a new backup into a folder of its own under ROOT."""
    try:
        made = backups.create_backup(root, keep)
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    database, files = made.manifest["database"], made.manifest["attachments"]
    click.echo(
        f"backup {made.path}: database {database['size']:,} bytes "
        f"({len(database['rows'])} tables, {sum(database['rows'].values()):,} rows), "
        f"{files['count']:,} attachments ({files['bytes']:,} bytes)"
    )
    if made.removed:
        click.echo(f"removed {len(made.removed)} older: {', '.join(made.removed)}")
    for problem in made.problems:
        click.echo(f"problem: {problem}", err=True)
    if made.problems:
        raise click.exceptions.Exit(1)


@backup.command("verify")
@with_appcontext
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
def backup_verify(folder: Path) -> None:
    """Check a backup's files against its manifest, and that pg_restore reads its dump."""
    try:
        manifest = backups.verify_backup(folder)
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(
        f"{folder} is intact: the dump and {manifest['attachments']['count']:,} attachments"
        " match their checksums"
    )


@backup.command("restore")
@with_appcontext
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
def backup_restore(folder: Path) -> None:
    """Restore a backup into the configured (empty) database and attachment store."""
    try:
        manifest = backups.restore_backup(folder)
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    rows = manifest["database"]["rows"]
    click.echo(
        f"restored {folder}: {len(rows)} tables hold the {sum(rows.values()):,} rows of the"
        f" backup; {manifest['attachments']['count']:,} attachments are in the store"
    )
