"""Hypothesis settings for the property tests: one profile, loaded for this folder.

No example database, and Hypothesis's other caches in the system's temporary folder: nothing
is written into the checkout (no .hypothesis/). No per-example deadline (a shared CI
machine is slow now and then; a real hang meets pytest's timeout), and under CI=true the same
examples on every run, so a red build can be run again and fails the same way. A failing
example found once is kept in the test as an @example.

HYPOTHESIS_PROFILE=thorough runs ten times the examples, to hunt for new failures locally.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from flask import Flask
from flask_babel import Babel
from hypothesis import HealthCheck, settings
from hypothesis.configuration import set_hypothesis_home_dir

set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "consulta-hypothesis")

EXAMPLES = 60  # per property: the folder runs in well under a minute

settings.register_profile(
    "consulta",
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=os.environ.get("CI") == "true",
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("thorough", parent=settings.get_profile("consulta"), max_examples=600)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "consulta"))


@pytest.fixture(scope="session")
def babel_app() -> Flask:
    """A bare Flask app with Babel: the pure checks translate their messages, nothing else."""
    app = Flask(__name__)
    Babel(app)
    return app
