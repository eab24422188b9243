"""Fixtures of the integration tests."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.helpers.cosigning import remove_demo_cosignatures


@pytest.fixture
def without_demo_cosignatures(seeded: Flask) -> Flask:
    """The seeded data without the demo's joint submissions, so a test starts from none."""
    remove_demo_cosignatures(seeded)
    return seeded
