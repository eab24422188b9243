"""The feedback an organisation sends, checked by its one validator (feedback_input) and through
the API that carries it: whatever valid input is sent is stored as sent (texts trimmed, lists
as sets); any input with one field broken is refused naming that field, and nothing is stored.
Never a 500: a character PostgreSQL cannot hold (a NUL, half of a surrogate pair) is an input
fault like any other."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from app.accounts import profile
from app.extensions import limiter
from app.feedback.feedback_input import (
    MAX_EVIDENCE_LINKS,
    MAX_LINK_LENGTH,
    TEXT_LIMIT,
    FeedbackInput,
    input_faults,
    stored_content,
)
from app.models import Attribution, Disclosure, Stance
from app.models.feedback import AFFECTED_POPULATIONS, REGION_COUNTRIES
from tests import factories

# --- valid input ---------------------------------------------------------------------------

texts = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=300)
hosts = st.from_regex(r"[a-z0-9-]{1,20}(\.[a-z]{2,6}){1,2}", fullmatch=True)
paths = st.text(st.characters(categories=["L", "N", "P", "S"]), max_size=60)
links = st.builds(
    lambda scheme, host, path: f"{scheme}://{host}/{path}",
    st.sampled_from(["http", "https", "HTTPS"]),
    hosts,
    paths,
)
valid_fields = {
    "stance": st.sampled_from([stance.value for stance in Stance]),
    "priority": st.integers(1, 5),
    "comment": texts,
    "amendment": texts.filter(str.strip),  # support with amendments needs one when submitted
    "affected_populations": st.lists(st.sampled_from(AFFECTED_POPULATIONS), max_size=4),
    "countries": st.lists(st.sampled_from(REGION_COUNTRIES), max_size=4),
    "comment_disclosure": st.sampled_from([d.value for d in Disclosure]),
    "amendment_disclosure": st.sampled_from([d.value for d in Disclosure]),
    "evidence_links": st.lists(links, max_size=MAX_EVIDENCE_LINKS),
    "attribution": st.sampled_from([a.value for a in Attribution]),
}
valid_bodies = st.fixed_dictionaries(valid_fields)

# --- one field broken ----------------------------------------------------------------------

NUL, SURROGATE = "\x00", "\ud800"
unstorable_text = st.builds(
    lambda before, bad, after: before + bad + after, texts, st.sampled_from([NUL, SURROGATE]), texts
)
not_a_choice = st.text(max_size=20)
bad_links = st.one_of(
    st.sampled_from(
        [
            "javascript:alert(1)",
            "https://example.org/\x00",
            "https://example.org/\r\nSet-Cookie:x",
            "https://example.org/\x85",
            f"https://example.org/{SURROGATE}",
            "https://",
            "ftp://example.org",
            "https://example.org/" + "a" * MAX_LINK_LENGTH,
        ]
    ),
    st.text(max_size=30).filter(lambda text: not text.lower().startswith("http")),
)
broken_fields = {
    "stance": not_a_choice.filter(lambda text: text not in {s.value for s in Stance}),
    "priority": st.one_of(st.integers(max_value=0), st.integers(min_value=6)),
    "comment": st.one_of(unstorable_text, st.just("x" * (TEXT_LIMIT + 1))),
    "amendment": st.one_of(unstorable_text, st.just("x" * (TEXT_LIMIT + 1))),
    "affected_populations": st.lists(
        not_a_choice.filter(lambda text: text not in AFFECTED_POPULATIONS), min_size=1, max_size=3
    ),
    "countries": st.lists(
        not_a_choice.filter(lambda text: text not in REGION_COUNTRIES), min_size=1, max_size=3
    ),
    "comment_disclosure": not_a_choice.filter(lambda t: t not in {d.value for d in Disclosure}),
    "amendment_disclosure": not_a_choice.filter(lambda t: t not in {d.value for d in Disclosure}),
    "evidence_links": st.one_of(
        st.lists(links, min_size=MAX_EVIDENCE_LINKS + 1, max_size=MAX_EVIDENCE_LINKS + 3),
        st.builds(lambda good, bad: [*good, bad], st.lists(links, max_size=3), bad_links),
    ),
    "attribution": not_a_choice.filter(lambda t: t not in {a.value for a in Attribution}),
}
# The fields the validator sees with a value of the right type: the API's schema turns the
# others away before it, and the form offers them as choices.
VALIDATOR_FIELDS = ("priority", "comment", "amendment", "affected_populations", "countries")
VALID = {
    "stance": "support_with_amendments",
    "priority": 3,
    "comment": "Open regular pathways.",
    "amendment": "Add care work.",
    "affected_populations": ["refugees"],
    "countries": ["MX"],
    "comment_disclosure": "public",
    "amendment_disclosure": "council_only",
    "evidence_links": ["https://example.org/study"],
    "attribution": "named",
}


@st.composite
def one_field_broken(draw: st.DrawFn, fields: tuple[str, ...] = tuple(broken_fields)) -> tuple:
    """(a valid body with one field replaced by a broken value, that field)."""
    field = draw(st.sampled_from(fields))
    return {**draw(valid_bodies), field: draw(broken_fields[field])}, field


def feedback_input(body: dict) -> FeedbackInput:
    """The body as the validator receives it (what the API's `_input` and the form build)."""
    return FeedbackInput(
        stance=Stance(body["stance"]) if body["stance"] else None,
        priority=body["priority"],
        comment=body["comment"],
        affected_populations=tuple(body["affected_populations"]),
        countries=tuple(body["countries"]),
        comment_disclosure=Disclosure(body["comment_disclosure"]),
        amendment=body["amendment"],
        amendment_disclosure=Disclosure(body["amendment_disclosure"]),
        evidence_links=tuple(body["evidence_links"]),
        attribution=Attribution(body["attribution"]),
    )


def as_stored(body: dict) -> dict:
    """What the platform keeps of a valid body: texts trimmed, chosen lists as sorted sets."""
    return {
        **body,
        "comment": body["comment"].strip(),
        "amendment": body["amendment"].strip(),
        "affected_populations": sorted(set(body["affected_populations"])),
        "countries": sorted(set(body["countries"])),
    }


# --- the validator -------------------------------------------------------------------------


@given(valid_bodies, st.booleans())
def test_valid_input_has_no_fault_and_is_stored_as_sent(babel_app, body, submitting):
    data = feedback_input(body)
    with babel_app.app_context():
        assert input_faults(data, submitting=submitting) == {}
    stored = {name: getattr(value, "value", value) for name, value in stored_content(data).items()}
    assert stored == as_stored(body)


@given(one_field_broken((*VALIDATOR_FIELDS, "evidence_links")), st.booleans())
@example(({**VALID, "comment": "a\x00b"}, "comment"), True)  # PostgreSQL refuses a NUL
@example(({**VALID, "amendment": SURROGATE}, "amendment"), False)  # was a 500 at the flush
@example(({**VALID, "evidence_links": [f"https://x.org/{SURROGATE}"]}, "evidence_links"), False)
def test_the_validator_names_exactly_the_broken_field(babel_app, case, submitting):
    body, field = case
    with babel_app.app_context():
        assert set(input_faults(feedback_input(body), submitting=submitting)) == {field}


@given(
    valid_bodies, st.sampled_from(["stance", "priority", "amendment"]), st.sampled_from(["", " \n"])
)
def test_a_submission_missing_what_it_needs_is_refused_naming_it(babel_app, body, field, blank):
    body = {**body, "stance": "support_with_amendments"}
    body[field] = blank if field == "amendment" else None
    with babel_app.app_context():
        assert set(input_faults(feedback_input(body), submitting=True)) == {field}
        assert input_faults(feedback_input(body), submitting=False) == {}  # a draft may lack it


# --- through the API -----------------------------------------------------------------------

API_SETTINGS = settings(
    # One organisation and one draft serve every example: each example leaves it a valid
    # draft, so the fixture's state does not leak from one example into the next.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    # A failure is reported as found: shrinking through HTTP and the database is slow.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)


@pytest.fixture
def api_draft(unseeded):
    """(test client, token header, the draft's URL) of a new organisation's lead."""
    with unseeded.app_context():
        lead = factories.lead()
        item = factories.item()
        headers = {"Authorization": "Bearer " + profile.create_api_token(lead.id, "props").secret}
        item_id = item.id
    client = unseeded.test_client()
    created = client.post("/api/v1/feedback", json={**VALID, "item_id": item_id}, headers=headers)
    assert created.status_code == 201, created.get_json()
    return client, headers, created.get_json()["url"]


def current(client, headers: dict, url: str) -> dict:
    limiter.reset()  # hundreds of requests in one test: the API's rate limit is not the subject
    answer = client.get(url, headers=headers)
    assert answer.status_code == 200
    return answer.get_json()


def stored_fields(body: dict) -> dict:
    return {name: body[name] for name in VALID}


@API_SETTINGS
@given(body=valid_bodies)
def test_valid_input_through_the_api_is_stored_as_sent(api_draft, body):
    client, headers, url = api_draft
    version = current(client, headers, url)["version"]
    saved = client.put(url, json=body, headers={**headers, "If-Match": f'"{version}"'})
    assert saved.status_code == 200, saved.get_json()
    assert stored_fields(saved.get_json()) == as_stored(body)
    assert stored_fields(current(client, headers, url)) == as_stored(body)


@API_SETTINGS
@given(case=one_field_broken())
@example(case=({**VALID, "comment": "a\x00b"}, "comment"))
@example(case=({**VALID, "amendment": SURROGATE}, "amendment"))
@example(case=({**VALID, "evidence_links": ["https://x.org/\x00"]}, "evidence_links"))
def test_input_with_a_broken_field_is_refused_naming_it_and_nothing_is_stored(api_draft, case):
    body, field = case
    client, headers, url = api_draft
    before = current(client, headers, url)
    refused = client.put(url, json=body, headers={**headers, "If-Match": f'"{before["version"]}"'})
    assert refused.status_code == 422, refused.get_json()
    error = refused.get_json()["error"]
    assert error["field"] == field
    assert set(error["fields"]) == {field}
    assert current(client, headers, url) == before
