"""Server-side encryption in S3: every request that makes an object asks for the configured
encryption, whatever the path that made it (blob, put marker, session piece, lock, VERSION,
temporary put). The requests are watched through botocore's own event hooks, so an object that
lives a moment (a lock, a piece) is checked too, and then every object left in the prefix is
asked (HeadObject) how it is stored. Against moto's server over HTTP."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

import pytest

from cairn import errors
from cairn.config import load_settings
from cairn.storage.blobs import open_blob_store
from cairn.storage.blobs.s3 import S3BlobStore
from cairn.storage.blobs.s3.staging import MIN_PART
from tests.contract.s3_server import S3Server
from tests.contract.test_s3_blobstore import sha

PART = MIN_PART
KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/0b7c7c1e-cairn-test"
# Requests that make an object: each must carry the encryption parameters.
MAKES_AN_OBJECT = {"PutObject", "CreateMultipartUpload", "CopyObject"}
# Requests that add to an upload, encrypted as its CreateMultipartUpload said.
PART_OF_AN_UPLOAD = {"UploadPart", "UploadPartCopy", "CompleteMultipartUpload"}
READS_OR_REMOVES = {
    "HeadObject",
    "GetObject",
    "ListObjectsV2",
    "ListMultipartUploads",
    "DeleteObject",
    "DeleteObjects",
    "AbortMultipartUpload",
}


def _watched_store(
    s3_server: S3Server, expected: dict[str, str], **sse: Any
) -> tuple[S3BlobStore, list[tuple[str, dict[str, Any]]]]:
    options = replace(s3_server.options(), **sse)
    assert options.encryption() == expected
    client = options.client()
    calls: list[tuple[str, dict[str, Any]]] = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        calls.append((model.name, dict(params)))

    client.meta.events.register("provide-client-params.s3", record)
    store = S3BlobStore.open(
        s3_server.url(), options, client=client, chunk_size=1 << 20, part_size=PART
    )
    return store, calls


def _every_write_path(store: S3BlobStore) -> None:
    """What the server does with a store: puts small and multipart, with and without a
    declared digest (the latter copied from tmp/), sessions of small and large pieces (one
    rewritten from an earlier offset, which cuts it), a session lock, a delete, a purge."""
    small, large = b"small blob", os.urandom(2 * PART + 7)
    store.put([small], digest=sha(small), size=len(small))
    store.put([small])  # again: only a new put marker
    store.put([large], digest=sha(large), size=len(large))
    unnamed = os.urandom(PART + 3)
    store.put([unnamed])
    pieces = [os.urandom(PART // 2), os.urandom(PART + 1), b"tail"]
    offset = 0
    with store.session_lock("s1"):
        for piece in pieces:
            offset = store.session_write("s1", offset, [piece])
    store.session_write("s1", 3, [pieces[0][3:]])  # cut and rewritten from offset 3
    offset = len(pieces[0])
    for piece in pieces[1:]:
        offset = store.session_write("s1", offset, [piece])
    store.session_commit("s1", sha(b"".join(pieces)))
    store.delete(sha(small))
    store.purge_stale(older_than_seconds=3600)


@pytest.mark.parametrize(
    ("sse", "expected"),
    [
        ({"sse": "AES256"}, {"ServerSideEncryption": "AES256"}),
        (
            {"sse": "aws:kms", "sse_kms_key_id": KMS_KEY},
            {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": KMS_KEY},
        ),
    ],
)
def test_every_object_the_store_makes_is_encrypted_as_configured(
    s3_server: S3Server, sse: dict[str, str], expected: dict[str, str]
) -> None:
    store, calls = _watched_store(s3_server, expected, **sse)
    _every_write_path(store)

    operations = {name for name, _ in calls}
    unknown = operations - MAKES_AN_OBJECT - PART_OF_AN_UPLOAD - READS_OR_REMOVES
    assert not unknown, f"new S3 requests: decide whether they make objects: {unknown}"
    assert {"PutObject", "CreateMultipartUpload", "UploadPartCopy"} <= operations
    unencrypted = [
        (name, params["Key"])
        for name, params in calls
        if name in MAKES_AN_OBJECT and {k: params.get(k) for k in expected} != expected
    ]
    assert not unencrypted, f"written without the encryption setting: {unencrypted}"

    # And what the service says of every object left: blobs, put markers, VERSION.
    prefix = store.bucket.prefix
    keys = s3_server.keys(prefix)
    assert any(k.startswith("blobs/") and ".put-" in k for k in keys) and "VERSION" in keys
    for key in keys:
        head = s3_server.client.head_object(Bucket=s3_server.bucket, Key=prefix + key)
        assert {k: head.get(k) for k in expected} == expected, key


def test_without_the_setting_no_encryption_is_asked_for(s3_server: S3Server) -> None:
    store, calls = _watched_store(s3_server, {})
    store.put([b"plain"])
    writes = [params for name, params in calls if name in MAKES_AN_OBJECT]
    assert writes and not [p for p in writes if "ServerSideEncryption" in p or "SSEKMSKeyId" in p]


@pytest.mark.parametrize(
    ("changed", "setting"),
    [
        ({"s3_sse_kms_key_id": KMS_KEY}, "CAIRN_S3_SSE_KMS_KEY_ID"),
        ({"s3_sse": "AES256", "s3_sse_kms_key_id": KMS_KEY}, "CAIRN_S3_SSE_KMS_KEY_ID"),
        ({"s3_sse": "AES256", "blob_url": "file:///tmp/cairn-blobs"}, "CAIRN_S3_SSE"),
        ({"s3_sse": "aws:kms", "blob_url": "memory://"}, "CAIRN_S3_SSE"),
        ({"s3_sse_kms_key_id": KMS_KEY, "blob_url": "memory://"}, "CAIRN_S3_SSE_KMS_KEY_ID"),
    ],
)
def test_an_encryption_setting_that_cannot_hold_is_refused_at_start(
    s3_server: S3Server, changed: dict[str, str], setting: str
) -> None:
    values = {
        "blob_url": s3_server.url(),
        "s3_endpoint_url": s3_server.endpoint,
        "s3_region": "us-east-1",
        "s3_access_key_id": "testing",
        "s3_secret_access_key": "testing",
        "s3_addressing_style": "path",
    }
    settings = load_settings(**{**values, **changed})
    with pytest.raises(errors.ConfigError) as caught:
        open_blob_store(settings.effective_blob_url, settings)
    assert caught.value.details["setting"] == setting


@pytest.mark.parametrize("value", ["aes256", "aws:kms:dsse", "SSE-C", ""])
def test_an_unknown_encryption_is_named(value: str) -> None:
    with pytest.raises(errors.ConfigError) as caught:
        load_settings(s3_sse=value)
    assert caught.value.details["setting"] == "CAIRN_S3_SSE"
