"""A real S3-compatible server process for the object-store tests, on a free loopback port.

MinIO itself when its `minio` binary is on PATH (CONSULTA_TEST_MINIO names another one);
otherwise moto's standalone server (`moto_server`, from the test extra), which answers the S3
API over HTTP just as MinIO does for what the app uses. Under CI=true a missing server fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from tests.helpers.services import free_port, service_missing

ACCESS_KEY = "consulta-test"
SECRET_KEY = "consulta-test-secret"  # noqa: S105 - a throwaway server's credentials
START_SECONDS = 30


@dataclass
class S3Server:
    kind: str  # "minio" or "moto"
    endpoint_url: str
    process: subprocess.Popen
    data_dir: Path | None = None

    def client(self):  # noqa: ANN201 - a boto3 client
        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
        )

    def settings(self, bucket: str) -> dict[str, str]:
        """create_app overrides that store attachments in `bucket` on this server."""
        return {
            "attachment_store": "s3",
            "s3_endpoint_url": self.endpoint_url,
            "s3_bucket": bucket,
            "s3_access_key_id": ACCESS_KEY,
            "s3_secret_access_key": SECRET_KEY,
            "s3_region": "us-east-1",
        }

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        if self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)


def minio_binary() -> str | None:
    return os.environ.get("CONSULTA_TEST_MINIO") or shutil.which("minio")


def start_s3_server() -> S3Server:
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    binary = minio_binary()
    env = {**os.environ}
    data_dir = None
    if binary:
        data_dir = Path(tempfile.mkdtemp(prefix="consulta-minio-"))
        env.update(MINIO_ROOT_USER=ACCESS_KEY, MINIO_ROOT_PASSWORD=SECRET_KEY)
        command = [binary, "server", str(data_dir), "--address", f"127.0.0.1:{port}", "--quiet"]
        kind = "minio"
    else:
        moto = Path(sys.executable).with_name("moto_server")
        if not moto.is_file():
            service_missing("An S3-compatible server (minio or moto_server)", "none installed")
        command = [str(moto), "-H", "127.0.0.1", "-p", str(port)]
        kind = "moto"
    process = subprocess.Popen(  # noqa: S603 - our own fixed command
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    server = S3Server(kind, endpoint, process, data_dir)
    _wait_until_ready(server)
    return server


def _wait_until_ready(server: S3Server) -> None:
    client = server.client()
    deadline = time.monotonic() + START_SECONDS
    last: Exception | None = None
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            service_missing(f"The {server.kind} server", f"exited with {server.process.returncode}")
        try:
            client.list_buckets()
            return
        except (BotoCoreError, ClientError) as error:
            last = error
            time.sleep(0.2)
    server.stop()
    service_missing(f"The {server.kind} server", f"not answering after {START_SECONDS} s: {last}")
