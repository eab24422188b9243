"""The API's small pieces of HTTP: If-Match parsing, validation faults as fields, the CSV client's
row mapping."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import pytest
from flask import Flask
from flask_babel import Babel
from werkzeug.exceptions import UnprocessableEntity

from app.api.http import PreconditionFailed, PreconditionRequired, if_match
from app.errors import DomainError
from app.errors.handlers import _invalid_fields

ROW = SimpleNamespace(lock_version=3)


@pytest.fixture
def flask_app():
    app = Flask(__name__)
    Babel(app)  # the refusals are translated messages
    return app


@pytest.mark.parametrize("header", ['"3"', 'W/"3"', "3"])
def test_if_match_accepts_the_current_version_strong_weak_or_bare(flask_app, header):
    with flask_app.test_request_context(headers={"If-Match": header}):
        assert if_match(ROW) == 3


def test_if_match_refuses_a_stale_or_missing_version(flask_app):
    stale = flask_app.test_request_context(headers={"If-Match": '"2"'})
    with stale, pytest.raises(PreconditionFailed):
        if_match(ROW)
    with flask_app.test_request_context(), pytest.raises(PreconditionRequired):
        if_match(ROW)


def test_validation_messages_become_fields_with_string_keys():
    error = UnprocessableEntity()
    error.data = {
        "messages": {
            "json": {"priority": ["Too big."], "countries": {0: ["Not one of the list."]}},
            "query": {"limit": ["Must be at most 200."]},
        }
    }
    assert _invalid_fields(error) == {
        "priority": ["Too big."],
        "countries": {"0": ["Not one of the list."]},
        "limit": ["Must be at most 200."],
    }
    assert _invalid_fields(UnprocessableEntity()) == {}


def _client_example():
    path = Path(__file__).resolve().parents[2] / "examples" / "submit_positions.py"
    spec = importlib.util.spec_from_file_location("submit_positions", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_client_maps_a_csv_row_to_the_apis_fields_and_leaves_empty_cells_out():
    position = _client_example().position
    assert position(
        {
            "item": "P1",
            "stance": "oppose",
            "priority": "5",
            "comment": "No.",
            "amendment": "",
            "affected_populations": "refugees;returnees",
            "countries": "",
            "attribution": "anonymous",
        }
    ) == {
        "stance": "oppose",
        "priority": 5,
        "comment": "No.",
        "affected_populations": ["refugees", "returnees"],
        "attribution": "anonymous",
    }
    # An existing position keeps what the row leaves empty (its disclosures above all).
    assert position({"item": "P1", "stance": "", "priority": "", "comment": "Yes."}) == {
        "comment": "Yes."
    }


@pytest.mark.parametrize("header", ['"²"', '"3", "4"', "abc", '"9999999999999999999"'])
def test_if_match_that_is_no_etag_is_a_400_naming_the_header(flask_app, header):
    with (
        flask_app.test_request_context(headers={"If-Match": header}),
        pytest.raises(DomainError) as refused,
    ):
        if_match(ROW)
    assert refused.value.status_code == 400 and refused.value.field == "If-Match"


def test_if_match_star_accepts_whatever_is_current(flask_app):
    with flask_app.test_request_context(headers={"If-Match": "*"}):
        assert if_match(ROW) == 3
