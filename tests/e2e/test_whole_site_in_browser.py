"""Every page of the site, as every role that can open it, at a phone's width and a desktop's:
no page scrolls sideways, axe-core finds no serious or critical WCAG 2.1 AA violation, and no
page answers 5xx.

The pages come from the app's URL map (tests/helpers/site_pages.py): every GET rule is a page
visited here or is excluded there with its reason, so a new page cannot escape. Its arguments
are filled from the demo data, plus a compiled report, a published public version and a
campaign with a bulk decision made on top of it. A role "can open" a page when the page answers
as it should (200, or the error page a forged link gets) without sending that role elsewhere;
every page must open for at least one role.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page

from tests.helpers.browser import blocking_violations, sideways_scroll, sign_in
from tests.helpers.database import SEEDED
from tests.helpers.site_pages import (
    EXPECTED_STATUS,
    ROLES,
    SiteData,
    build_site_data,
    page_urls,
)
from tests.helpers.web import sign_in as sign_in_client
from tests.helpers.web import submit_form

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

WIDTHS = (390, 1280)
# Pages that show something only after a step in the same session: the step, as a form post.
BEFOREHAND = {"auth.check_email": ("/auth/forgot-password", {"email": "nobody@example.org"})}


@pytest.fixture(scope="module")
def site(app: Flask, session_database) -> Iterator[tuple[SiteData, dict[str, str], list[str]]]:
    """The demo data and the records made on top of it, once for the module: its tests only
    read pages (GET), so they share them instead of compiling the reports again for each."""
    session_database.reset(SEEDED)
    data = build_site_data(app)
    pages, unresolved = page_urls(app, data)
    yield data, pages, unresolved
    session_database.touched()  # the next module's tests start from a reset


@pytest.fixture(autouse=True)
def _isolated_database(site) -> None:
    """Replaces conftest's reset before each test: here every test starts from `site`'s
    data (the seeded data plus its records), which a reset would delete."""


def test_every_get_rule_is_a_page_that_some_role_opens_or_is_excluded(seeded, site):
    _, pages, unresolved = site
    assert not unresolved, (
        "GET rules neither visited nor excluded (add their arguments to "
        "tests/helpers/site_pages.py, or exclude them with a reason): " + ", ".join(unresolved)
    )
    opened: set[str] = set()
    for email in ROLES.values():
        client = seeded.test_client()
        if email:
            sign_in_client(client, email)
        for endpoint, path in pages.items():
            if endpoint in BEFOREHAND:
                step, fields = BEFOREHAND[endpoint]
                submit_form(client, step, **fields)
            status = client.get(path).status_code
            assert status < 500, f"{path} answered {status} to {email or 'anonymous'}"
            if status == EXPECTED_STATUS.get(endpoint, 200):
                opened.add(endpoint)
    assert set(pages) == opened, f"pages no role can open: {sorted(set(pages) - opened)}"


def test_the_checks_catch_a_sideways_scroll_and_a_serious_violation(browser):
    """What the whole-site test looks for, on a page made to have both."""
    page = browser.new_page(viewport={"width": 390, "height": 900})
    page.set_content(
        '<html lang="en"><title>Wide</title><body style="margin: 0"><main><h1>Wide</h1>'
        '<div style="width: 600px">wide</div><img src="x.png"></main></body></html>'
    )
    assert sideways_scroll(page) == 600 - 390
    assert any(found.startswith("image-alt (critical") for found in blocking_violations(page))
    page.set_content('<html lang="en"><title>Fine</title><main><h1>Fine</h1></main></html>')
    assert sideways_scroll(page) == 0
    assert blocking_violations(page) == []
    page.close()


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("role", list(ROLES))
def test_every_page_fits_the_width_and_passes_axe(role, width, site, live_server, browser):
    _, pages, _ = site
    page = signed_in_page(browser, live_server, ROLES[role], width)
    problems, opened = [], 0
    for endpoint, path in pages.items():
        if endpoint in BEFOREHAND:
            step, fields = BEFOREHAND[endpoint]
            post_form(page, live_server + step, fields)
        response = page.goto(live_server + path, wait_until="load")
        status = response.status if response else 0
        if status >= 500:
            problems.append(f"{path}: answered {status}")
            continue
        if status != EXPECTED_STATUS.get(endpoint, 200) or urlsplit(page.url).path != path:
            continue  # not this role's page: refused, or sent to another page
        opened += 1
        problems.extend(f"{path}: {problem}" for problem in page_problems(page, width))
    page.context.close()
    assert opened, f"{role} opened no page at all"
    assert not problems, (
        f"{len(problems)} problems on the {opened} pages {role} opens at {width} px:\n"
        + "\n".join(problems)
    )


def signed_in_page(browser: Browser, base: str, email: str | None, width: int) -> Page:
    """A new context for one role and width, signed in once (at desktop width, where the
    header shows who is signed in), then narrowed to `width`."""
    context = browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    if email:
        sign_in(page, base, email)
    page.set_viewport_size({"width": width, "height": 900})
    return page


def post_form(page: Page, url: str, fields: dict[str, str]) -> None:
    page.goto(url)
    if page.url != url:
        return  # not offered to this role: the page that needs it will send the role away
    for name, value in fields.items():
        page.locator(f"form [name='{name}']").fill(value)
    page.locator("form button[type='submit'], form input[type='submit']").last.click()
    page.wait_for_load_state("load")


def page_problems(page: Page, width: int) -> list[str]:
    problems = []
    overflow = sideways_scroll(page)
    if overflow:
        problems.append(f"scrolls sideways by {overflow} px at {width} px")
    problems.extend(f"axe {violation}" for violation in blocking_violations(page))
    return problems
