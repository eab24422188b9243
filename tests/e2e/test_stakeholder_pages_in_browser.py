"""The stakeholder's pages in Chromium: the whole feedback form filled and submitted from the
keyboard alone, a file attached without losing what was typed, and every page fitting a phone
and a desktop without scrolling sideways, with no accessibility violation."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.helpers.browser import assert_accessible, sign_in
from tests.helpers.feedback import FORM, LEAD, MEMBER
from tests.helpers.files import pdf_bytes

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

REVISIONS = f"{FORM}/revisions"


def tab_to(page: Page, name: str, *, value: str | None = None, limit: int = 80) -> None:
    """Press Tab until the focus is on the control named `name` (and `value`), as a keyboard
    user would; fail if it is never reached."""
    wanted = f"el.name === {name!r}" + (f" && el.value === {value!r}" if value else "")
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(
            f"() => {{ const el = document.activeElement; return !!el && {wanted}; }}"
        ):
            return
    raise AssertionError(f"Tab never reached {name} {value or ''}")


def test_the_whole_form_is_filled_and_submitted_from_the_keyboard(live_server, page):
    sign_in(page, live_server, LEAD)
    page.goto(live_server + FORM)

    # Stance: arrow keys move the choice; "support with amendments" reveals the wording box.
    tab_to(page, "stance")
    page.keyboard.press("ArrowDown")
    expect(page.get_by_label("Support with amendments")).to_be_checked()
    expect(page.locator("#amendment")).to_be_visible()
    tab_to(page, "amendment")
    page.keyboard.type("Replace 'should' with 'shall' in the second sentence.")

    # Priority: five radios; Space chooses the first, arrows move on to "4 – high".
    tab_to(page, "priority")
    page.keyboard.press("Space")
    for _ in range(3):
        page.keyboard.press("ArrowDown")
    expect(page.get_by_label("4 – high")).to_be_checked()

    # Checkboxes: Space ticks the one in focus.
    tab_to(page, "affected_populations")
    page.keyboard.press("Space")
    expect(page.locator("input[name=affected_populations]").first).to_be_checked()
    tab_to(page, "countries", value="MX")
    page.keyboard.press("Space")
    tab_to(page, "countries", value="SV")
    page.keyboard.press("Space")
    expect(page.locator("input[name=countries][value=MX]")).to_be_checked()
    expect(page.locator("input[name=countries][value=SV]")).to_be_checked()

    tab_to(page, "comment")
    page.keyboard.type("Regional shelters need predictable funding.")
    expect(page.get_by_text("You have 19,957 characters remaining")).to_be_visible()

    # Back with Shift+Tab to check the focus order runs both ways, then on to the button.
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("() => document.activeElement.name") == "countries"
    tab_to(page, "submit")
    page.keyboard.press("Enter")

    banner = page.locator(".govuk-notification-banner--success")
    expect(banner).to_contain_text("Thank you. Your feedback was submitted with reference")
    page.goto(live_server + FORM)
    state = page.locator(".app-position-summary [data-state=submitted]")
    expect(state).to_have_text("Submitted, awaiting review")
    expect(page.locator("#amendment")).to_have_value(
        "Replace 'should' with 'shall' in the second sentence."
    )
    expect(page.get_by_label("4 – high")).to_be_checked()


def test_attaching_a_file_keeps_what_was_typed(live_server, page, tmp_path):
    sign_in(page, live_server, MEMBER)
    page.goto(live_server + FORM)
    typed = "Typed just before attaching a file, never saved."
    page.locator("#comment").fill(typed)
    page.get_by_label("3 – medium").check()
    key = page.locator("#feedback-form").get_attribute("data-backup-key")
    # The browser keeps its copy of the unsaved text while it is typed.
    assert typed in page.evaluate("key => localStorage.getItem(key)", key)

    brief = tmp_path / "brief.pdf"
    brief.write_bytes(pdf_bytes())
    page.locator("#attachment").set_input_files(str(brief))
    page.get_by_role("button", name="Attach file").click()

    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(
        "“brief.pdf” is attached."
    )
    expect(page.locator("#comment")).to_have_value(typed)
    expect(page.get_by_label("3 – medium")).to_be_checked()
    expect(page.get_by_role("link", name="brief.pdf")).to_be_visible()
    # Saved as the draft, so the copy in the browser has done its job and is dropped.
    page.wait_for_function("key => localStorage.getItem(key) === null", arg=key)
    page.reload()
    expect(page.locator("#comment")).to_have_value(typed)
    assert_accessible(page)


@pytest.mark.parametrize("width", [390, 1280])
def test_the_stakeholder_pages_fit_the_screen_and_are_accessible(live_server, page, width):
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, live_server, LEAD)
    page.goto(live_server + FORM)
    page.get_by_label("Support", exact=True).check()
    page.get_by_label("2 – fairly low").check()
    page.locator("#comment").fill("A position with a history, " * 20)
    page.get_by_role("button", name="Submit feedback").click()
    expect(page.locator(".govuk-notification-banner--success")).to_be_visible()

    for path in (
        FORM,
        REVISIONS,
        "/organisation/feedback",
        "/organisation/",
        "/organisation/cosigning",
    ):
        page.goto(live_server + path)
        expect(page.locator("h1")).to_be_visible()
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at {width}px"
        if path == "/organisation/feedback":  # each item's action is in reach, unscrolled
            link = page.locator(f"a[href$='{FORM}']").first
            box = link.bounding_box()
            assert box and box["x"] + box["width"] <= width, box
        assert_accessible(page)
