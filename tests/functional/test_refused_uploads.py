"""A refused upload finish leaves the session as it found it: the client finishes again with
the right digest, or goes on uploading. On Cairn's own API and on ``/v2/`` (where a last chunk
sent with the wrong digest is taken off again), on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import LiveServer, start_live_server
from tests.functional import error_code
from tests.functional.oci_support import oci_error

UPLOADS = "/api/v1/namespaces/default/uploads"
PART = b"first part of the model, "
REST = b"and the rest of it"


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture
def client(tmp_path: Path, database_url: str) -> Iterator[httpx.Client]:
    live: LiveServer = start_live_server(tmp_path, database_url)
    try:
        with httpx.Client(base_url=live.url, headers=live.headers, timeout=60) as c:
            yield c
    finally:
        live.stop()


def test_a_finish_with_the_wrong_digest_keeps_the_session_on_the_native_api(
    client: httpx.Client,
) -> None:
    session = client.post(UPLOADS).json()["id"]
    url = f"{UPLOADS}/{session}"
    sent = client.patch(url, content=PART, headers={"Upload-Offset": "0"})
    assert sent.status_code == 200, sent.text

    wrong = client.post(f"{url}/finish", params={"digest": sha(b"something else")})
    assert wrong.status_code == 400 and error_code(wrong) == "digest_mismatch", wrong.text
    # Too early (half the bytes) is refused the same way, and changes nothing either.
    early = client.post(f"{url}/finish", params={"digest": sha(PART + REST)})
    assert early.status_code == 400 and error_code(early) == "digest_mismatch"

    status = client.get(url)
    assert status.status_code == 200 and status.json()["offset"] == len(PART), status.text
    more = client.patch(url, content=REST, headers={"Upload-Offset": str(len(PART))})
    assert more.status_code == 200 and more.json()["offset"] == len(PART + REST)
    done = client.post(f"{url}/finish", params={"digest": sha(PART + REST)})
    assert done.status_code == 201, done.text
    blob = client.get(f"/api/v1/namespaces/default/blobs/{sha(PART + REST)}")
    assert blob.content == PART + REST
    assert client.get(url).status_code == 404  # a finished session is gone


def test_a_close_with_the_wrong_digest_keeps_the_session_on_v2(client: httpx.Client) -> None:
    started = client.post("/v2/default/wire/blobs/uploads/")
    assert started.status_code == 202, started.text
    location = started.headers["Location"]
    first = client.patch(location, content=PART, headers={"Content-Range": f"0-{len(PART) - 1}"})
    assert first.status_code == 202

    wrong = client.put(location, params={"digest": sha(b"other bytes")})
    assert wrong.status_code == 400 and oci_error(wrong) == "DIGEST_INVALID"
    # A last chunk sent with the close and the wrong digest is taken off again.
    with_tail = client.put(location, params={"digest": sha(b"other bytes")}, content=REST)
    assert with_tail.status_code == 400 and oci_error(with_tail) == "DIGEST_INVALID"

    status = client.get(location)
    assert status.status_code == 204, status.text
    assert status.headers["Range"] == f"0-{len(PART) - 1}"
    closed = client.put(location, params={"digest": sha(PART + REST)}, content=REST)
    assert closed.status_code == 201, closed.text
    fetched = client.get(f"/v2/default/wire/blobs/{sha(PART + REST)}")
    assert fetched.status_code == 200 and fetched.content == PART + REST
