"""The storage interface without a server: the local folder (the embedded default), the settings
that choose the store, and the keys a store accepts. The S3 store runs against a real server in
tests/integration/test_object_store.py."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from app.config import ConfigError, Settings
from app.storage import LocalStore, Missing, S3Store, StoreError, store_for


def test_local_store_puts_opens_and_deletes_under_its_root(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "uploads")
    assert not store.exists("ab/ab12")
    store.put("ab/ab12", b"%PDF-1.4 data", "application/pdf")
    assert store.exists("ab/ab12")
    found = store.open("ab/ab12")
    assert found.path == tmp_path / "uploads" / "ab" / "ab12" and found.stream is None
    assert found.size == 13 and found.path.read_bytes() == b"%PDF-1.4 data"
    # Readable by the app's user only, folders included; no temporary file left behind.
    assert stat.S_IMODE(found.path.stat().st_mode) & 0o077 == 0
    assert stat.S_IMODE(found.path.parent.stat().st_mode) & 0o077 == 0
    assert [p.name for p in found.path.parent.iterdir()] == ["ab12"]

    store.put("ab/ab12", b"replaced", "text/plain")
    assert store.open("ab/ab12").path.read_bytes() == b"replaced"
    store.delete("ab/ab12")
    assert not store.exists("ab/ab12")
    store.delete("ab/ab12")  # deleting nothing is no error
    with pytest.raises(Missing):
        store.open("ab/ab12")


@pytest.mark.parametrize("key", ["../secret", "ab/../../x", "/etc/passwd", "a//b", ".x", "", "a b"])
def test_keys_that_could_leave_the_root_are_refused(tmp_path: Path, key: str) -> None:
    store = LocalStore(tmp_path / "uploads")
    with pytest.raises(Missing):
        store.put(key, b"x", "text/plain")
    with pytest.raises(Missing):
        store.open(key)
    assert not (tmp_path / "uploads").exists()


def test_a_folder_is_no_file(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    (tmp_path / "ab").mkdir()
    assert not store.exists("ab")
    with pytest.raises(Missing):
        store.open("ab")


def test_a_disk_that_refuses_the_write_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file where the folder should be")
    store = LocalStore(tmp_path / "taken")
    with pytest.raises(StoreError):
        store.put("ab/ab12", b"x", "text/plain")


def test_settings_choose_the_store_from_the_environment(tmp_path: Path) -> None:
    assert Settings.from_env({}).attachment_store == "local"
    assert isinstance(store_for(Settings.from_env({}), tmp_path, "p/"), LocalStore)
    env = {
        "ATTACHMENT_STORE": "S3",
        "S3_ENDPOINT_URL": "http://minio:9000",
        "S3_BUCKET": "consulta-attachments",
        "S3_ACCESS_KEY_ID": "consulta",
        "S3_SECRET_ACCESS_KEY": "consulta-minio",
        "S3_REGION": "eu-west-3",
    }
    settings = Settings.from_env(env)
    settings.check()
    assert settings.attachment_store == "s3"
    assert (settings.s3_endpoint_url, settings.s3_bucket) == (
        "http://minio:9000",
        "consulta-attachments",
    )
    store = store_for(settings, tmp_path, "attachments/")
    assert isinstance(store, S3Store)
    assert (store.bucket, store.prefix, store.region) == (
        "consulta-attachments",
        "attachments/",
        "eu-west-3",
    )
    assert store.client.meta.endpoint_url == "http://minio:9000"
    assert store.name("ab/ab12") == "attachments/ab/ab12"


def test_settings_refuse_an_unknown_store_or_s3_without_a_bucket() -> None:
    with pytest.raises(ConfigError, match="ATTACHMENT_STORE"):
        Settings.from_env({"ATTACHMENT_STORE": "ftp"}).check()
    with pytest.raises(ConfigError, match="S3_BUCKET"):
        Settings.from_env({"ATTACHMENT_STORE": "s3"}).check()
