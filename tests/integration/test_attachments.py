"""Files on an organisation's feedback, over HTTP: who may attach, what is refused, who may read."""

from __future__ import annotations

import io
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from flask import render_template
from sqlalchemy import event, select, update

from app.accounts.services import create_user
from app.consultations.services import get_item
from app.extensions import db
from app.feedback import attachments
from app.feedback.attachment_forms import AttachmentForm
from app.models import (
    Attachment,
    AuditEvent,
    Consultation,
    Disclosure,
    Feedback,
    FeedbackRevision,
    FeedbackState,
    Organization,
)
from app.models.base import utcnow
from app.storage import LocalStore, attachment_store
from tests.helpers.database import user_by_email
from tests.helpers.feedback import our_feedback as shared_our_feedback
from tests.helpers.files import docx_bomb_streamed, docx_bytes, pdf_bytes, png_bytes
from tests.helpers.services import PROJECT
from tests.helpers.web import DEMO_PASSWORD, csrf_token, hidden_fields

pytestmark = [pytest.mark.postgres]

SLUG, CODE = "leaders-summit-2021-migration", "P2"
ITEM = f"/c/{SLUG}/items/{CODE}"
FORM = f"{ITEM}/feedback"
UPLOAD = f"{FORM}/attachments"
OUR_ORGANIZATION = "Northern Corridor Migrant Support Network"
OTHER_ORGANIZATION = "Red Fronteriza de Acogida"


# --- helpers ------------------------------------------------------------------------------------


def upload(client, data: bytes, name: str, disclosure: str = "public"):
    token = csrf_token(client.get(FORM).get_data(as_text=True))
    return client.post(
        UPLOAD,
        data={
            "csrf_token": token,
            "disclosure": disclosure,
            "attachment": (io.BytesIO(data), name),
        },
        content_type="multipart/form-data",
    )


def refused(client, data: bytes, name: str) -> str:
    """Upload, expect the redirect back to the form, and return the page it shows."""
    response = upload(client, data, name)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(FORM)
    return client.get(FORM).get_data(as_text=True)


def delete(client, attachment_id: int):
    token = csrf_token(client.get(FORM).get_data(as_text=True))
    return client.post(f"/attachments/{attachment_id}/delete", data={"csrf_token": token})


def stored(app) -> list[Attachment]:
    with app.app_context():
        rows = list(db.session.scalars(select(Attachment).order_by(Attachment.id)))
        db.session.expunge_all()
        return rows


def upload_root(app) -> Path:
    return Path(app.instance_path) / "uploads"


def local_file(app, attachment: Attachment) -> Path:
    """Where the embedded default (the local store) keeps an attachment's file."""
    with app.app_context():
        store = attachment_store()
        assert isinstance(store, LocalStore)
        return store.path(attachments.object_key(attachment.storage_key))


def files_on_disk(app) -> set[Path]:
    return {path for path in upload_root(app).rglob("*") if path.is_file()}


def our_feedback(app) -> Feedback:
    return shared_our_feedback(app, CODE)


def attachments_of_ours(app) -> list[str]:
    feedback = our_feedback(app)
    with app.app_context():
        return list(
            db.session.scalars(
                select(Attachment.filename).where(Attachment.feedback_id == feedback.id)
            )
        )


def submit_feedback(app, login) -> None:
    """The organisation's lead signs off and submits its position."""
    client = signed_in(app, login, "lead@example.org")
    page = client.get(FORM).get_data(as_text=True)
    answer = {"stance": "support", "priority": "4", "comment": "Portable visas, please."}
    response = client.post(FORM, data={**hidden_fields(page), **answer, "submit": "Submit"})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


def publish(app, login) -> None:
    moderator = app.test_client()
    login(moderator, "moderator@example.org")
    feedback = our_feedback(app)
    token = csrf_token(moderator.get("/moderation/").get_data(as_text=True))
    response = moderator.post(
        f"/moderation/{feedback.id}/publish",
        data={"csrf_token": token, "lock_version": str(feedback.lock_version)},
    )
    assert response.status_code == 302
    assert our_feedback(app).state is FeedbackState.PUBLISHED


def revisions_of_ours(app) -> list[FeedbackRevision]:
    feedback = our_feedback(app)
    if feedback is None:
        return []
    with app.app_context():
        rows = list(
            db.session.scalars(
                select(FeedbackRevision)
                .where(FeedbackRevision.feedback_id == feedback.id)
                .order_by(FeedbackRevision.number)
            )
        )
        db.session.expunge_all()
        return rows


def signed_in(app, login, email: str):
    client = app.test_client()
    login(client, email)
    return client


@pytest.fixture
def member(seeded, login):
    return signed_in(seeded, login, "stakeholder@example.org")


@pytest.fixture
def other_stakeholder(seeded, login):
    """A stakeholder of another organisation, with a password we know."""
    with seeded.app_context():
        organization = db.session.scalar(
            select(Organization).where(Organization.name == OTHER_ORGANIZATION)
        )
        create_user("outsider@example.org", "Out Sider", DEMO_PASSWORD, organization=organization)
        db.session.commit()
    return signed_in(seeded, login, "outsider@example.org")


# --- a member attaches, lists, downloads, removes -------------------------------------------------


def test_a_member_attaches_a_file_and_a_colleague_downloads_it(seeded, member, login):
    response = upload(member, pdf_bytes(), "Position paper.pdf")
    assert response.status_code == 303
    assert "X-RateLimit-Limit" in response.headers  # uploads are throttled
    page = member.get(FORM).get_data(as_text=True)
    assert "“Position paper.pdf” is attached." in page

    [attachment] = stored(seeded)
    assert attachment.filename == "Position paper.pdf"
    assert attachment.content_type == "application/pdf"
    assert attachment.disclosure is Disclosure.PUBLIC
    assert our_feedback(seeded).state is FeedbackState.DRAFT  # the upload started the draft

    colleague = signed_in(seeded, login, "lead@example.org")
    download = colleague.get(f"/attachments/{attachment.id}")
    assert download.status_code == 200
    assert download.data == pdf_bytes()
    assert download.mimetype == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert "Position paper.pdf" in download.headers["Content-Disposition"]
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Cache-Control"] == "private, no-store"


def test_the_attachment_list_shows_name_type_size_and_disclosure(seeded, member):
    upload(member, pdf_bytes(), "brief.pdf")
    upload(member, png_bytes(), "chart.png", disclosure="council_only")
    with seeded.test_request_context(FORM):
        view = get_item(SLUG, CODE)
        files = attachments.attachments_of(our_feedback(seeded).id)
        html = render_template(
            "feedback/_attachments.html",
            item=view.item,
            consultation=view.item.consultation,
            attachments=files,
            can_edit=True,
            attachment_form=AttachmentForm(formdata=None),
        )
    assert "brief.pdf" in html and "PDF document" in html and "1 KB" in html
    assert "chart.png" in html and "PNG image" in html and "For the council only" in html
    assert 'formenctype="multipart/form-data"' in html
    assert 'accept=".pdf,.docx,.odt,.png,.jpg,.jpeg"' in html
    assert 'aria-describedby="attachment-hint"' in html
    # The file inputs and buttons belong to the feedback form (its token, its typed answers):
    # the file, both disclosure radios, two remove buttons and the upload button.
    assert html.count('form="feedback-form"') == 6
    assert f'formaction="/c/{SLUG}/items/{CODE}/feedback/attachments"' in html
    assert html.count('formaction="/attachments/') == 2
    assert "Remove “brief.pdf”" in html


def test_a_member_removes_a_file_and_it_leaves_the_disk(seeded, member):
    upload(member, pdf_bytes(), "brief.pdf")
    [attachment] = stored(seeded)
    path = local_file(seeded, attachment)
    assert path.is_file()

    response = delete(member, attachment.id)
    assert response.status_code == 303
    assert "The file was removed." in member.get(FORM).get_data(as_text=True)
    assert stored(seeded) == []
    assert not path.exists()
    with seeded.app_context():
        actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"attachment.add", "attachment.remove"} <= actions


def test_the_file_lives_under_the_instance_folder_with_a_random_name(seeded, member):
    upload(member, pdf_bytes(), "Our secret plan.pdf")
    [attachment] = stored(seeded)
    path = local_file(seeded, attachment).resolve()
    assert path.is_relative_to(Path(seeded.instance_path).resolve())
    assert not path.is_relative_to((PROJECT / "app" / "static").resolve())
    assert "secret" not in str(path) and not str(path).endswith(".pdf")
    assert path.read_bytes() == pdf_bytes()
    assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0  # readable by the app only


# --- refused uploads ------------------------------------------------------------------------------


def test_an_eleven_megabyte_file_is_refused_with_a_message_and_nothing_stored(seeded, member):
    before = files_on_disk(seeded)
    page = refused(member, pdf_bytes(padding=11 * 1024 * 1024), "big.pdf")
    assert "“big.pdf” is larger than 10 MB. Attach a smaller file." in page
    assert stored(seeded) == []
    assert files_on_disk(seeded) == before


def test_an_executable_renamed_to_pdf_is_refused(seeded, member):
    before = files_on_disk(seeded)
    page = refused(member, b"MZ\x90\x00" + bytes(500), "x.pdf")
    assert "“x.pdf” is not a PDF, DOCX, ODT, PNG or JPEG file." in page
    assert stored(seeded) == []
    assert files_on_disk(seeded) == before
    assert our_feedback(seeded) is None  # a refused file starts no empty draft


def test_a_zip_bomb_disguised_as_docx_is_refused(seeded, member):
    page = refused(member, docx_bomb_streamed(200), "report.docx")
    assert "“report.docx” unpacks to far more than its size" in page
    assert stored(seeded) == []


def test_a_sixth_file_is_refused(seeded, member):
    for number in range(5):
        assert upload(member, docx_bytes(), f"part {number}.docx").status_code == 303
    page = refused(member, png_bytes(), "sixth.png")
    assert "You can attach at most 5 files." in page
    assert len(stored(seeded)) == 5


def test_a_closed_consultation_refuses_uploads(seeded, member):
    with seeded.app_context():
        db.session.execute(update(Consultation).values(closes_at=utcnow() - timedelta(hours=1)))
        db.session.commit()
    page = refused(member, pdf_bytes(), "late.pdf")
    assert "This consultation is not open for feedback." in page
    assert stored(seeded) == []


def test_an_upload_without_a_csrf_token_is_refused(seeded, member):
    response = member.post(
        UPLOAD,
        data={"disclosure": "public", "attachment": (io.BytesIO(pdf_bytes()), "x.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert stored(seeded) == []


def test_staff_cannot_attach_files(seeded, login):
    council = signed_in(seeded, login, "council@example.org")
    assert upload(council, pdf_bytes(), "x.pdf").status_code == 403
    assert stored(seeded) == []


# --- who may read or remove -----------------------------------------------------------------------


def test_another_organisation_can_neither_open_nor_delete_our_file(
    seeded, member, other_stakeholder
):
    upload(member, pdf_bytes(), "ours.pdf")
    [attachment] = stored(seeded)
    assert other_stakeholder.get(f"/attachments/{attachment.id}").status_code == 404
    assert delete(other_stakeholder, attachment.id).status_code == 404
    assert len(stored(seeded)) == 1
    assert member.get(f"/attachments/{attachment.id}").status_code == 200


def test_visitors_see_nothing_before_publication(seeded, member, login):
    upload(member, pdf_bytes(), "public.pdf")
    [attachment] = stored(seeded)
    visitor = seeded.test_client()
    moderator = signed_in(seeded, login, "moderator@example.org")
    assert visitor.get(f"/attachments/{attachment.id}").status_code == 404
    assert moderator.get(f"/attachments/{attachment.id}").status_code == 404  # still a draft

    submit_feedback(seeded, login)
    assert visitor.get(f"/attachments/{attachment.id}").status_code == 404
    assert moderator.get(f"/attachments/{attachment.id}").status_code == 200


def test_after_publication_only_public_files_reach_visitors(
    seeded, member, other_stakeholder, login
):
    upload(member, pdf_bytes(), "public.pdf")
    upload(member, png_bytes(), "council.png", disclosure="council_only")
    public, council_only = stored(seeded)
    submit_feedback(seeded, login)
    publish(seeded, login)

    visitor = seeded.test_client()
    response = visitor.get(f"/attachments/{public.id}")
    assert response.status_code == 200
    assert response.data == pdf_bytes()
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "private" not in response.headers["Cache-Control"]

    assert visitor.get(f"/attachments/{council_only.id}").status_code == 404
    assert other_stakeholder.get(f"/attachments/{council_only.id}").status_code == 404
    assert other_stakeholder.get(f"/attachments/{public.id}").status_code == 200
    council = signed_in(seeded, login, "council@example.org")
    assert council.get(f"/attachments/{council_only.id}").status_code == 200


def test_an_unknown_attachment_is_not_found(seeded):
    assert seeded.test_client().get("/attachments/999999").status_code == 404


def test_a_file_added_after_submission_needs_a_fresh_review(seeded, login):
    submit_feedback(seeded, login)
    seen = our_feedback(seeded).lock_version
    upload(signed_in(seeded, login, "lead@example.org"), pdf_bytes(), "late addition.pdf")
    assert our_feedback(seeded).lock_version > seen  # a moderator's stale publish is refused


def test_changing_the_files_of_a_submitted_position_records_revisions(seeded, login):
    submit_feedback(seeded, login)
    [submitted] = revisions_of_ours(seeded)
    assert submitted.snapshot["attachments"] == []
    lead = signed_in(seeded, login, "lead@example.org")
    lead_id = user_by_email(seeded, "lead@example.org").id

    assert upload(lead, pdf_bytes(), "late addition.pdf").status_code == 303
    [attachment] = stored(seeded)
    listed = f"late addition.pdf (public, {attachment.sha256[:12]})"
    first, added = revisions_of_ours(seeded)
    assert first.id == submitted.id
    assert added.number == 2
    assert added.author_id == lead_id
    assert added.snapshot["attachments"] == [listed]
    assert added.snapshot["state"] == "submitted"

    upload(lead, png_bytes(), "chart.png", disclosure="council_only")
    *_, with_two = revisions_of_ours(seeded)
    assert with_two.number == 3
    assert with_two.snapshot["attachments"][0] == listed
    assert with_two.snapshot["attachments"][1].startswith("chart.png (council_only, ")

    assert delete(lead, attachment.id).status_code == 303
    revisions = revisions_of_ours(seeded)
    assert [revision.number for revision in revisions] == [1, 2, 3, 4]
    removed = revisions[-1]
    assert removed.author_id == lead_id
    assert len(removed.snapshot["attachments"]) == 1
    assert not any(
        entry.startswith("late addition.pdf") for entry in removed.snapshot["attachments"]
    )
    assert revisions[1].snapshot["attachments"] == [listed]  # earlier snapshots are untouched


def test_changing_the_files_of_a_draft_records_no_revision(seeded, member):
    assert upload(member, pdf_bytes(), "draft.pdf").status_code == 303
    [attachment] = stored(seeded)
    assert our_feedback(seeded).state is FeedbackState.DRAFT
    assert revisions_of_ours(seeded) == []
    assert delete(member, attachment.id).status_code == 303
    assert stored(seeded) == []
    assert revisions_of_ours(seeded) == []


def test_a_refused_change_to_a_submitted_position_records_no_revision(seeded, member, login):
    submit_feedback(seeded, login)
    upload(member, pdf_bytes(), "not mine to add.pdf")  # only the lead may
    upload(signed_in(seeded, login, "lead@example.org"), b"MZ" + bytes(100), "x.pdf")
    assert len(revisions_of_ours(seeded)) == 1


def test_only_the_lead_changes_the_files_of_a_submitted_position(seeded, member, login):
    submit_feedback(seeded, login)
    response = upload(member, pdf_bytes(), "not mine to add.pdf")
    assert "can no longer be changed by you" in member.get(FORM).get_data(as_text=True)
    assert response.status_code in (302, 303)
    assert attachments_of_ours(seeded) == []


def test_a_published_position_takes_no_file_until_the_lead_submits_a_change(seeded, login):
    submit_feedback(seeded, login)
    with seeded.app_context():
        our = our_feedback(seeded)
        db.session.execute(
            update(Feedback).where(Feedback.id == our.id).values(state=FeedbackState.PUBLISHED)
        )
        db.session.commit()
    lead = signed_in(seeded, login, "lead@example.org")
    upload(lead, pdf_bytes(), "unreviewed.pdf")
    assert attachments_of_ours(seeded) == []  # nothing reaches the public page unreviewed


# --- the public listing ---------------------------------------------------------------------------


def test_public_attachments_lists_public_files_of_published_feedback_in_one_query(
    seeded, member, login
):
    upload(member, pdf_bytes(), "public.pdf")
    upload(member, png_bytes(), "council.png", disclosure="council_only")
    submit_feedback(seeded, login)
    publish(seeded, login)
    feedback_id = our_feedback(seeded).id

    statements = []
    with seeded.app_context():
        engine = db.engine

        def count(*_args) -> None:
            statements.append(1)

        event.listen(engine, "before_cursor_execute", count)
        try:
            listing = attachments.public_attachments([feedback_id, 424242])
        finally:
            event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 1
    [entry] = listing[feedback_id]
    assert entry.filename == "public.pdf" and entry.content_type == "application/pdf"

    with seeded.test_request_context(ITEM):
        html = render_template(
            "feedback/_public_attachments.html", attachments=listing[feedback_id]
        )
    assert f'href="/attachments/{entry.id}"' in html
    assert "public.pdf" in html and "council.png" not in html


def test_the_review_page_lists_each_file_with_its_kind_size_and_a_download_link(
    seeded, member, login
):
    upload(member, pdf_bytes(), "brief.pdf")
    submit_feedback(seeded, login)
    feedback = our_feedback(seeded)
    with seeded.app_context():
        attachment_id = db.session.scalar(
            select(Attachment.id).where(Attachment.feedback_id == feedback.id)
        )
    moderator = signed_in(seeded, login, "moderator@example.org")
    review = moderator.get(f"/moderation/feedback/{feedback.id}").get_data(as_text=True)
    files = review[review.index('id="attachments"') :]
    files = files[: files.index("</dd>")]
    assert (
        f'href="/attachments/{attachment_id}" download rel="noopener noreferrer">brief.pdf</a>'
        in files
    )
    assert "PDF document" in files and "1 KB" in files and "application/pdf" not in files
    assert review.index('id="attachments"') < review.index('id="publish-form"')
