"""The header's sections by role, the one a page belongs to, and each section's own pages."""

from __future__ import annotations

import re

import pytest

pytestmark = [pytest.mark.postgres]


def sections(html: str) -> list[str]:
    """The main navigation's links, in order, each with " *" when it is the current section."""
    nav = html[html.index('<ul class="govuk-service-navigation__list"') :]
    nav = nav[: nav.index("</ul>")]
    found = []
    for item in re.findall(
        r'<li class="govuk-service-navigation__item([^"]*)">(.*?)</li>', nav, re.S
    ):
        classes, inner = item
        text = re.sub(r"<[^>]+>", "", inner).strip()
        found.append(text + (" *" if "--active" in classes else ""))
    return found


def sub_pages(html: str) -> list[str]:
    if "moj-sub-navigation" not in html:
        return []
    nav = html[html.index('class="moj-sub-navigation') :]
    nav = nav[: nav.index("</nav>")]
    links = re.findall(
        r'<a class="moj-sub-navigation__link" href="[^"]+"( aria-current="page")?>([^<]+)</a>', nav
    )
    return [text + (" *" if current else "") for current, text in links]


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        (None, ["Consultations *", "Sign in"]),
        (
            "stakeholder@example.org",
            ["Consultations *", "Our feedback", "My organisation", "My account", "Sign out"],
        ),
        (
            "moderator@example.org",
            ["Consultations *", "Moderation", "My account", "Sign out"],
        ),
        (
            "council@example.org",
            ["Consultations *", "Audit log", "Reports", "My account", "Sign out"],
        ),
        (
            "admin@example.org",
            [
                "Consultations *",
                "Moderation",
                "Reports",
                "Administration",
                "My account",
                "Sign out",
            ],
        ),
    ],
)
def test_each_role_sees_its_sections_and_no_others(seeded, client, login, email, expected):
    if email:
        login(client, email)
    assert sections(client.get("/").get_data(as_text=True)) == expected


def test_moderation_pages_share_one_section_with_its_pages_below(seeded, client, login):
    login(client, "moderator@example.org")
    audit = client.get("/moderation/audit/").get_data(as_text=True)
    assert "Moderation *" in sections(audit)
    assert sub_pages(audit) == [
        "Submissions",
        "Organisations to verify",
        "Campaigns",
        "Audit log *",
    ]
    queue = client.get("/moderation/").get_data(as_text=True)
    assert sub_pages(queue)[0] == "Submissions *"


def test_council_reads_the_audit_log_as_its_own_section(seeded, client, login):
    login(client, "council@example.org")
    audit = client.get("/moderation/audit/").get_data(as_text=True)
    assert "Audit log *" in sections(audit)
    assert sub_pages(audit) == []  # the moderators' other pages are not theirs


def test_administration_pages_mark_the_page_open(seeded, client, login):
    login(client, "admin@example.org")
    users = client.get("/admin/users").get_data(as_text=True)
    assert "Administration *" in sections(users)
    assert sub_pages(users) == ["Consultations", "Users *", "Import organisations"]
    new = client.get("/admin/consultations/new").get_data(as_text=True)
    assert sub_pages(new)[0] == "Consultations *"


def test_the_header_collapses_behind_a_menu_button_on_small_screens(seeded, client, login):
    login(client, "admin@example.org")
    page = client.get("/").get_data(as_text=True)
    assert 'data-module="govuk-service-navigation"' in page
    assert "govuk-js-service-navigation-toggle" in page  # GOV.UK's script shows it on a phone
