"""Attachments in an S3-compatible object store, against a real server process over HTTP (MinIO
when its binary is on the machine, else moto's standalone server; tests/helpers/object_store.py):
the form and the API store into the bucket, downloads stream back through the app's checks, a
second web "machine" with its own instance folder reads what the first stored, and removal
deletes the object."""

from __future__ import annotations

import io
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from app import create_app
from app.accounts import profile
from app.accounts.services import create_user
from app.config import Settings
from app.extensions import db
from app.feedback import attachments
from app.models import Attachment, Feedback, Organization, User
from app.storage import Missing, S3Store, StoreError, attachment_store, s3_client
from tests.helpers.feedback import our_feedback
from tests.helpers.files import pdf_bytes, png_bytes
from tests.helpers.object_store import S3Server, start_s3_server
from tests.helpers.services import free_port
from tests.helpers.web import DEMO_PASSWORD
from tests.integration.test_attachments import (
    CODE,
    FORM,
    OTHER_ORGANIZATION,
    delete,
    signed_in,
    stored,
    submit_feedback,
    upload,
)

pytestmark = [pytest.mark.postgres]

BUCKET = f"consulta-test-{secrets.token_hex(4)}"


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    server = start_s3_server()
    yield server
    server.stop()


def _s3_app(overrides: dict[str, object], server: S3Server, instance: Path) -> Flask:
    return create_app({**overrides, **server.settings(BUCKET), "instance_path": str(instance)})


@pytest.fixture(scope="session")
def s3_app(app, app_overrides, s3_server, tmp_path_factory) -> Iterator[Flask]:
    """The session's database, attachments in the bucket (which does not exist yet)."""
    application = _s3_app(app_overrides, s3_server, tmp_path_factory.mktemp("web-one"))
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture(scope="session")
def replica(app, app_overrides, s3_server, tmp_path_factory) -> Iterator[Flask]:
    """Another web process on another machine: same database and bucket, its own disk."""
    application = _s3_app(app_overrides, s3_server, tmp_path_factory.mktemp("web-two"))
    yield application
    with application.app_context():
        db.engine.dispose()


def bucket_objects(server: S3Server) -> dict[str, bytes]:
    client = server.client()
    listed = client.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    return {o["Key"]: client.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read() for o in listed}


def object_name(attachment: Attachment) -> str:
    key = attachment.storage_key
    return f"attachments/{key[:2]}/{key}"


def local_files(app: Flask) -> set[Path]:
    return {path for path in Path(app.instance_path).rglob("*") if path.is_file()}


@pytest.fixture
def outsider_email(seeded) -> str:
    """A stakeholder of another organisation, with the demo password."""
    with seeded.app_context():
        organization = db.session.scalar(
            select(Organization).where(Organization.name == OTHER_ORGANIZATION)
        )
        create_user("outsider@example.org", "Out Sider", DEMO_PASSWORD, organization=organization)
        db.session.commit()
    return "outsider@example.org"


def bearer(app: Flask, email: str) -> dict[str, str]:
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.email == email))
        secret = profile.create_api_token(user_id, "object store test").secret
    return {"Authorization": f"Bearer {secret}"}


# --- through the form --------------------------------------------------------------------------


def test_a_file_attached_through_the_form_lives_in_the_bucket_and_nowhere_else(
    seeded, s3_app, s3_server, login
):
    before = local_files(s3_app)
    member = signed_in(s3_app, login, "stakeholder@example.org")
    assert upload(member, pdf_bytes(), "Position paper.pdf").status_code == 303
    assert "“Position paper.pdf” is attached." in member.get(FORM).get_data(as_text=True)

    [attachment] = stored(s3_app)
    assert bucket_objects(s3_server)[object_name(attachment)] == pdf_bytes()
    assert local_files(s3_app) == before  # not a byte of it on this machine's disk
    with s3_app.app_context():
        assert isinstance(attachment_store(), S3Store)
        head = s3_server.client().head_object(Bucket=BUCKET, Key=object_name(attachment))
    assert head["ContentType"] == "application/pdf"


def test_a_colleague_downloads_it_through_another_web_machine(
    seeded, s3_app, replica, s3_server, login
):
    member = signed_in(s3_app, login, "stakeholder@example.org")
    upload(member, pdf_bytes(), "Position paper.pdf")
    [attachment] = stored(s3_app)

    colleague = signed_in(replica, login, "lead@example.org")
    download = colleague.get(f"/attachments/{attachment.id}")
    assert download.status_code == 200
    assert download.data == pdf_bytes()
    assert download.headers["Content-Length"] == str(len(pdf_bytes()))
    assert download.mimetype == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert "Position paper.pdf" in download.headers["Content-Disposition"]
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert download.headers["Cache-Control"] == "private, no-store"
    assert not any("uploads" in path.parts for path in local_files(replica))

    again = colleague.get(
        f"/attachments/{attachment.id}", headers={"If-None-Match": f'"{attachment.sha256}"'}
    )
    assert again.status_code == 304 and again.data == b""


def test_others_can_neither_read_nor_delete_it_and_its_member_removes_it(
    seeded, s3_app, replica, s3_server, login, outsider_email
):
    member = signed_in(s3_app, login, "stakeholder@example.org")
    upload(member, png_bytes(), "chart.png", disclosure="council_only")
    [attachment] = stored(s3_app)
    url = f"/attachments/{attachment.id}"

    outsider = signed_in(replica, login, outsider_email)
    moderator = signed_in(replica, login, "moderator@example.org")
    assert outsider.get(url).status_code == 404  # another organisation
    assert replica.test_client().get(url).status_code == 404  # a visitor
    assert moderator.get(url).status_code == 404  # staff do not see drafts
    assert delete(outsider, attachment.id).status_code == 404
    assert object_name(attachment) in bucket_objects(s3_server)

    submit_feedback(s3_app, login)
    assert moderator.get(url).data == png_bytes()  # submitted: now under review

    lead = signed_in(replica, login, "lead@example.org")
    assert delete(lead, attachment.id).status_code == 303
    assert stored(s3_app) == []
    assert object_name(attachment) not in bucket_objects(s3_server)
    assert member.get(url).status_code == 404


def test_a_file_lost_from_the_store_is_not_found(seeded, s3_app, s3_server, login):
    member = signed_in(s3_app, login, "stakeholder@example.org")
    upload(member, pdf_bytes(), "brief.pdf")
    [attachment] = stored(s3_app)
    s3_server.client().delete_object(Bucket=BUCKET, Key=object_name(attachment))
    assert member.get(f"/attachments/{attachment.id}").status_code == 404


# --- through the API ---------------------------------------------------------------------------


def test_the_api_uploads_into_the_bucket_downloads_and_removes(
    seeded, s3_app, replica, s3_server, outsider_email
):
    headers = bearer(s3_app, "stakeholder@example.org")
    with s3_app.app_context():
        organisation = db.session.scalar(
            select(User.organization_id).where(User.email == "stakeholder@example.org")
        )
        feedback_id = db.session.scalar(
            select(Feedback.id)
            .where(Feedback.organization_id == organisation)
            .order_by(Feedback.id)
        )
    client = s3_app.test_client()
    created = client.post(
        f"/api/v1/feedback/{feedback_id}/attachments",
        data={"file": (io.BytesIO(pdf_bytes()), "study.pdf")},
        headers=headers,
        content_type="multipart/form-data",
    )
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    [attachment] = [a for a in stored(s3_app) if a.id == body["id"]]
    assert bucket_objects(s3_server)[object_name(attachment)] == pdf_bytes()

    download = replica.test_client().get(body["url"], headers=headers)
    assert download.status_code == 200 and download.data == pdf_bytes()
    other = bearer(s3_app, outsider_email)
    assert replica.test_client().get(body["url"], headers=other).status_code == 404
    assert client.delete(f"/api/v1/attachments/{body['id']}", headers=other).status_code == 404

    removed = client.delete(
        f"/api/v1/attachments/{body['id']}", headers=bearer(s3_app, "lead@example.org")
    )
    assert removed.status_code == 204
    assert object_name(attachment) not in bucket_objects(s3_server)


@pytest.fixture(scope="session")
def unreachable_app(app, app_overrides, s3_server, tmp_path_factory) -> Iterator[Flask]:
    """A web process whose object store does not answer (nothing listens on its port)."""
    application = create_app(
        {
            **app_overrides,
            **s3_server.settings(BUCKET),
            "s3_endpoint_url": f"http://127.0.0.1:{free_port()}",
            "instance_path": str(tmp_path_factory.mktemp("web-down")),
        }
    )
    yield application
    with application.app_context():
        db.engine.dispose()


def test_a_store_that_does_not_answer_is_a_503_and_stores_nothing(seeded, unreachable_app, login):
    member = signed_in(unreachable_app, login, "stakeholder@example.org")
    response = upload(member, pdf_bytes(), "brief.pdf")
    assert response.status_code == 503
    assert stored(unreachable_app) == []
    assert our_feedback(unreachable_app, CODE) is None  # the draft it began was rolled back


# --- the store itself --------------------------------------------------------------------------


def test_s3_store_creates_its_bucket_and_puts_opens_deletes(s3_server):
    bucket = f"consulta-fresh-{secrets.token_hex(4)}"
    settings = Settings(**{k: v for k, v in s3_server.settings(bucket).items()})
    store = S3Store(s3_client(settings), bucket, "files/", "us-east-1")
    assert not store.exists("ab/abc")
    with pytest.raises(Missing):
        store.open("ab/abc")
    store.delete("ab/abc")  # nothing there, no bucket even: no error

    store.put("ab/abc", b"%PDF-1.4 hello", "application/pdf")  # creates the bucket
    assert store.exists("ab/abc")
    found = store.open("ab/abc")
    assert found.path is None and found.size == 14
    assert found.stream.read() == b"%PDF-1.4 hello"
    found.stream.close()
    keys = [o["Key"] for o in s3_server.client().list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == ["files/ab/abc"]

    store.put("ab/abc", b"replaced", "text/plain")
    assert store.open("ab/abc").stream.read() == b"replaced"
    store.delete("ab/abc")
    assert not store.exists("ab/abc")
    store.delete("ab/abc")
    for bad in ("../etc/passwd", "/abs", "a//b", ".hidden", "a b"):
        with pytest.raises(Missing):
            store.open(bad)
    store.create_bucket()  # already there: no error


def test_an_unreachable_store_is_a_store_error_not_a_missing_file(s3_server):
    settings = Settings(**s3_server.settings("anything"))
    settings = settings.replace(s3_endpoint_url=f"http://127.0.0.1:{free_port()}")
    store = S3Store(s3_client(settings), "anything", "", "us-east-1")
    with pytest.raises(StoreError):
        store.put("ab/abc", b"x", "text/plain")
    with pytest.raises(StoreError):
        store.open("ab/abc")


def test_the_object_key_is_the_random_storage_key_never_the_name(seeded, s3_app, login):
    member = signed_in(s3_app, login, "stakeholder@example.org")
    upload(member, pdf_bytes(), "Our secret plan.pdf")
    [attachment] = stored(s3_app)
    with s3_app.app_context():
        assert attachments.object_key(attachment.storage_key) == object_name(attachment)[12:]
    assert "secret" not in object_name(attachment) and not object_name(attachment).endswith(".pdf")
