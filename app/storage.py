"""Where stored files live: a folder on this machine (the embedded default) or an S3-compatible
object store (MinIO in docker-compose.yml), behind one small interface, so that any web or
worker process can read what another one stored.

Keys are relative names such as `ab/ab12…`: letters, digits, dots, dashes and underscores,
parts separated by slashes, none starting with a dot. A store is made once per app and process,
on first use (`attachment_store`), so a forked web or worker process opens its own connections.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from flask import current_app

from app.config import Settings

KEY = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*(/[A-Za-z0-9_-][A-Za-z0-9._-]*)*")
ATTACHMENT_PREFIX = "attachments/"  # where attachments live in a bucket shared with other files
MISSING_CODES = {"404", "NoSuchKey", "NotFound"}
MISSING_BUCKET_CODES = {"NoSuchBucket"}
TAKEN_BUCKET_CODES = {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}


class Missing(LookupError):
    """Nothing is stored under that key."""


class StoreError(RuntimeError):
    """The store could not be reached or refused the operation (disk, network, credentials)."""


@dataclass(frozen=True)
class StoredFile:
    """A file to send: a local `path` (so ranges and modification times work), or a `stream`
    to be read once and closed, of `size` bytes."""

    size: int
    path: Path | None = None
    stream: BinaryIO | None = None


class ObjectStore(Protocol):
    def put(self, key: str, data: bytes, content_type: str) -> None: ...

    def open(self, key: str) -> StoredFile: ...

    def delete(self, key: str) -> None: ...

    def exists(self, key: str) -> bool: ...


def checked_key(key: str) -> str:
    if not KEY.fullmatch(key):
        raise Missing(key)
    return key


class LocalStore:
    """Files under one folder of this machine, readable by the app's user only."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        return self.root / checked_key(key)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Written under a temporary name, then renamed: a reader never sees half a file."""
        final = self.path(key)
        try:
            final.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            descriptor, temporary = tempfile.mkstemp(dir=final.parent, prefix=".upload-")
        except OSError as error:
            raise StoreError(f"cannot write {key}") from error
        try:
            with os.fdopen(descriptor, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, final)
        except BaseException as error:
            Path(temporary).unlink(missing_ok=True)
            if isinstance(error, OSError):
                raise StoreError(f"cannot write {key}") from error
            raise

    def open(self, key: str) -> StoredFile:
        path = self.path(key)
        try:
            size = path.stat().st_size
        except FileNotFoundError as error:
            raise Missing(key) from error
        except OSError as error:
            raise StoreError(f"cannot read {key}") from error
        if not path.is_file():
            raise Missing(key)
        return StoredFile(size=size, path=path)

    def delete(self, key: str) -> None:
        try:
            self.path(key).unlink(missing_ok=True)
        except OSError as error:
            raise StoreError(f"cannot delete {key}") from error

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()


class S3Store:
    """Objects in one bucket of an S3-compatible store, under `prefix`; the bucket is created
    the first time a write finds it missing."""

    def __init__(self, client: Any, bucket: str, prefix: str = "", region: str = "") -> None:  # noqa: ANN401
        self.client, self.bucket, self.prefix, self.region = client, bucket, prefix, region

    def name(self, key: str) -> str:
        return self.prefix + checked_key(key)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        arguments = {"Key": self.name(key), "Body": data, "ContentType": content_type}
        try:
            self._call("put_object", **arguments)
        except _BucketMissing:
            self.create_bucket()
            self._call("put_object", **arguments)

    def open(self, key: str) -> StoredFile:
        try:
            found = self._call("get_object", Key=self.name(key))
        except _BucketMissing as error:
            raise Missing(key) from error
        return StoredFile(size=int(found["ContentLength"]), stream=found["Body"])

    def delete(self, key: str) -> None:
        with contextlib.suppress(_BucketMissing, Missing):  # deleting nothing is no error
            self._call("delete_object", Key=self.name(key))

    def exists(self, key: str) -> bool:
        try:
            self._call("head_object", Key=self.name(key))
        except (_BucketMissing, Missing):
            return False
        return True

    def create_bucket(self) -> None:
        """Create the bucket unless it exists (another process may be doing the same)."""
        arguments: dict[str, object] = {}
        if self.region and self.region != "us-east-1":
            arguments["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        try:
            self._call("create_bucket", **arguments)
        except StoreError as error:
            if _error_code(error.__cause__) not in TAKEN_BUCKET_CODES:
                raise

    def _call(self, operation: str, **arguments: object) -> dict:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, operation)(Bucket=self.bucket, **arguments)
        except ClientError as error:
            code = _error_code(error)
            if code in MISSING_BUCKET_CODES:
                raise _BucketMissing(self.bucket) from error
            if code in MISSING_CODES:
                raise Missing(arguments.get("Key", self.bucket)) from error
            raise StoreError(f"{operation} failed: {code}") from error
        except BotoCoreError as error:
            raise StoreError(f"{operation} failed: {error}") from error


class _BucketMissing(Exception):
    pass


def _error_code(error: BaseException | None) -> str:
    response = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def s3_client(settings: Settings) -> Any:  # noqa: ANN401 - boto3 clients are built at run time
    """A boto3 S3 client for the configured endpoint (path-style addressing, as MinIO wants)."""
    import boto3
    from botocore.config import Config

    config = Config(
        signature_version="s3v4",
        s3={"addressing_style": "path"},
        connect_timeout=5,
        read_timeout=30,
        retries={"max_attempts": 3, "mode": "standard"},
    )
    return boto3.session.Session().client(
        "s3",
        endpoint_url=settings.s3_endpoint_url or None,
        region_name=settings.s3_region or None,
        aws_access_key_id=settings.s3_access_key_id or None,
        aws_secret_access_key=settings.s3_secret_access_key or None,
        config=config,
    )


def store_for(settings: Settings, local_root: Path, prefix: str) -> ObjectStore:
    """The store `settings` choose: the folder `local_root`, or the bucket under `prefix`."""
    if settings.attachment_store == "s3":
        return S3Store(s3_client(settings), settings.s3_bucket, prefix, settings.s3_region)
    return LocalStore(local_root)


def attachment_store() -> ObjectStore:
    """The current app's store of feedback attachments (locally `UPLOAD_PATH`, else
    `<instance>/uploads`, outside anything served)."""
    stores = current_app.extensions.setdefault("consulta.stores", {})
    if "attachments" not in stores:
        configured = current_app.config.get("UPLOAD_PATH")
        root = Path(configured) if configured else Path(current_app.instance_path) / "uploads"
        stores["attachments"] = store_for(current_app.config["SETTINGS"], root, ATTACHMENT_PREFIX)
    return stores["attachments"]
