"""The Alembic history: one head, a clean round trip, and a schema that matches the models."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from app import create_app
from app.extensions import db
from app.models.base import include_in_autogenerate
from tests.helpers.services import PROJECT, app_settings, fresh_pg_database

MIGRATIONS = str(PROJECT / "migrations")
APP_TABLES = {table.name for table in db.metadata.sorted_tables}


def _table_names(app: Flask) -> set[str]:
    with app.app_context():
        return set(inspect(db.engine).get_table_names())


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'migrations.sqlite'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A PostgreSQL database of this test's own, so migrations start from nothing."""
    with fresh_pg_database("consulta_migrations") as url:
        yield url


@pytest.fixture(
    params=[
        pytest.param("sqlite_url", id="sqlite"),
        pytest.param("postgres_url", id="postgresql", marks=pytest.mark.postgres),
    ],
)
def empty_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    """An app on an empty database, SQLite (the embedded default) or PostgreSQL."""
    url = request.getfixturevalue(request.param)
    application = create_app(app_settings(tmp_path, url, None, "migrations"))
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def test_migration_history_has_a_single_head():
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, f"several heads, merge them: {heads}"


def test_migrations_upgrade_downgrade_and_upgrade_again(empty_app):
    assert not _table_names(empty_app) & APP_TABLES

    with empty_app.app_context():
        upgrade(directory=MIGRATIONS)
    assert APP_TABLES - _table_names(empty_app) == set()

    with empty_app.app_context():
        downgrade(directory=MIGRATIONS, revision="base")
    assert _table_names(empty_app) - {"alembic_version"} == set()

    with empty_app.app_context():
        upgrade(directory=MIGRATIONS)
    assert APP_TABLES - _table_names(empty_app) == set()


def test_models_match_the_migrated_schema(empty_app):
    with empty_app.app_context():
        upgrade(directory=MIGRATIONS)
        with db.engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={"compare_type": True, "include_object": include_in_autogenerate},
            )
            diff = compare_metadata(context, db.metadata)

    assert diff == [], "models and migrations differ:\n" + "\n".join(map(repr, diff))
