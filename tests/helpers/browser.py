"""Driving Chromium through Playwright: signing in, and axe-core's WCAG 2.1 AA check."""

from __future__ import annotations

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.helpers.web import DEMO_PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WCAG_AA = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
}


def assert_accessible(page: Page) -> None:
    results = Axe().run(page, options=WCAG_AA)
    assert results.violations_count == 0, results.generate_report()


def sign_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/auth/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Signed in as")).to_be_visible()


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()


# --- the whole-site checks (tests/e2e/test_whole_site_in_browser.py) -----------------------

BLOCKING_IMPACTS = ("serious", "critical")


def blocking_violations(page: Page) -> list[str]:
    """axe-core's WCAG 2.1 AA violations of serious or critical impact on the page, as
    "rule-id (impact, n nodes: first selector)"."""
    results = Axe().run(page, options=WCAG_AA)
    found = []
    for violation in results.response["violations"]:
        if violation.get("impact") not in BLOCKING_IMPACTS:
            continue
        nodes = violation.get("nodes", [])
        first = nodes[0]["target"][0] if nodes and nodes[0].get("target") else "?"
        found.append(f"{violation['id']} ({violation['impact']}, {len(nodes)} nodes: {first})")
    return found


def sideways_scroll(page: Page) -> int:
    """How many pixels wider than the window the page is (0 when it does not scroll sideways)."""
    return page.evaluate("Math.max(0, document.documentElement.scrollWidth - window.innerWidth)")
