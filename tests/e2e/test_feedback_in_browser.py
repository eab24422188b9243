"""An organisation's position from draft to revision, co-signing and withdrawal: en, es, fr.

A member drafts (and loses nothing when the session expires), the lead attaches a file, signs
off and submits, gets an emailed receipt, revises, invites another organisation to co-sign,
whose lead accepts, and finally withdraws. Every page on the way is checked with axe-core.
"""

from __future__ import annotations

import re

import pytest
from flask_babel import force_locale
from flask_babel import gettext as _
from playwright.sync_api import BrowserContext, Page, expect
from sqlalchemy import select

from app.accounts.services import create_user
from app.extensions import db
from app.models import Organization
from tests.helpers.browser import assert_accessible
from tests.helpers.files import pdf_bytes
from tests.helpers.web import DEMO_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.redis, pytest.mark.worker]

SLUG = "leaders-summit-2021-migration"
FORM = f"/c/{SLUG}/items/P1/feedback"
PARTNER = "Central American Workers' Rights Centre"
TEXT = {
    "en": ("Shared responsibility needs funding for local shelters.", "and for legal aid"),
    "es": ("La responsabilidad compartida necesita fondos para albergues locales.", "y asesoría"),
    "fr": ("La responsabilité partagée exige des fonds pour les refuges locaux.", "et l'aide"),
}


def in_language(app, lang: str, message: str, **values: object) -> str:
    """`message` as the app says it in `lang`; a missing translation fails the test."""
    with app.test_request_context(), force_locale(lang):
        text = _(message, **values)
    with app.test_request_context(), force_locale("en"):
        assert lang == "en" or text != _(message, **values), f"untranslated in {lang}: {message}"
    return text


def person(browser, base: str, email: str, lang: str) -> tuple[BrowserContext, Page]:
    """A browser of its own, signed in, whose account speaks `lang` (set on the account page:
    the language switch changes only the visit's pages)."""
    context = browser.new_context(locale="en-GB", timezone_id="America/Mexico_City")
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, base, email)
    page.goto(f"{base}/account/")
    page.locator("#locale").select_option(lang)
    page.locator("#submit").click()
    expect(page.locator("html")).to_have_attribute("lang", lang)
    return context, page


def sign_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/auth/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(DEMO_PASSWORD)
    page.locator("main form [type=submit]").click()
    expect(page.locator("form[data-sign-out] button")).to_be_visible()


def flash(page: Page, text: str):  # noqa: ANN201
    return page.locator(".flash").filter(has_text=text)


@pytest.fixture
def partner_lead(seeded) -> str:
    """The lead of another verified organisation, with a password the test knows."""
    with seeded.app_context():
        partner = db.session.scalar(select(Organization).where(Organization.name == PARTNER))
        create_user(
            "partner-lead@example.net",
            "Pat Partner",
            DEMO_PASSWORD,
            organization=partner,
            is_lead=True,
        )
        db.session.commit()
    return "partner-lead@example.net"


@pytest.mark.parametrize("lang", ["en", "es", "fr"])
def test_an_organisation_takes_a_position_in_each_language(
    lang, seeded, live_server, browser, mail_catcher, celery_worker, partner_lead
):
    base, (first, more) = live_server, TEXT[lang]
    say = lambda message, **values: in_language(seeded, lang, message, **values)  # noqa: E731

    # A member drafts; only the lead may submit.
    member_context, member = person(browser, base, "stakeholder@example.org", lang)
    member.goto(f"{base}/organisation/feedback")
    expect(member.locator("h1")).to_contain_text("Northern Corridor")
    assert_accessible(member)
    member.clock.install()  # the form's background save runs on the page's own clock
    member.locator(f"table.app-board a[href$='{FORM}']").click()
    expect(member.locator("h1")).to_contain_text("P1")
    assert_accessible(member)
    expect(member.locator("#submit")).to_have_count(0)
    member.locator("input[name=stance][value=support_with_amendments]").check()
    member.locator("#comment").fill(first)
    # Without pressing anything, the draft is saved in the background within 15 seconds.
    member.clock.run_for(16_000)
    autosaved = say("Draft saved automatically at %(time)s.", time="{time}").split("{time}")[0]
    expect(member.locator("#autosave-status")).to_contain_text(autosaved.strip())
    # The time names its zone, as every other time on the site does ("01:37 PM CST", "GMT-6").
    zoned = re.compile(r"\d\d:\d\d.*(?:\b[A-Z]{3,4}\b|GMT[+-]\d+|UTC)")
    expect(member.locator("#autosave-status")).to_contain_text(zoned)
    member.reload()
    expect(member.locator("#comment")).to_have_value(first)
    member.locator("#comment").fill(f"{first} ")
    member.locator("#save").click()
    expect(flash(member, say("Draft saved."))).to_be_visible()

    # The session expires while the member types: the text comes back with a message...
    member.locator("#comment").fill(f"{first} {more}")
    member_context.clear_cookies()
    member.locator("#save").click()
    expect(member.locator("#comment")).to_have_value(f"{first} {more}")
    expect(member.locator(".flash-error")).to_be_visible()
    # ...and after signing in again the browser offers what the server never received.
    sign_in(member, base, "stakeholder@example.org")
    member.goto(base + FORM)
    expect(member.locator("#comment")).to_have_value(first)
    member.get_by_role("button", name=say("Put that text back in the form")).click()
    expect(member.locator("#comment")).to_have_value(f"{first} {more}")
    member.locator("#save").click()
    expect(flash(member, say("Draft saved."))).to_be_visible()
    # Signing out leaves nothing of the text in this browser for the next person.
    member.locator("#comment").fill("Unsaved words on a shared computer")
    member.locator("form[data-sign-out] button").click()
    kept = member.evaluate(
        "Object.keys(localStorage).filter(k => k.startsWith('consulta-draft:')).length"
    )
    assert kept == 0
    member_context.close()

    # The lead attaches evidence, signs off and submits; a receipt arrives by email.
    lead_context, lead = person(browser, base, "lead@example.org", lang)
    lead.goto(base + FORM)
    expect(lead.locator("#comment")).to_have_value(f"{first} {more}")
    lead.locator("#attachment").set_input_files(
        files=[{"name": "evidence.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes()}]
    )
    lead.locator("#attachments button[formaction$='/feedback/attachments']").click()
    expect(lead.locator("#attachments a[download]")).to_have_text("evidence.pdf")
    lead.locator("input[name=priority][value='4']").check()
    lead.locator("#amendment").fill("Shelters shall be funded for three years.")
    lead.locator("#submit").click()
    confirmation = lead.locator(".flash-success")
    expect(confirmation).to_contain_text(re.compile(r"FB-[0-9A-F]{16}"))
    reference = re.search(r"FB-[0-9A-F]{16}", confirmation.inner_text())[0]
    receipt = mail_catcher.wait_for(
        "lead@example.org", say("Receipt for your organisation's feedback on Consulta")
    )
    assert reference in receipt.get_content()

    # A change after submission is a new revision, with who and what changed.
    lead.goto(base + FORM)
    lead.locator("#comment").fill(f"{first} {more} (2)")
    lead.locator("#submit").click()
    lead.goto(f"{base}{FORM}/revisions")
    expect(lead.locator("section.app-revision")).to_have_count(2)
    expect(lead.locator("section.app-revision").first.locator("ins")).to_contain_text("(2)")
    expect(lead.locator("section.app-revision").first).to_contain_text("Lee Lead")
    assert_accessible(lead)

    # The lead invites another organisation to co-sign; its lead accepts.
    lead.goto(base + FORM)
    lead.locator("#cosigner-organization").select_option(label=PARTNER)
    lead.locator(".app-cosigners form [type=submit]").last.click()
    expect(lead.locator(".app-cosigners table")).to_contain_text(PARTNER)
    assert_accessible(lead)

    partner_context, partner = person(browser, base, partner_lead, lang)
    partner.goto(f"{base}/organisation/feedback")
    expect(partner.locator("#cosign-requests-title")).to_be_visible()
    assert_accessible(partner)
    partner.goto(f"{base}/organisation/cosigning")
    assert_accessible(partner)
    partner.locator("form[action$='/accept'] button").click()
    partner.goto(base + FORM)
    expect(partner.locator(".app-cosigned-notice")).to_be_visible()
    expect(partner.locator("#submit")).to_have_count(0)
    partner_context.close()

    # Until the window closes, the lead can withdraw the position.
    lead.goto(base + FORM)
    lead.locator("form.app-withdraw [type=submit]").click()
    expect(flash(lead, say("Your organisation's position was withdrawn."))).to_be_visible()
    lead.goto(f"{base}/organisation/feedback")
    row = lead.locator("table.app-board tr").filter(has=lead.locator(f"a[href$='{FORM}']"))
    expect(row).to_contain_text(say("Withdrawn"))
    assert_accessible(lead)
    lead_context.close()
