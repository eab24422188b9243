"""`flask --app app …` commands: seed, demo-data, create-user, compile-report."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from app.extensions import db
from app.models import Consultation, Item, Organization, Role, User
from app.services import accounts, content, demo, reports
from app.services.errors import DomainError
from app.services.passwords import password_problems


def register_commands(app: Flask) -> None:
    for command in (seed, demo_data, create_user, compile_report):
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
@click.option("--item", "code", required=True, help="Item code, e.g. P1.")
@click.option("--user", "email", default=None, help="Council member or admin asking for it.")
@click.option("--wait", is_flag=True, help="Compile in this process instead of on a worker.")
def compile_report(slug: str, code: str, email: str | None, wait: bool) -> None:
    """Ask for a report on one item (queued for the worker unless --wait)."""
    item = db.session.scalar(
        select(Item).join(Consultation).where(Consultation.slug == slug, Item.code == code)
    )
    if item is None:
        raise click.ClickException("no such item")
    query = select(User).where(User.role.in_((Role.COUNCIL, Role.ADMIN)))
    user = db.session.scalar(query.where(User.email == email.lower()) if email else query)
    if user is None:
        raise click.ClickException("no council member or admin to ask as; use create-user")
    report = reports.request_item_report(user.id, item.id)
    click.echo(f"report {report.id}: {report.status.value}")
    if wait:
        reports.compile_report(report.id)
        db.session.refresh(report)
        click.echo(f"report {report.id}: {report.status.value} {report.result}")
