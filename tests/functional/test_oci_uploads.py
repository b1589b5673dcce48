"""The OCI blob API on the wire, against a real server: uploads of every shape (single POST,
POST then PUT, chunked, streamed without Content-Range, a last chunk in the PUT), the edges
conformance suites check (zero-byte and ``{}`` blobs, out-of-order chunks, ranges at the
edges, upload status, mounts) and the spec's error codes. On SQLite and PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import LiveServer
from tests.functional.oci_support import (
    EMPTY,
    client_for,
    digest_of,
    ensure_namespace,
    oci_error,
    push_blob,
    serve,
    token_for,
)

REPO = "wire/blobs"
ZERO = b""


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    with serve(tmp_path_factory.mktemp("oci-uploads"), request.param) as live:
        ensure_namespace(live, "wire")
        yield live


@pytest.fixture
def client(server: LiveServer) -> Iterator[httpx.Client]:
    with client_for(server) as c:
        yield c


def _start(client: httpx.Client) -> str:
    started = client.post(f"/v2/{REPO}/blobs/uploads/")
    assert started.status_code == 202, started.text
    assert started.headers["Range"] == "0-0"
    location: str = started.headers["Location"]
    assert location.startswith(f"/v2/{REPO}/blobs/uploads/")
    return location


def test_a_zero_byte_blob_goes_up_in_one_post_and_reads_back_empty(client: httpx.Client) -> None:
    digest = push_blob(client, REPO, ZERO)
    assert digest == "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    head = client.head(f"/v2/{REPO}/blobs/{digest}")
    assert head.status_code == 200
    assert head.headers["Content-Length"] == "0"
    assert head.headers["Docker-Content-Digest"] == digest
    got = client.get(f"/v2/{REPO}/blobs/{digest}")
    assert got.status_code == 200 and got.content == b""
    # No byte of an empty blob can be asked for.
    ranged = client.get(f"/v2/{REPO}/blobs/{digest}", headers={"Range": "bytes=0-0"})
    assert ranged.status_code == 416
    assert ranged.headers["Content-Range"] == "bytes */0"


def test_the_empty_json_blob_goes_up_through_post_then_put(client: httpx.Client) -> None:
    location = _start(client)
    digest = digest_of(EMPTY)
    closed = client.put(
        location,
        params={"digest": digest},
        content=EMPTY,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert closed.status_code == 201, closed.text
    assert closed.headers["Location"] == f"/v2/{REPO}/blobs/{digest}"
    assert closed.headers["Docker-Content-Digest"] == digest
    assert client.get(f"/v2/{REPO}/blobs/{digest}").content == EMPTY


def test_chunks_go_up_in_order_and_the_put_may_carry_the_last(client: httpx.Client) -> None:
    data = os.urandom(300_000)
    location = _start(client)
    first = client.patch(location, content=data[:100_000], headers={"Content-Range": "0-99999"})
    assert first.status_code == 202, first.text
    assert first.headers["Range"] == "0-99999"
    location = first.headers["Location"]
    second = client.patch(
        location, content=data[100_000:200_000], headers={"Content-Range": "100000-199999"}
    )
    assert second.headers["Range"] == "0-199999"
    status = client.get(location)
    assert status.status_code == 204
    assert status.headers["Range"] == "0-199999"
    assert status.headers["Location"] == location
    closed = client.put(location, params={"digest": digest_of(data)}, content=data[200_000:])
    assert closed.status_code == 201, closed.text
    assert client.get(f"/v2/{REPO}/blobs/{digest_of(data)}").content == data


def test_a_chunk_out_of_order_is_416_and_changes_nothing(client: httpx.Client) -> None:
    location = _start(client)
    client.patch(location, content=b"a" * 10, headers={"Content-Range": "0-9"})
    skipped = client.patch(location, content=b"c" * 10, headers={"Content-Range": "20-29"})
    assert skipped.status_code == 416
    assert oci_error(skipped) == "BLOB_UPLOAD_INVALID"
    again = client.patch(location, content=b"a" * 10, headers={"Content-Range": "0-9"})
    assert again.status_code == 416
    status = client.get(location)
    assert status.status_code == 204 and status.headers["Range"] == "0-9"


def test_a_patch_without_content_range_streams_onto_the_end(client: httpx.Client) -> None:
    parts = [os.urandom(70_000), os.urandom(5)]

    def stream() -> Iterator[bytes]:  # no Content-Length: chunked transfer encoding
        yield from parts

    location = _start(client)
    streamed = client.patch(location, content=stream())
    assert streamed.status_code == 202, streamed.text
    assert streamed.headers["Range"] == "0-70004"
    more = client.patch(location, content=b"tail")
    assert more.headers["Range"] == "0-70008"
    whole = b"".join(parts) + b"tail"
    assert client.put(location, params={"digest": digest_of(whole)}).status_code == 201
    assert client.get(f"/v2/{REPO}/blobs/{digest_of(whole)}").content == whole


def test_a_close_with_the_wrong_digest_stores_nothing(client: httpx.Client) -> None:
    location = _start(client)
    client.patch(location, content=b"some bytes", headers={"Content-Range": "0-9"})
    wrong = digest_of(b"other bytes")
    refused = client.put(location, params={"digest": wrong})
    assert refused.status_code == 400
    assert oci_error(refused) == "DIGEST_INVALID"
    assert client.head(f"/v2/{REPO}/blobs/{wrong}").status_code == 404
    kept = client.get(location)  # a refused request changes nothing: the session stays
    assert kept.status_code == 204 and kept.headers["Range"] == "0-9"
    single = client.post(
        f"/v2/{REPO}/blobs/uploads/", params={"digest": wrong}, content=b"some bytes"
    )
    assert single.status_code == 400 and oci_error(single) == "DIGEST_INVALID"
    malformed = client.post(
        f"/v2/{REPO}/blobs/uploads/", params={"digest": "sha512:abc"}, content=b"x"
    )
    assert malformed.status_code == 400 and oci_error(malformed) == "DIGEST_INVALID"


def test_an_upload_can_be_cancelled(client: httpx.Client) -> None:
    location = _start(client)
    assert client.delete(location).status_code == 204
    assert client.get(location).status_code == 404
    assert oci_error(client.patch(location, content=b"x")) == "BLOB_UPLOAD_UNKNOWN"


def test_ranges_at_the_edges(client: httpx.Client) -> None:
    data = bytes(range(256)) * 40  # 10240 bytes
    digest = push_blob(client, REPO, data)
    url = f"/v2/{REPO}/blobs/{digest}"

    def get(range_header: str) -> httpx.Response:
        return client.get(url, headers={"Range": range_header})

    first = get("bytes=0-0")
    assert (first.status_code, first.content) == (206, data[:1])
    assert first.headers["Content-Range"] == f"bytes 0-0/{len(data)}"
    last = get(f"bytes={len(data) - 1}-{len(data) - 1}")
    assert (last.status_code, last.content) == (206, data[-1:])
    clamped = get(f"bytes=10000-{len(data) + 500}")
    assert clamped.content == data[10000:]
    assert clamped.headers["Content-Range"] == f"bytes 10000-{len(data) - 1}/{len(data)}"
    assert get("bytes=-16").content == data[-16:]
    assert get("bytes=100-").content == data[100:]
    past = get(f"bytes={len(data)}-")
    assert past.status_code == 416 and oci_error(past) == "RANGE_INVALID"
    assert past.headers["Content-Range"] == f"bytes */{len(data)}"
    ignored = get("pages=1-2")  # not a range Cairn reads: the whole blob
    assert (ignored.status_code, ignored.content) == (200, data)
    head = client.head(url)
    assert head.headers["Accept-Ranges"] == "bytes"
    assert head.headers["Content-Length"] == str(len(data))


def test_an_unknown_blob_is_blob_unknown(client: httpx.Client) -> None:
    missing = digest_of(b"never pushed")
    assert client.head(f"/v2/{REPO}/blobs/{missing}").status_code == 404
    response = client.get(f"/v2/{REPO}/blobs/{missing}")
    assert response.status_code == 404 and oci_error(response) == "BLOB_UNKNOWN"
    deleted = client.delete(f"/v2/{REPO}/blobs/{missing}")
    assert deleted.status_code == 405 and oci_error(deleted) == "UNSUPPORTED"


def test_mounts_need_the_source_to_be_readable(server: LiveServer, client: httpx.Client) -> None:
    data = b"shared weights " + os.urandom(16)
    digest = push_blob(client, "wire/source", data)
    mounted = client.post(
        f"/v2/{REPO}/blobs/uploads/", params={"mount": digest, "from": "wire/source"}
    )
    assert mounted.status_code == 201
    assert mounted.headers["Location"] == f"/v2/{REPO}/blobs/{digest}"
    # Without ``from`` nothing is looked up elsewhere: an upload opens instead.
    anonymous = client.post(f"/v2/{REPO}/blobs/uploads/", params={"mount": digest})
    assert anonymous.status_code == 202 and "Location" in anonymous.headers
    missing = client.post(
        f"/v2/{REPO}/blobs/uploads/", params={"mount": digest_of(b"nope"), "from": "wire/source"}
    )
    assert missing.status_code == 202 and "Location" in missing.headers  # upload instead
    ensure_namespace(server, "secret")
    outsider = token_for(server, "mallory", {"mine": "writer"})
    with client_for(server, outsider) as theirs:
        # A source the caller may not read answers as one that lacks the blob: an upload.
        fallback = theirs.post(
            "/v2/mine/model/blobs/uploads/", params={"mount": digest, "from": "wire/source"}
        )
        assert fallback.status_code == 202 and "Location" in fallback.headers
        assert theirs.head(f"/v2/mine/model/blobs/{digest}").status_code == 404


def test_any_upload_session_continues_in_a_fresh_connection(
    client: httpx.Client, server: LiveServer
) -> None:
    location = _start(client)
    client.patch(location, content=b"x" * 1000, headers={"Content-Range": "0-999"})
    with client_for(server) as other:
        status = other.get(location)
        assert status.headers["Range"] == "0-999"
        closed = other.put(location, params={"digest": digest_of(b"x" * 1000)})
        assert closed.status_code == 201
