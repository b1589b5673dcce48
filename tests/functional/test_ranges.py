"""One ``Range`` reader, two answers: the table in ``cairn.api.ranges``, played through HTTP.

The real app in-process, over SQLite and PostgreSQL: the same blob is downloaded through the
native API and under ``/v2/`` with every kind of header, and each surface answers what the
table says it does.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from cairn.config import Settings
from cairn.services.container import Services
from tests.functional import error_code
from tests.functional.oci_support import digest_of, oci_error
from tests.functional.test_bad_input import Api, _open

DATA = bytes(range(256)) * 4  # 1024 bytes
SIZE = len(DATA)
DIGEST = digest_of(DATA)
NATIVE = f"/api/v1/namespaces/default/blobs/{DIGEST}"
OCI = f"/v2/default/m/blobs/{DIGEST}"

# (header, [start, end) both surfaces send as 206)
SERVED = [
    ("bytes=0-0", 0, 1),
    ("bytes=0-", 0, SIZE),
    ("bytes=100-199", 100, 200),
    (f"bytes=1000-{SIZE + 500}", 1000, SIZE),  # the end clamped to the blob's
    (f"bytes={SIZE - 1}-{SIZE - 1}", SIZE - 1, SIZE),
    ("BYTES=5-9", 5, 10),  # the unit's case does not matter (RFC 9110 §14.1)
    ("  bytes=5-9 ", 5, 10),
]
# Not a range Cairn reads: 416 natively, the whole blob under /v2/.
UNREAD = [
    "bytes=0-1,4-5",  # several ranges
    "bytes=0-1, 4-5",
    "items=0-1",
    "bytes 0-1",
    "bytes=",
    "bytes=-",
    "bytes=abc",
    "bytes=1.5-2",
    "bytes=+1-2",
    "bytes=5-3",  # last before first
    "bytes=\u0661-2",  # not ASCII (an Arabic-Indic digit one)
    "bytes=99999999999999999999-",  # 20 digits
    "",
]
# Starts at or past the blob's end: 416 on both.
UNSATISFIABLE = [f"bytes={SIZE}-", f"bytes={SIZE + 10}-{SIZE + 20}", "bytes=9999999999999999999-"]


@pytest.fixture
def api(services: Services, settings: Settings) -> Iterator[Api]:
    for opened in _open(services, settings):
        opened.upload(DATA)
        pushed = opened.client.post(
            "/v2/default/m/blobs/uploads/", params={"digest": DIGEST}, content=DATA
        )
        assert pushed.status_code == 201, pushed.text
        yield opened


def get(api: Api, url: str, header: str) -> httpx.Response:
    return api.client.get(url, headers={"Range": header.encode("utf-8")})


def test_a_byte_range_is_served_alike_on_both_surfaces(api: Api) -> None:
    for url in (NATIVE, OCI):
        for header, start, end in SERVED:
            part = get(api, url, header)
            assert part.status_code == 206, (url, header, part.text)
            assert part.content == DATA[start:end], (url, header)
            assert part.headers["Content-Range"] == f"bytes {start}-{end - 1}/{SIZE}"
            assert part.headers["Content-Length"] == str(end - start)
        whole = api.client.get(url)
        assert (whole.status_code, whole.content) == (200, DATA)


def test_a_range_past_the_end_is_416_on_both_surfaces(api: Api) -> None:
    for header in UNSATISFIABLE:
        native = get(api, NATIVE, header)
        assert native.status_code == 416 and error_code(native) == "invalid_range", header
        oci = get(api, OCI, header)
        assert oci.status_code == 416 and oci_error(oci) == "RANGE_INVALID", header
        assert oci.headers["Content-Range"] == f"bytes */{SIZE}"


def test_a_suffix_range_is_served_under_v2_and_refused_natively(api: Api) -> None:
    for header, start in [("bytes=-16", SIZE - 16), (f"bytes=-{SIZE + 5}", 0)]:
        native = get(api, NATIVE, header)
        assert native.status_code == 416 and error_code(native) == "invalid_range", header
        oci = get(api, OCI, header)
        assert (oci.status_code, oci.content) == (206, DATA[start:]), header
        assert oci.headers["Content-Range"] == f"bytes {start}-{SIZE - 1}/{SIZE}"
    empty = get(api, OCI, "bytes=-0")  # the last 0 bytes: none of the blob
    assert empty.status_code == 416 and empty.headers["Content-Range"] == f"bytes */{SIZE}"


def test_a_header_that_is_not_one_byte_range_is_refused_natively_and_ignored_under_v2(
    api: Api,
) -> None:
    for header in UNREAD:
        native = get(api, NATIVE, header)
        assert native.status_code == 416, (header, native.text)
        assert error_code(native) == "invalid_range", header
        oci = get(api, OCI, header)
        assert (oci.status_code, oci.content) == (200, DATA), (header, oci.text)
        assert "Content-Range" not in oci.headers


def test_no_range_of_an_empty_blob_is_satisfiable(api: Api) -> None:
    empty = api.upload(b"")
    pushed = api.client.post("/v2/default/m/blobs/uploads/", params={"digest": empty})
    assert pushed.status_code == 201, pushed.text
    for url in (f"/api/v1/namespaces/default/blobs/{empty}", f"/v2/default/m/blobs/{empty}"):
        for header in ("bytes=0-", "bytes=0-0"):
            refused = get(api, url, header)
            assert refused.status_code == 416, (url, header, refused.headers, refused.text)
        whole = api.client.get(url)
        assert (whole.status_code, whole.content) == (200, b"")
