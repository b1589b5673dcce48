"""A real S3 endpoint for the tests: moto's server in a process of its own, on a free loopback
port, with one bucket. Each store the tests open gets a prefix of its own, so tests sharing the
server never see each other's objects.

The server runs in another process so that it is reached over HTTP like any S3 service, and
so that the memory the tests measure is Cairn's alone.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from cairn.storage.blobs.s3 import S3BlobStore, S3Options
from tests.conftest import free_port

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

BUCKET = "cairn-tests"
KEY_ID = SECRET = "testing"  # moto accepts any credentials
REGION = "us-east-1"


@dataclass
class S3Server:
    endpoint: str
    process: subprocess.Popen[bytes]
    bucket: str = BUCKET
    _client: S3Client | None = field(default=None, repr=False)

    def options(self, presign_seconds: int = 0) -> S3Options:
        return S3Options(
            endpoint_url=self.endpoint,
            region=REGION,
            access_key_id=KEY_ID,
            secret_access_key=SECRET,
            addressing_style="path",
            presign_seconds=presign_seconds,
        )

    @property
    def client(self) -> S3Client:
        """A plain boto3 client, for looking at the bucket from outside the store."""
        if self._client is None:
            self._client = self.options().client()
        return self._client

    def url(self, prefix: str | None = None) -> str:
        return f"s3://{self.bucket}/{prefix or 'test-' + uuid.uuid4().hex[:12]}"

    def store(
        self, prefix: str | None = None, *, presign_seconds: int = 0, **tuning: int
    ) -> S3BlobStore:
        options = self.options(presign_seconds)
        client = self.client if not presign_seconds else None
        return S3BlobStore.open(self.url(prefix), options, client=client, **tuning)

    def env(self, prefix: str) -> dict[str, str]:
        """The settings a ``cairn server`` needs to keep its blobs under ``prefix``."""
        return {
            "CAIRN_BLOB_URL": self.url(prefix),
            "CAIRN_S3_ENDPOINT_URL": self.endpoint,
            "CAIRN_S3_REGION": REGION,
            "CAIRN_S3_ACCESS_KEY_ID": KEY_ID,
            "CAIRN_S3_SECRET_ACCESS_KEY": SECRET,
            "CAIRN_S3_ADDRESSING_STYLE": "path",
        }

    def keys(self, prefix: str) -> set[str]:
        """Every object key under ``prefix`` (as a store's bucket names it), relative to it."""
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix
        )
        return {
            item["Key"].removeprefix(prefix) for page in pages for item in page.get("Contents", [])
        }

    def uploads(self, prefix: str) -> list[str]:
        """The keys of multipart uploads begun under ``prefix`` and not finished."""
        found = self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=prefix)
        return [u["Key"] for u in found.get("Uploads", [])]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_s3_server(log_dir: Path) -> S3Server:
    port = free_port()
    with (log_dir / "moto.log").open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = S3Server(f"http://127.0.0.1:{port}", process)
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(server.endpoint + "/moto-api/", timeout=1)
            break
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                server.stop()
                raise RuntimeError("moto's S3 server did not start") from None
            time.sleep(0.1)
    server.client.create_bucket(Bucket=server.bucket)
    return server
