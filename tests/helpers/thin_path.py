"""The thin path through the mission, driven over HTTP; shared by the PostgreSQL and SQLite runs."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from tests.helpers.waiting import wait_for
from tests.helpers.web import csrf_token, submit_form

SLUG = "leaders-summit-2021-migration"
ITEM = f"/c/{SLUG}/items/P1"
COMMENT = "A regional compact should include migrant-led organisations from the start."


def run_thin_path(make_client, login) -> dict:  # noqa: ANN001
    """The lead submits, moderator publishes, public sees it, council's report compiles."""
    stakeholder: FlaskClient = make_client()
    login(stakeholder, "lead@example.org")
    pledge = stakeholder.get(ITEM).get_data(as_text=True)
    assert "Regional compact" in pledge
    response = submit_form(
        stakeholder,
        f"{ITEM}/feedback",
        stance="support",
        priority="5",
        comment=COMMENT,
        submit="Submit feedback",
    )
    assert response.status_code == 302
    assert "Submitted, awaiting review" in stakeholder.get(ITEM).get_data(as_text=True)

    moderator = make_client()
    login(moderator, "moderator@example.org")
    queue = moderator.get("/moderation/").get_data(as_text=True)
    assert COMMENT in queue
    # The entry that holds the comment; it is decided on its review page, which shows any
    # flag (a flagged submission has no decision buttons in the list).
    before_comment = queue[: queue.index(COMMENT)]
    feedback_id = re.findall(r'aria-labelledby="entry-(\d+)"', before_comment)[-1]
    review = f"/moderation/feedback/{feedback_id}"
    response = submit_form(moderator, review, f"/moderation/{feedback_id}/publish")
    assert response.status_code == 302
    assert COMMENT not in moderator.get("/moderation/").get_data(as_text=True)

    visitor = make_client()
    public = visitor.get(ITEM).get_data(as_text=True)
    assert COMMENT in public
    assert "Northern Corridor Migrant Support Network" in public
    assert re.search(r'data-stance="support">1<', public)
    assert re.search(r'data-priority="5">1<', public)

    council = make_client()
    login(council, "council@example.org")
    item_page = council.get(ITEM).get_data(as_text=True)
    item_id = re.search(r"/reports/items/(\d+)", item_page).group(1)
    response = council.post(f"/reports/items/{item_id}", data={"csrf_token": csrf_token(item_page)})
    assert response.status_code == 302
    report_url = response.headers["Location"]
    first_view = council.get(report_url).get_data(as_text=True)
    # Either still compiling (progress bar shown) or already done when the worker was quick.
    assert "<progress" in first_view or 'data-stance="support"' in first_view

    status = wait_for(
        lambda: (s := council.get(f"{report_url}/status").get_json())["status"] == "done" and s,
        timeout=60,
    )
    assert status["percent"] == 100
    report_page = council.get(report_url).get_data(as_text=True)
    assert re.search(r'data-stance="support">1<', report_page)
    assert re.search(r'data-priority="5">1<', report_page)

    # Asking again for the same snapshot returns the same report. (The first may be followed
    # by a new one: the submission's automatic flags, written meanwhile, change the snapshot.)
    token = {"csrf_token": csrf_token(item_page)}
    again = council.post(f"/reports/items/{item_id}", data=token).headers["Location"]
    assert council.post(f"/reports/items/{item_id}", data=token).headers["Location"] == again
    return {"report_url": report_url, "feedback_id": int(feedback_id)}
