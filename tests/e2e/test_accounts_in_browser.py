"""A person registers, confirms, is verified, invites a colleague and signs in: en, es, fr."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.helpers.browser import assert_accessible, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.redis, pytest.mark.worker]

PASSWORD = "tres tristes tigres comen trigo"
# What each language must show, so a test fails when a page falls back to English.
WORDS = {
    "en": {"check": "Check your email", "verified": "Verified", "register": "Create an account"},
    "es": {"check": "Revise su correo", "verified": "Verificada", "register": "Crear una cuenta"},
    "fr": {"check": "Consultez vos e-mails", "verified": "Vérifiée", "register": "Créer un compte"},
}


def submit(page: Page) -> None:
    page.locator("main form[method=post]:not([action]) [type=submit]").click()


@pytest.mark.parametrize("lang", ["en", "es", "fr"])
def test_register_confirm_verify_invite_and_sign_in(
    lang, live_server, browser, mail_catcher, celery_worker
):
    base = live_server
    words = WORDS[lang]
    lead_email = f"{lang}-lead@example.net"
    colleague_email = f"{lang}-colleague@example.net"
    organization = f"Colectivo de prueba {lang.upper()}"

    lead_context = browser.new_context(locale=lang)
    lead = lead_context.new_page()
    lead.set_default_timeout(15_000)
    lead.goto(f"{base}/auth/register")
    expect(lead.locator("h1")).to_have_text(words["register"])
    assert lead.evaluate("document.documentElement.lang") == lang
    assert_accessible(lead)
    lead.locator("#name").fill("Ana Pérez")
    lead.locator("#email").fill(lead_email)
    lead.locator("#password").fill(PASSWORD)
    lead.locator("#locale").select_option(lang)
    lead.locator("#organization_name").fill(organization)
    lead.locator("#organization_type").select_option("migrant_led")
    # The country is found by typing its name (accessible-autocomplete over the select).
    lead.locator("#organization_country").fill("Hond")
    lead.get_by_role("option", name="Honduras").click()
    assert lead.locator("#organization_country-select").input_value() == "HN"
    submit(lead)
    expect(lead.locator("h1")).to_have_text(words["check"])

    confirmation = mail_catcher.wait_for(lead_email)
    lead.goto(base + mail_catcher.link_in(confirmation))
    expect(lead.locator("#email")).to_be_visible()  # back on the sign-in page

    moderator_context = browser.new_context(locale="en")
    moderator = moderator_context.new_page()
    sign_in(moderator, base, "moderator@example.org")
    moderator.goto(f"{base}/moderation/organisations")
    moderator.get_by_role("button", name=f"Verify {organization}").click()
    expect(moderator.get_by_role("button", name=f"Verify {organization}")).to_have_count(0)
    moderator_context.close()

    lead.locator("#email").fill(lead_email)
    lead.locator("#password").fill(PASSWORD)
    submit(lead)
    lead.goto(f"{base}/organisation/")
    expect(lead.get_by_text(words["verified"], exact=True)).to_be_visible()
    assert_accessible(lead)
    lead.locator("#email").fill(colleague_email)
    lead.locator("form[action$='/organisation/invitations'] [type=submit]").click()
    expect(lead.get_by_text(colleague_email).first).to_be_visible()
    lead_context.close()

    invitation = mail_catcher.wait_for(colleague_email)
    colleague_context = browser.new_context(locale=lang)
    colleague = colleague_context.new_page()
    colleague.set_default_timeout(15_000)
    colleague.goto(base + mail_catcher.link_in(invitation))
    expect(colleague.locator("#email")).to_have_value(colleague_email)
    assert_accessible(colleague)
    colleague.locator("#name").fill("Luis Gómez")
    colleague.locator("#password").fill(PASSWORD + " dos")
    submit(colleague)
    colleague.locator("#email").fill(colleague_email)
    colleague.locator("#password").fill(PASSWORD + " dos")
    submit(colleague)
    colleague.goto(f"{base}/organisation/")
    expect(colleague.locator("h1")).to_have_text(organization)
    expect(colleague.get_by_text("Ana Pérez")).to_be_visible()
    colleague_context.close()


def test_registration_shows_only_the_fields_of_the_organisation_choice(live_server, page):
    page.goto(live_server + "/auth/register")
    # A new organisation is the default: its fields are shown, the list of existing ones not.
    expect(page.locator("#organization_name")).to_be_visible()
    expect(page.locator("#join_organization_id")).to_be_hidden()
    page.get_by_label("Ask to join an organisation already on Consulta").check()
    expect(page.locator("#join_organization_id")).to_be_visible()
    expect(page.locator("#organization_name")).to_be_hidden()
    assert_accessible(page)
