"""Schemathesis against /api/v1/openapi.json: generated requests for every operation, as a
visitor and with each role's token; no 5xx, no response outside the document's schemas or
statuses (every default check of `call_and_validate`)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.config import SchemathesisConfig

pytestmark = [pytest.mark.postgres]
ACCEPTED_REFUSALS = ["2xx", "3xx", "401", "403", "404", "409", "412", "429", "5xx"]
EXAMPLES = 25  # generated requests per operation, each sent as every caller


def test_every_operation_keeps_to_its_document(seeded, bearer, report_jobs_here):
    # The pytest plugin's fixture loader does not run on this pytest; the schema's Hypothesis
    # strategies do the same work, one operation after another.
    config = SchemathesisConfig.from_dict(
        # Valid requests may still meet the data's state: a stale ETag (412) as well as the
        # defaults (403 not the lead, 404 another's, 409 one draft per item).
        {
            "checks": {"positive_data_acceptance": {"expected-statuses": ACCEPTED_REFUSALS}},
            "operations": [
                {
                    # A batch answers 422 listing the drafts the data's state refuses (an item
                    # already answered, a closed consultation): all or none is saved.
                    "include-path": "/api/v1/feedback/batch",
                    "checks": {
                        "positive_data_acceptance": {
                            "expected-statuses": [*ACCEPTED_REFUSALS, "422"]
                        }
                    },
                }
            ],
        }
    )
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", seeded, config=config)
    callers = [{}, *(bearer(role) for role in ("stakeholder", "lead", "moderator", "council"))]
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 3

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def keeps_to_the_document(case):
            for headers in callers:
                case.call_and_validate(headers=headers)

        keeps_to_the_document()
