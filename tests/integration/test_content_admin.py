"""Admins manage consultations and items: translations, windows, versions, all audited."""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Consultation, Feedback, Item, ItemVersion

ADMIN = "admin@example.org"
LIST = "/admin/consultations"
NEW = "/admin/consultations/new"
SLUG = "leaders-summit-2021-migration"
EDIT = f"/admin/consultations/{SLUG}/edit"


class FormReader(HTMLParser):
    """The values a browser would send back from the form that posts back to the page."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self._in_form = False
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        # The page's own form posts back to the page (the header's forms have an action).
        if tag == "form" and attrs.get("method") == "post" and "action" not in attrs:
            self._in_form = True
        if not self._in_form:
            return
        if tag == "input" and attrs.get("name"):
            self.values[attrs["name"]] = attrs.get("value") or ""
        elif tag == "textarea":
            self._textarea = attrs["name"]
            self.values[self._textarea] = ""
        elif tag == "select":
            self._select = attrs["name"]
        elif tag == "option" and self._select and "selected" in attrs:
            self.values[self._select] = attrs.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form":
            self._in_form = False
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data):
        if self._textarea:
            self.values[self._textarea] += data


def form_values(html: str) -> dict[str, str]:
    reader = FormReader()
    reader.feed(html)
    # A textarea's first newline is not part of its value.
    return {key: unescape(value).removeprefix("\n") for key, value in reader.values.items()}


def edit(client, page: str, **changes: str):
    """Load the form, change some fields, send everything back, as a browser would."""
    values = form_values(client.get(page).get_data(as_text=True))
    return client.post(page, data={**values, **changes})


def new_consultation_fields(client, **overrides: str) -> dict[str, str]:
    values = form_values(client.get(NEW).get_data(as_text=True))
    return {
        **values,
        "slug": "caribbean-mobility-2027",
        "title_en": "Caribbean labour mobility",
        "title_es": "Movilidad laboral en el Caribe",
        "summary_en": "How should seasonal work schemes protect workers?",
        "opens_at": "2027-01-10T09:00",
        "closes_at": "2027-03-10T17:00",
        "state_override": "",
        **overrides,
    }


def events(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        found = list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))
        db.session.expunge_all()
        return found


def consultation(app, slug: str) -> Consultation | None:
    with app.app_context():
        found = db.session.scalar(select(Consultation).where(Consultation.slug == slug))
        db.session.expunge_all()
        return found


@pytest.fixture
def admin(seeded, client, login):
    login(client, ADMIN)
    return client


def test_the_list_shows_every_consultation_with_its_window_and_links(seeded, admin):
    body = admin.get(LIST).get_data(as_text=True)
    assert "North American Leaders" in body and "Task Force" in body
    assert f"/admin/consultations/{SLUG}/edit" in body
    assert f"/admin/consultations/{SLUG}/invitations" in body
    assert 'href="/admin/consultations"' in admin.get("/").get_data(as_text=True)  # in the nav


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"title_en": ""}, "title_en", "This field is required"),
        ({"slug": "Not A Slug!"}, "slug", "lower-case letters"),
        ({"slug": SLUG}, "slug", "already uses this address"),
        ({"closes_at": "2027-01-01T00:00"}, "closes_at", "close after it opens"),
        ({"opens_at": "next tuesday"}, "opens_at", "Not a valid datetime"),
    ],
)
def test_bad_consultation_input_is_refused_with_the_typed_text_kept(
    seeded, admin, overrides, field, message
):
    response = admin.post(NEW, data=new_consultation_fields(admin, **overrides))
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in body
    [tag] = re.findall(rf'<input[^>]*\bid="{field}"[^>]*>', body)
    assert 'aria-invalid="true"' in tag  # the field at fault is marked for screen readers
    assert "Movilidad laboral en el Caribe" in body  # nothing typed is lost
    assert consultation(seeded, "caribbean-mobility-2027") is None
    assert consultation(seeded, "not-a-slug") is None


def test_an_admin_creates_a_consultation_in_three_languages_and_it_is_audited(seeded, admin):
    response = admin.post(NEW, data=new_consultation_fields(admin))
    assert response.status_code == 302
    created = consultation(seeded, "caribbean-mobility-2027")
    assert created.title == {
        "en": "Caribbean labour mobility",
        "es": "Movilidad laboral en el Caribe",
    }
    assert created.opens_at.isoformat() == "2027-01-10T09:00:00+00:00"
    assert created.state_override is None
    [event] = events(seeded, "consultation.create")
    assert event.target_id == created.id and event.after["title_es"] == created.title["es"]
    assert event.actor_id is not None and event.request_id
    # Visitors see it in their language, French falling back to English.
    visitor = seeded.test_client()
    spanish = visitor.get("/c/caribbean-mobility-2027", headers={"Accept-Language": "es"})
    assert "Movilidad laboral en el Caribe" in spanish.get_data(as_text=True)
    french = visitor.get("/c/caribbean-mobility-2027", headers={"Accept-Language": "fr"})
    assert "Caribbean labour mobility" in french.get_data(as_text=True)


def test_editing_the_window_and_a_translation_records_only_what_changed(seeded, admin):
    before = consultation(seeded, SLUG)
    response = edit(
        admin, EDIT, closes_at="2027-06-30T18:00", title_fr="Sommet 2021 : la migration"
    )
    assert response.status_code == 302
    after = consultation(seeded, SLUG)
    assert after.closes_at.isoformat() == "2027-06-30T18:00:00+00:00"
    assert after.title["fr"] == "Sommet 2021 : la migration"
    assert after.title["en"] == before.title["en"] and after.summary == before.summary
    [event] = events(seeded, "consultation.update")
    assert set(event.after) == {"closes_at", "title_fr"}
    assert event.before["title_fr"] == before.title["fr"]
    # Saving again unchanged records nothing.
    assert edit(admin, EDIT).status_code == 302
    assert len(events(seeded, "consultation.update")) == 1


def test_an_admin_can_close_a_consultation_early(seeded, admin, client):
    assert edit(admin, EDIT, state_override="closed").status_code == 302
    page = seeded.test_client().get(f"/c/{SLUG}").get_data(as_text=True)
    assert "Closed" in page
    assert "set by an admin" in admin.get(LIST).get_data(as_text=True)


def test_two_admins_editing_at_once_never_overwrite_each_other(seeded, admin, login):
    other = seeded.test_client()
    login(other, ADMIN)
    stale = form_values(other.get(EDIT).get_data(as_text=True))
    assert edit(admin, EDIT, title_es="Título de la primera").status_code == 302
    response = other.post(EDIT, data={**stale, "title_es": "Título de la segunda"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Another admin changed this consultation" in body
    assert "Título de la segunda" in body  # kept in the form
    assert consultation(seeded, SLUG).title["es"] == "Título de la primera"
    # Saving the re-rendered form is a deliberate choice, and goes through.
    assert other.post(EDIT, data=form_values(body)).status_code == 302
    assert consultation(seeded, SLUG).title["es"] == "Título de la segunda"


# --- items -----------------------------------------------------------------------------------


def item_of(app, code: str) -> tuple[Item, list[ItemVersion]]:
    with app.app_context():
        item = db.session.scalar(
            select(Item).join(Consultation).where(Consultation.slug == SLUG, Item.code == code)
        )
        versions = list(item.versions)
        db.session.expunge_all()
        return item, versions


def new_item_fields(client, **overrides: str) -> dict[str, str]:
    page = f"/admin/consultations/{SLUG}/items/new"
    values = form_values(client.get(page).get_data(as_text=True))
    return {
        **values,
        "code": "P7",
        "kind": "pledge",
        "title_en": "Follow-up reporting",
        "title_fr": "Suivi public",
        "body_en": "Governments report **every year** on progress.",
        "source_en": "Council working paper",
        **overrides,
    }


def test_an_admin_adds_an_item_that_visitors_then_see(seeded, admin):
    page = f"/admin/consultations/{SLUG}/items/new"
    assert form_values(admin.get(page).get_data(as_text=True))["position"] == "7"
    assert admin.post(page, data=new_item_fields(admin)).status_code == 302
    item, [version] = item_of(seeded, "P7")
    assert item.position == 7 and item.current_version == 1
    assert version.title == {"en": "Follow-up reporting", "fr": "Suivi public"}
    public = seeded.test_client().get(f"/c/{SLUG}/items/P7").get_data(as_text=True)
    assert "<strong>every year</strong>" in public
    assert [e.target_id for e in events(seeded, "item.create")] == [item.id]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"code": "P1"}, "Another item of this consultation has this code."),
        ({"code": "P 7!"}, "Use up to 20 letters"),
        ({"body_en": ""}, "This field is required"),
        ({"position": "first"}, "Not a valid integer value"),
    ],
)
def test_bad_item_input_is_refused_with_the_typed_text_kept(seeded, admin, overrides, message):
    page = f"/admin/consultations/{SLUG}/items/new"
    response = admin.post(page, data=new_item_fields(admin, **overrides))
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and message in body
    assert "Suivi public" in body
    assert item_of(seeded, "P1")[0].current_version == 1


def test_a_text_change_publishes_a_new_version_and_feedback_keeps_its_own(seeded, admin):
    item, _versions = item_of(seeded, "P1")
    page = f"/admin/items/{item.id}/edit"
    with seeded.app_context():
        answered = db.session.scalars(
            select(Feedback.item_version_id)
            .where(Feedback.item_id == item.id)
            .order_by(Feedback.id)
        ).all()
    refused = edit(admin, page, body_en="A shorter text.", change_note="")
    assert refused.status_code == 422 and "Say what changed" in refused.get_data(as_text=True)
    assert "A shorter text." in refused.get_data(as_text=True)
    assert item_of(seeded, "P1")[0].current_version == 1

    assert edit(admin, page, body_en="A shorter text.", change_note="Shortened").status_code == 302
    item, versions = item_of(seeded, "P1")
    assert item.current_version == 2 and [v.number for v in versions] == [1, 2]
    assert versions[1].body["en"] == "A shorter text." and versions[1].change_note == "Shortened"
    assert versions[1].body["es"] == versions[0].body["es"]  # other languages carried over
    [event] = events(seeded, "item.new_version")
    assert event.after == {"version": "2", "note": "Shortened"}
    with seeded.app_context():
        still = db.session.scalars(
            select(Feedback.item_version_id)
            .where(Feedback.item_id == item.id)
            .order_by(Feedback.id)
        ).all()
    assert still == answered and answered  # feedback stays on the version it answered
    assert versions[1].id not in still
    history = seeded.test_client().get(f"/c/{SLUG}/items/P1/versions/2").get_data(as_text=True)
    assert "Shortened" in history


def test_a_change_without_new_text_adds_no_version(seeded, admin):
    item, _versions = item_of(seeded, "P2")
    assert edit(admin, f"/admin/items/{item.id}/edit", kind="recommendation").status_code == 302
    item, versions = item_of(seeded, "P2")
    assert item.kind.value == "recommendation" and len(versions) == 1
    [event] = events(seeded, "item.update")
    assert event.before == {"kind": "pledge"} and event.after == {"kind": "recommendation"}
    assert events(seeded, "item.new_version") == []


def test_a_stale_item_form_is_a_conflict_not_an_overwrite(seeded, admin, login):
    item, _versions = item_of(seeded, "P3")
    page = f"/admin/items/{item.id}/edit"
    other = seeded.test_client()
    login(other, ADMIN)
    stale = form_values(other.get(page).get_data(as_text=True))
    assert edit(admin, page, title_en="First admin's title", change_note="A").status_code == 302
    response = other.post(
        page, data={**stale, "title_en": "Second admin's title", "change_note": "B"}
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "published version 2" in body
    assert "Second admin&#39;s title" in body
    item, versions = item_of(seeded, "P3")
    assert item.current_version == 2 and versions[-1].title["en"] == "First admin's title"


def test_unsafe_markdown_never_reaches_visitors(seeded, admin):
    item, _versions = item_of(seeded, "P4")
    body = "Fine text.\n\n<script>alert(1)</script><img src=x onerror=alert(1)>"
    assert (
        edit(admin, f"/admin/items/{item.id}/edit", body_en=body, change_note="x").status_code
        == 302
    )
    page = seeded.test_client().get(f"/c/{SLUG}/items/P4").get_data(as_text=True)
    assert "Fine text." in page
    assert "<script>alert(1)" not in page and "onerror" not in page


# --- limited texts: counted as they are typed, refused with a message, never cut -------------


def text_without_addresses(html: str) -> str:
    """What a reader sees of the page: the markup without its links' and forms' addresses
    and without hidden inputs."""
    html = re.sub(r'<input type="hidden"[^>]*>', "", html)
    return re.sub(r'\s(?:href|action|data-[\w-]+)="[^"]*"', "", html)


def test_limited_texts_are_counted_and_never_cut(seeded, admin):
    consultation_form = admin.get(NEW).get_data(as_text=True)
    for locale in ("en", "es", "fr"):
        assert re.search(
            r'<div class="govuk-form-group govuk-character-count"[^>]*'
            rf'data-module="govuk-character-count" data-maxlength="20000"[^>]*>\s*'
            rf'<label[^>]*for="summary_{locale}"',
            consultation_form,
        )
    item_form = admin.get(f"/admin/consultations/{SLUG}/items/new").get_data(as_text=True)
    assert item_form.count('data-maxlength="50000"') == 3
    assert 'data-i18n.characters-over-limit.other="You have %{count} characters too many"' in (
        item_form
    )
    # A single line is refused by its validator, not cut by the browser.
    assert " maxlength=" not in consultation_form and " maxlength=" not in item_form


@pytest.mark.parametrize(
    ("field", "limit"), [("summary_en", 20_000), ("title_es", 200), ("summary_fr", 20_000)]
)
def test_an_overlong_consultation_text_is_refused_with_the_text_kept(seeded, admin, field, limit):
    typed = "Labour mobility " * (limit // 16) + "and more besides"  # 8 characters too many
    response = admin.post(NEW, data=new_consultation_fields(admin, **{field: typed}))
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    message = f"Field cannot be longer than {limit} characters."
    assert 'class="govuk-error-summary"' in body and f'href="#{field}"' in body
    assert re.search(rf'id="{field}-error"[^>]*>.*?{re.escape(message)}', body, re.S)
    assert typed in unescape(body)
    assert consultation(seeded, "caribbean-mobility-2027") is None


def test_an_overlong_item_text_is_refused_with_the_text_kept(seeded, admin):
    page = f"/admin/consultations/{SLUG}/items/new"
    typed = "A long paragraph of the item. " * 1700  # 51,000 characters
    response = admin.post(page, data=new_item_fields(admin, body_en=typed))
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Field cannot be longer than 50000 characters." in body
    assert typed in unescape(body)
    with seeded.app_context():
        assert db.session.scalar(select(Item).where(Item.code == "P7")) is None


def test_the_list_shows_states_as_tags_and_titles_not_addresses(seeded, admin):
    listing = admin.get(LIST).get_data(as_text=True)
    assert re.search(
        r'<strong class="govuk-tag govuk-tag--green app-tag" data-state="open">', listing
    )
    assert SLUG not in text_without_addresses(listing)
    editing = admin.get(EDIT).get_data(as_text=True)
    assert SLUG not in text_without_addresses(editing)
    assert 'class="govuk-breadcrumbs' in editing and 'href="/admin/consultations"' in editing
