"""A real ``cairn server`` keeping its blobs in S3 (moto's server, over HTTP): a folder pushed
and pulled through the SDK comes back byte-identical, the bucket holds exactly its blobs, and a
server that starts on the same prefix finds them."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest

from cairn.client import Client
from tests.conftest import start_live_server
from tests.contract.s3_server import S3Server
from tests.functional import (
    MiB,
    download_bytes,
    run_cli,
    tree_digests,
    upload_bytes,
    write_random,
)


def _model_folder(root: Path) -> Path:
    """Weights big enough for a resumable upload session of two pieces (the SDK sends 64 MiB
    at a time), a file big enough for a multipart put, small ones, an empty one, and two paths
    with the same content (one blob, two files)."""
    write_random(root / "weights.bin", 70 * MiB + 3)
    write_random(root / "tokenizer" / "vocab.bin", 9 * MiB + 17)
    (root / "config.json").write_text('{"layers": 12, "hidden": 768}\n')
    (root / "README.md").write_text("# fraud model\n")
    (root / "tokenizer" / "README.md").write_text("# fraud model\n")
    (root / "EMPTY").write_bytes(b"")
    return root


@pytest.mark.slow
def test_push_then_pull_through_s3_is_byte_identical(s3_server: S3Server, tmp_path: Path) -> None:
    prefix = f"functional-{uuid.uuid4().hex[:12]}"
    source = _model_folder(tmp_path / "source")
    expected = tree_digests(source)

    server = start_live_server(tmp_path, **s3_server.env(prefix))
    try:
        with Client(server.url, token=server.token, progress=False, cache_dir=tmp_path / "a") as c:
            c.create_namespace("risk")
            version = c.push("risk/fraud", source, metrics={"auc": 0.93})
    finally:
        server.stop()

    digests = {f.digest.removeprefix("sha256:") for f in version.files or []}
    keys = s3_server.keys(prefix + "/")
    blobs = {k.rsplit("/", 1)[1] for k in keys if k.startswith("blobs/") and ".put-" not in k}
    assert blobs == digests
    assert not [k for k in keys if k.startswith(("sessions/", "tmp/"))]
    assert s3_server.uploads(prefix + "/") == []

    # Another server process, same database and prefix: it holds nothing but what S3 holds.
    again = start_live_server(tmp_path, **s3_server.env(prefix))
    try:
        dest = tmp_path / "elsewhere" / "fraud"
        with Client(again.url, token=again.token, progress=False, cache_dir=tmp_path / "b") as c:
            pulled = c.pull("risk/fraud:1", dest)
        # The pusher's cache knows the big file's digest, so only missing blobs would go up.
        with Client(again.url, token=again.token, progress=False, cache_dir=tmp_path / "a") as c:
            repushed = c.push("risk/fraud", source, metrics={"auc": 0.93})
        assert upload_bytes(again.url) == 0  # every blob was there already
    finally:
        again.stop()
    assert pulled.version.manifest_digest == version.manifest_digest
    assert repushed.manifest_digest == version.manifest_digest
    assert tree_digests(dest) == expected


def test_presigned_downloads_redirect_to_the_store_and_the_sdk_follows(
    s3_server: S3Server, tmp_path: Path
) -> None:
    prefix = f"presign-{uuid.uuid4().hex[:12]}"
    source = _model_folder(tmp_path / "source")
    server = start_live_server(tmp_path, **s3_server.env(prefix), CAIRN_S3_PRESIGN_SECONDS="300")
    try:
        with Client(server.url, token=server.token, progress=False, cache_dir=tmp_path / "a") as c:
            version = c.push("default/fraud", source)
        digest = (version.files or [])[0].digest
        answer = httpx.get(
            f"{server.url}/api/v1/namespaces/default/blobs/{digest}", headers=server.headers
        )
        assert answer.status_code == 307
        assert answer.headers["location"].startswith(s3_server.endpoint)
        assert answer.headers["cache-control"] == "no-store"
        dest = tmp_path / "pulled"
        before = download_bytes(server.url)
        with Client(server.url, token=server.token, progress=False, cache_dir=tmp_path / "b") as c:
            c.pull("default/fraud:1", dest)
        assert tree_digests(dest) == tree_digests(source)
        assert download_bytes(server.url) == before  # the bytes came from the store
    finally:
        server.stop()


KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/cairn-functional"


def test_every_object_a_server_writes_is_encrypted_with_the_kms_key(
    s3_server: S3Server, tmp_path: Path
) -> None:
    """Pushes of every size through the SDK (one request, a multipart put, an upload
    session), an MLflow artifact (put without a declared digest) and the CLI: then every
    object in the server's prefix says it is stored under the configured KMS key."""
    prefix = f"sse-{uuid.uuid4().hex[:12]}"
    source = tmp_path / "source"
    write_random(source / "session.bin", 33 * MiB + 1)  # over the SDK's single-request limit
    write_random(source / "multipart.bin", 9 * MiB + 5)  # over the store's 8 MiB part
    (source / "config.json").write_text('{"layers": 2}\n')
    sse = {"CAIRN_S3_SSE": "aws:kms", "CAIRN_S3_SSE_KMS_KEY_ID": KMS_KEY}
    server = start_live_server(tmp_path, **s3_server.env(prefix), **sse)
    try:
        with Client(server.url, token=server.token, progress=False, cache_dir=tmp_path / "a") as c:
            c.push("default/fraud", source)
        experiment = httpx.post(
            f"{server.url}/api/2.0/mlflow/experiments/create",
            json={"name": "exp"},
            headers=server.headers,
        ).json()["experiment_id"]
        artifact = httpx.put(
            f"{server.url}/api/2.0/mlflow-artifacts/artifacts/{experiment}/r/artifacts/w.bin",
            content=b"unnamed bytes",
            headers=server.headers,
        )
        assert artifact.status_code == 200, artifact.text
        (tmp_path / "more").mkdir()
        (tmp_path / "more" / "notes.txt").write_text("pushed by the CLI\n")
        pushed = run_cli(server.url, "push", "default/notes", str(tmp_path / "more"))
        assert pushed.returncode == 0, pushed.stderr
    finally:
        server.stop()

    keys = s3_server.keys(prefix + "/")
    blobs = [k for k in keys if k.startswith("blobs/") and ".put-" not in k]
    assert len(blobs) == 5 and "VERSION" in keys
    plain = []
    for key in sorted(keys):
        head = s3_server.client.head_object(Bucket=s3_server.bucket, Key=f"{prefix}/{key}")
        if (head.get("ServerSideEncryption"), head.get("SSEKMSKeyId")) != ("aws:kms", KMS_KEY):
            plain.append(key)
    assert not plain, f"objects stored without the KMS key: {plain}"
