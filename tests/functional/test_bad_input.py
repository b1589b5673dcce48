"""Bad input gets a clear 4xx and changes nothing (DESIGN §2, invariants 8 and 9).

The real app, in-process, over SQLite and PostgreSQL. Every refusal is held to three things:
its status, the exact ``error.code`` of the one error body, and an unchanged registry: the row
count of every table and the set of files under the blob folder are the same before and after.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select

from cairn.api.app import create_app
from cairn.config import Settings
from cairn.services.container import Services
from cairn.storage.sql.tables import metadata
from tests.conftest import bearer, make_settings
from tests.functional import error_code

API = "/api/v1"
# Registrations go to a model that does not exist yet: a refused one must not create it.
REGISTER = f"{API}/models/default/m/versions"
BLOB = b"the bytes of a real blob\n"
DIGEST = "sha256:" + hashlib.sha256(BLOB).hexdigest()
HEX = DIGEST.removeprefix("sha256:")
JSON_TYPE = {"content-type": "application/json"}

State = tuple[dict[str, int], frozenset[str]]
# Every table's row count in one round trip.
COUNT_ROWS = select(
    *(
        select(func.count()).select_from(table).scalar_subquery().label(table.name)
        for table in metadata.sorted_tables
    )
)


@dataclass
class Api:
    client: TestClient
    services: Services
    blob_root: Path

    def state(self) -> State:
        """The row count of every table and every file under the blob folder."""
        with self.services.db.engine.connect() as conn:
            rows = dict(conn.execute(COUNT_ROWS).mappings().one())
        files = frozenset(
            p.relative_to(self.blob_root).as_posix()
            for p in self.blob_root.rglob("*")
            if p.is_file()
        )
        return rows, files

    def refused(self, method: str, url: str, status: int, code: str, **kwargs: Any) -> Response:
        """Send a request that must be refused with ``status`` and ``code``, changing nothing."""
        before = self.state()
        response = self.client.request(method, url, **kwargs)
        shown = f"{method} {url} {kwargs!r}"[:300]
        assert response.status_code == status, f"{shown}: {response.status_code} {response.text}"
        assert error_code(response) == code, f"{shown}: {response.text}"
        assert self.state() == before, f"{shown} changed the registry"
        return response

    def upload(self, data: bytes = BLOB) -> str:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        response = self.client.put(f"{API}/namespaces/default/blobs/{digest}", content=data)
        assert response.status_code == 201, response.text
        return digest


def _open(services: Services, settings: Settings) -> Iterator[Api]:
    blob_root = Path(urlparse(settings.effective_blob_url).path)
    if not settings.admin_token_file.exists():
        services.identity.bootstrap(settings.admin_token_file)
    token = settings.admin_token_file.read_text().strip()
    with TestClient(
        create_app(services), raise_server_exceptions=False, headers=bearer(token)
    ) as client:
        yield Api(client, services, blob_root)


@pytest.fixture
def api(services: Services, settings: Settings) -> Iterator[Api]:
    yield from _open(services, settings)


@pytest.fixture
def small(tmp_path: Path, database_url: str) -> Iterator[Api]:
    """An app with small limits: 2 KiB JSON bodies, 1 KiB blobs, pages of at most 2."""
    settings = make_settings(
        tmp_path,
        database_url,
        max_json_bytes=2048,
        max_blob_bytes=1024,
        page_size_default=2,
        page_size_max=2,
    )
    services = Services.open(settings)
    try:
        yield from _open(services, settings)
    finally:
        services.close()


def one_file(
    path: Any = "model.bin", size: Any = len(BLOB), digest: Any = DIGEST
) -> dict[str, Any]:
    return {"path": path, "size": size, "digest": digest}


def registration(files: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"manifest": {"files": files}, **extra}


# --- names -------------------------------------------------------------------------------

BAD_NAMES = [
    "a/b",
    "a\\b",
    "m" * 129,
    "modèle",
    "\uff26\uff35\uff2c\uff2c",  # FULL in full-width letters
    "\u212a",  # KELVIN SIGN: lower-cases into an ASCII k
    "e\u0301",
    ".hidden",
    "-lead",
    "_lead",
    "",
    " ",
    "a b",
    "a\tb",
    "a\x01b",
    3,
    None,
    ["m"],
]


def test_names_that_collide_once_normalised_are_refused(api: Api) -> None:
    response = api.client.post(f"{API}/models/default", json={"name": "Fraud-Model"})
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "Fraud-Model"  # kept as spelled, unique as fraud-model
    for twin in ["fraud_model", "FRAUD-MODEL", "fraud.model", "Fraud__Model", "fraud-_.model"]:
        api.refused("POST", f"{API}/models/default", 409, "model_exists", json={"name": twin})
    api.refused("POST", f"{API}/namespaces", 409, "namespace_exists", json={"name": "DEFAULT"})


def test_invalid_names_in_a_body_are_refused(api: Api) -> None:
    for url in [f"{API}/models/default", f"{API}/namespaces"]:
        for name in BAD_NAMES:
            api.refused("POST", url, 400, "invalid_name", json={"name": name})
        # NUL never reaches the name rules: no JSON string may hold it (the database cannot).
        api.refused("POST", url, 400, "invalid_json", json={"name": "a\x00b"})


def test_invalid_names_in_a_url_are_refused(api: Api) -> None:
    body = registration([one_file()])
    api.upload()
    for name in [".hidden", "-lead", "modèle", "m" * 129, "a%00b", "a%20b", "%E2%84%AA"]:
        api.refused("POST", f"{API}/models/default/{name}/versions", 400, "invalid_name", json=body)
        api.refused("POST", f"{API}/models/{name}", 400, "invalid_name", json={"name": "m"})
    # A slash, even encoded, splits the path: no route takes the name.
    api.refused("POST", f"{API}/models/default/a%2Fb/versions", 404, "route_not_found", json=body)
    for alias in ["latest", "7", ".x", "a%00b", "Ä"]:
        url = f"{API}/models/default/m/aliases/{alias}"
        api.refused("PUT", url, 400, "invalid_name", json={"version": 1})


# --- references ----------------------------------------------------------------------------

BAD_REFERENCES = [
    "",
    "a/b/c",
    "/m",
    "ns/",
    ":3",
    "m:0",
    "m:-1",
    "m:abc",
    "m:1.5",
    "m:1:2",
    "m:\u0661",  # an Arabic-Indic digit
    "m@",
    "m@1",
    "m@latest",
    "m@a@b",
    "m:latest@x",
    "M o d e l",
    "m" * 401,
    "../m",
]
BAD_SELECTORS = ["0", "00", "-1", "abc", "1.5", "1e3", "@latest", "@", "@7", "@.x", "%40latest"]


def test_malformed_references_are_refused(api: Api) -> None:
    for ref in BAD_REFERENCES:
        api.refused("GET", f"{API}/resolve", 400, "invalid_reference", params={"ref": ref})
    api.refused("GET", f"{API}/resolve", 400, "invalid_input")  # no ref at all


def test_malformed_version_selectors_are_refused_by_every_method(api: Api) -> None:
    api.upload()
    assert api.client.post(REGISTER, json=registration([one_file()])).status_code == 201
    version = f"{API}/models/default/m/versions"
    for selector in BAD_SELECTORS:
        url = f"{version}/{selector}"
        api.refused("GET", url, 400, "invalid_reference")
        api.refused("PATCH", url, 400, "invalid_reference", json={"description": "x"})
        api.refused("DELETE", url, 400, "invalid_reference")
        api.refused("PUT", f"{url}/tags/k", 400, "invalid_reference", json={"value": "v"})


def test_version_numbers_past_32_bits_name_no_version(api: Api) -> None:
    """The database column is 32-bit; a larger number is simply not a version (not a 500)."""
    api.upload()
    assert api.client.post(REGISTER, json=registration([one_file()])).status_code == 201
    version = f"{API}/models/default/m/versions"
    for number in [2**31, 999_999_999_999]:
        api.refused("GET", f"{version}/{number}", 404, "version_not_found")
        api.refused("DELETE", f"{version}/{number}", 404, "version_not_found")
        api.refused(
            "GET", f"{API}/resolve", 404, "version_not_found", params={"ref": f"m:{number}"}
        )
    for number in [2**31, 2**62]:
        url = f"{API}/models/default/m/aliases/prod"
        api.refused("PUT", url, 404, "version_not_found", json={"version": number})


# --- manifest paths --------------------------------------------------------------------------

UNSAFE_PATHS = [
    # '..' in every spelling
    "..",
    "../x",
    "a/../b",
    "a/..",
    "%2e%2e/x",
    "%2E%2E/x",
    ".%2e/x",
    "%2e./x",
    "a/%2e%2e",
    "..%2fx",
    "..%2Fx",
    "%252e%252e/x",
    "%25252e%25252e/x",
    "%2525252e%2525252e/x",
    "..%5cx",
    # absolute
    "/etc/passwd",
    "//server/share",
    "%2fetc/passwd",
    # drive letters
    "C:/x",
    "c:x",
    "C:",
    "%43:/x",
    # backslashes
    "a\\b",
    "\\x",
    "\\\\server\\share",
    "a%5cb",
    # control characters and an encoded NUL
    "a\x01b",
    "a\nb",
    "a\rb",
    "a\tb",
    "\x1b[31m",
    "a\x7fb",
    "a%00b",
    # empty, '.' and trailing-slash segments
    ".",
    "./x",
    "a/./b",
    "a//b",
    "a/",
    # too long
    "x" * 1025,
    "d/" + "x" * 256,
    "é" * 513,
]


def test_unsafe_manifest_paths_are_refused(api: Api) -> None:
    api.upload()  # the blob exists: only the path is wrong
    for path in UNSAFE_PATHS:
        body = registration([one_file(path)])
        api.refused("POST", REGISTER, 400, "unsafe_path", json=body)
    for path in ["", 7, None]:
        api.refused("POST", REGISTER, 400, "unsafe_path", json=registration([one_file(path)]))
    body = registration([one_file("a\x00b")])
    api.refused("POST", REGISTER, 400, "invalid_json", json=body)


def test_paths_that_collide_once_normalised_are_refused(api: Api) -> None:
    api.upload()
    for first, second in [
        ("a", "a"),
        ("Weights.bin", "weights.bin"),
        ("STRASSE", "strasse"),
        ("\u00e9.bin", "e\u0301.bin"),  # NFC and NFD spellings of é
        ("dir/\u00c5", "dir/A\u030a"),
        ("dir", "dir/x"),  # a file that is also a folder
        ("Dir", "dir/x"),
    ]:
        body = registration([one_file(first), one_file(second)])
        api.refused("POST", REGISTER, 400, "unsafe_path", json=body)
        body = registration([one_file(second), one_file(first)])
        api.refused("POST", REGISTER, 400, "unsafe_path", json=body)


def test_malformed_manifests_are_refused(api: Api) -> None:
    api.upload()
    entry = one_file()
    for manifest in [
        [],
        {"files": []},
        {"files": [entry], "extra": 1},
        "files",
        None,
        [{"path": "a", "size": 1}],
        [{**entry, "mode": "0755"}],
        [{**entry, "size": -1}],
        [{**entry, "size": 1.5}],
        [{**entry, "size": True}],
        [{**entry, "size": "25"}],
        [{**entry, "size": 2**51}],
        [entry, "a.bin"],
    ]:
        api.refused("POST", REGISTER, 400, "invalid_manifest", json={"manifest": manifest})
    api.refused("POST", REGISTER, 400, "invalid_metadata", json={"description": "no manifest"})


# --- digests -----------------------------------------------------------------------------------

BAD_DIGESTS = [
    "md5:" + "a" * 32,
    "sha1:" + "a" * 40,
    "sha512:" + "a" * 128,
    "SHA256:" + HEX,
    "sha256:" + HEX.upper(),
    "sha256:" + HEX[:32] + HEX[32:].upper(),
    "sha256:" + HEX[:-1],
    "sha256:" + HEX + "0",
    "sha256:" + "g" * 64,
    "sha256" + HEX,
    "sha256-" + HEX,
    HEX,
    " " + DIGEST,
    DIGEST + " ",
    DIGEST + "\n",
    "sha256:",
    "",
]


def test_bad_digests_are_refused_when_asking_what_is_missing(api: Api) -> None:
    url = f"{API}/namespaces/default/blobs/missing"
    for digest in [*BAD_DIGESTS, 5, None, [DIGEST]]:
        api.refused("POST", url, 400, "invalid_digest", json={"digests": [DIGEST, digest]})
    for body in [{"digests": DIGEST}, {"digests": [DIGEST], "more": 1}, [DIGEST], {}]:
        api.refused("POST", url, 400, "invalid_input", json=body)


def test_bad_digests_are_refused_when_putting_a_blob(api: Api) -> None:
    for digest in BAD_DIGESTS:
        if not digest.strip():
            continue  # an empty path segment is another route
        url = f"{API}/namespaces/default/blobs/{quote(digest, safe=':')}"
        api.refused("PUT", url, 400, "invalid_digest", content=BLOB)


def test_bad_digests_are_refused_in_a_manifest(api: Api) -> None:
    api.upload()
    for digest in [*BAD_DIGESTS, 5, None]:
        body = registration([one_file(digest=digest)])
        api.refused("POST", REGISTER, 400, "invalid_digest", json=body)


def test_bad_digests_are_refused_when_finishing_an_upload(api: Api) -> None:
    session = api.client.post(f"{API}/namespaces/default/uploads").json()["id"]
    url = f"{API}/namespaces/default/uploads/{session}"
    assert api.client.patch(url, content=BLOB, headers={"Upload-Offset": "0"}).status_code == 200
    for digest in BAD_DIGESTS:
        api.refused("POST", f"{url}/finish", 400, "invalid_digest", params={"digest": digest})
    assert api.client.get(url).json()["offset"] == len(BLOB)  # still there, untouched


# --- sizes ---------------------------------------------------------------------------------------


def test_a_manifest_size_that_differs_from_the_stored_blob_is_refused(api: Api) -> None:
    api.upload()
    for size in [len(BLOB) - 1, len(BLOB) + 1, 0, 2**40]:
        body = registration([one_file(size=size)])
        api.refused("POST", REGISTER, 400, "size_mismatch", json=body)
    other = "sha256:" + hashlib.sha256(b"never uploaded").hexdigest()
    body = registration([one_file(), one_file("other.bin", digest=other)])
    response = api.refused("POST", REGISTER, 409, "missing_blobs", json=body)
    assert response.json()["error"]["details"]["missing"] == [other]


def test_a_put_whose_bytes_do_not_match_the_digest_stores_nothing(api: Api) -> None:
    declared = "sha256:" + hashlib.sha256(b"what was promised").hexdigest()
    sent = b"what was sent instead"
    api.refused(
        "PUT", f"{API}/namespaces/default/blobs/{declared}", 400, "digest_mismatch", content=sent
    )
    actual = "sha256:" + hashlib.sha256(sent).hexdigest()
    for digest in (declared, actual):
        api.refused("GET", f"{API}/namespaces/default/blobs/{digest}", 404, "blob_not_found")
        assert api.client.head(f"{API}/namespaces/default/blobs/{digest}").status_code == 404
    missing = api.client.post(
        f"{API}/namespaces/default/blobs/missing", json={"digests": [declared, actual]}
    )
    assert missing.json() == {"missing": [declared, actual]}


def test_a_put_without_content_length_is_refused(api: Api) -> None:
    def chunked() -> Iterator[bytes]:
        yield BLOB[:10]
        yield BLOB[10:]

    response = api.refused(
        "PUT", f"{API}/namespaces/default/blobs/{DIGEST}", 400, "invalid_input", content=chunked()
    )
    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert "content-length" not in response.request.headers


def test_a_put_larger_than_the_blob_limit_is_refused(small: Api) -> None:
    data = b"x" * 1025
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    small.refused(
        "PUT", f"{API}/namespaces/default/blobs/{digest}", 413, "payload_too_large", content=data
    )
    assert (
        small.client.put(f"{API}/namespaces/default/blobs/{DIGEST}", content=BLOB).status_code
        == 201
    )


# --- upload sessions ---------------------------------------------------------------------------


def test_out_of_order_chunks_are_refused_and_leave_the_offset_alone(api: Api) -> None:
    session = api.client.post(f"{API}/namespaces/default/uploads").json()["id"]
    url = f"{API}/namespaces/default/uploads/{session}"
    first = api.client.patch(url, content=BLOB[:10], headers={"Upload-Offset": "0"})
    assert first.status_code == 200, first.text
    for offset in ["0", "3", "11", "9999"]:
        rest = {"Upload-Offset": offset}
        response = api.refused(
            "PATCH", url, 409, "upload_offset_mismatch", content=BLOB, headers=rest
        )
        assert response.json()["error"]["details"]["offset"] == 10
    for offset in ["x", "-1", "1.5", "+5", " 5", "9" * 20, ""]:
        rest = {"Upload-Offset": offset}
        api.refused("PATCH", url, 400, "invalid_input", content=BLOB[10:], headers=rest)
    api.refused("PATCH", url, 400, "invalid_input", content=BLOB[10:])  # no Upload-Offset
    status = api.client.get(url)
    assert (status.json()["offset"], status.headers["Upload-Offset"]) == (10, "10")
    ok = api.client.patch(url, content=BLOB[10:], headers={"Upload-Offset": "10"})
    assert ok.json()["offset"] == len(BLOB)


def test_finishing_with_the_wrong_digest_keeps_the_session_and_stores_nothing(
    api: Api,
) -> None:
    session = api.client.post(f"{API}/namespaces/default/uploads").json()["id"]
    url = f"{API}/namespaces/default/uploads/{session}"
    assert api.client.patch(url, content=BLOB, headers={"Upload-Offset": "0"}).status_code == 200
    rows, files = api.state()
    wrong = "sha256:" + hashlib.sha256(b"something else").hexdigest()
    response = api.client.post(f"{url}/finish", params={"digest": wrong})
    assert response.status_code == 400
    assert error_code(response) == "digest_mismatch"
    assert response.json()["error"]["details"] == {"expected": wrong, "actual": DIGEST}
    # A refused request leaves every row and file as it found them: no blob was made, and
    # the session is there to be finished with the right digest.
    assert api.state() == (rows, files)
    for digest in (wrong, DIGEST):
        api.refused("GET", f"{API}/namespaces/default/blobs/{digest}", 404, "blob_not_found")
    assert api.client.get(url).json()["offset"] == len(BLOB)
    assert api.client.post(f"{url}/finish", params={"digest": DIGEST}).status_code == 201


def test_unknown_and_path_like_session_ids_are_not_found(api: Api) -> None:
    real = api.client.post(f"{API}/namespaces/default/uploads").json()["id"]
    for session, code in [
        ("0" * 32, "upload_not_found"),
        ("nope", "upload_not_found"),
        (real + "0", "upload_not_found"),
        ("x" * 65, "upload_not_found"),
        ("%2e%2e", "upload_not_found"),
        ("a.b", "upload_not_found"),
        ("a%00b", "upload_not_found"),
        ("%00", "upload_not_found"),
        ("a%5Cb", "upload_not_found"),
        ("..%5C..%5Cetc", "upload_not_found"),
        (f"..%5C{real}", "upload_not_found"),
        # An encoded slash is a slash by the time routes are matched.
        ("..%2F..%2Fblobs", "route_not_found"),
        ("%2Fetc%2Fpasswd", "route_not_found"),
    ]:
        url = f"{API}/namespaces/default/uploads/{session}"
        headers = {"Upload-Offset": "0"}
        api.refused("GET", url, 404, code)
        api.refused("PATCH", url, 404, code, content=BLOB, headers=headers)
        api.refused("POST", f"{url}/finish", 404, code, params={"digest": DIGEST})
        api.refused("DELETE", url, 404, code)
    assert api.client.get(f"{API}/namespaces/default/uploads/{real}").json()["offset"] == 0


# --- JSON bodies -------------------------------------------------------------------------------

JSON_ENDPOINTS = [
    ("POST", REGISTER),
    ("POST", f"{API}/models/default"),
    ("POST", f"{API}/namespaces"),
    ("PATCH", f"{API}/models/default/m"),
    ("PUT", f"{API}/models/default/m/tags/k"),
    ("PUT", f"{API}/models/default/m/aliases/prod"),
    ("PUT", f"{API}/namespaces/default/required-fields"),
    ("POST", f"{API}/namespaces/default/blobs/missing"),
]
INVALID_JSON = [
    b"[" * 100 + b"]" * 100,
    b'{"a":' * 100 + b"1" + b"}" * 100,
    b'{"description": "a", "description": "b"}',
    b'{"metrics": {"auc": NaN}}',
    b'{"metrics": {"auc": Infinity}}',
    b'{"metrics": {"auc": -Infinity}}',
    b'{"metrics": {"auc": 1e400}}',
    b'{"metrics": {"auc": %d}}' % 2**70,
    b'{"metrics": {"auc": %d}}' % -(2**70),
    b'{"description": "\xff\xfe"}',
    b'{"description": "caf\xe9"}',  # Latin-1, not UTF-8
    b'{"description": "\\ud800"}',  # a lone surrogate
    b'{"description": "a\\u0000b"}',
    b'{"description": ',
    b"{'description': 'single quotes'}",
    b'{"description": "x",}',
    b'{"description": "x"} trailing',
    b"",
    b"   ",
]


def test_a_json_body_over_the_size_cap_is_refused(small: Api) -> None:
    big = json.dumps({"description": "x" * 3000}).encode()

    def chunked() -> Iterator[bytes]:
        yield big[:1500]
        yield big[1500:]

    for method, url in JSON_ENDPOINTS:
        small.refused(method, url, 413, "payload_too_large", content=big, headers=JSON_TYPE)
        small.refused(method, url, 413, "payload_too_large", content=chunked(), headers=JSON_TYPE)


def test_invalid_json_is_refused_everywhere(api: Api) -> None:
    for body in INVALID_JSON:
        api.refused("POST", REGISTER, 400, "invalid_json", content=body, headers=JSON_TYPE)
    # Every route reads its body through the same strict reader.
    for body in INVALID_JSON[:4]:
        for method, url in JSON_ENDPOINTS[1:]:
            api.refused(method, url, 400, "invalid_json", content=body, headers=JSON_TYPE)


def test_nul_in_any_json_string_is_refused_before_it_reaches_the_database(api: Api) -> None:
    """PostgreSQL stores no NUL in text or JSONB; SQLite would. Both refuse it alike."""
    api.upload()
    files = [one_file()]
    for extra in [
        {"params": {"lr": "0.1\x00"}},
        {"provenance": {"run": {"id": "r\x00"}}},
        {"provenance": {"extra": {"k\x00": 1}}},
        {"provenance": {"extra": {"k": ["a", {"b": "\x00"}]}}},
        {"schema": {"inputs": [{"type": "f\x00"}]}},
        {"idempotency_key": "key\x00"},
    ]:
        api.refused("POST", REGISTER, 400, "invalid_json", json=registration(files, **extra))
    required = f"{API}/namespaces/default/required-fields"
    api.refused("PUT", required, 400, "invalid_json", json={"required_fields": ["a\x00"]})


def test_a_body_that_is_not_json_is_refused(api: Api) -> None:
    body = b'{"name": "m"}'
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/jsonx",
        "application/octet-stream",
    ]:
        headers = {"content-type": content_type}
        api.refused("POST", REGISTER, 400, "invalid_input", content=body, headers=headers)
    for method, url in JSON_ENDPOINTS[1:]:
        headers = {"content-type": "text/plain"}
        api.refused(method, url, 400, "invalid_input", content=body, headers=headers)
    form = {"name": "m"}
    api.refused("POST", f"{API}/models/default", 400, "invalid_input", data=form)


# --- metadata ----------------------------------------------------------------------------------


def test_unknown_or_mistyped_metadata_is_refused(api: Api) -> None:
    api.upload()
    files = [one_file()]
    for extra in [
        {"bogus": 1},
        {"Description": "capitalised"},
        {"provenance": {"colour": "red"}},
        {"provenance": {"code": {"comit": "abcdef1"}}},
        {"provenance": {"code": {"commit": "not-hex"}}},
        {"provenance": {"code": {"dirty": "yes"}}},
        {"provenance": {"datasets": [{"uri": "s3://d", "colour": "red"}]}},
        {"provenance": {"datasets": [{"uri": "s3://d", "digest": "md5:x"}]}},
        {"provenance": {"environment": {"pkgs": {}}}},
        {"provenance": {"parents": [{"ref": "m:1", "why": "x"}]}},
        {"provenance": "github.com/x"},
        {"metrics": {"auc": "0.9"}},
        {"metrics": {"auc": True}},
        {"metrics": {"auc": None}},
        {"metrics": {"auc": [0.9]}},
        {"metrics": {"": 1}},
        {"metrics": [0.9]},
        {"params": {"lr": [0.1]}},
        {"params": {"lr": None}},
        {"schema": {"inputs": [{"name": "x"}]}},
        {"schema": {"inputs": [{"type": "f32", "shape": [-2]}]}},
        {"schema": {"extra": []}},
        {"description": 7},
        {"idempotency_key": ""},
        {"idempotency_key": 7},
    ]:
        api.refused("POST", REGISTER, 400, "invalid_metadata", json=registration(files, **extra))
    too_long = "v" * 100_001
    for tags in [{"k": 1}, {"bad=key": "v"}, {"k": "a\nb"}, {"k": too_long}, {"/k": "v"}]:
        body = registration(files, tags=tags)
        api.refused("POST", REGISTER, 400, "invalid_name", json=body)
    api.refused("POST", REGISTER, 400, "invalid_metadata", json=registration(files, tags=["k"]))


def test_unknown_model_and_version_fields_are_refused(api: Api) -> None:
    api.upload()
    assert api.client.post(REGISTER, json=registration([one_file()])).status_code == 201
    model = f"{API}/models/default/m"
    for body in [{"colour": "red"}, {"description": 7}, {"tags": "x"}, {"card": ["x"]}]:
        api.refused("PATCH", model, 400, "invalid_metadata", json=body)
        api.refused(
            "POST", f"{API}/models/default", 400, "invalid_metadata", json={"name": "n", **body}
        )
    for body in [{"state": "production"}, {"number": 9}, {"description": 7}, [], "x"]:
        api.refused("PATCH", f"{model}/versions/1", 400, "invalid_metadata", json=body)
    for body in [{"value": 1}, {"value": "v", "more": 1}, {}, ["v"]]:
        api.refused("PUT", f"{model}/tags/k", 400, "invalid_input", json=body)
        api.refused("PUT", f"{model}/versions/1/tags/k", 400, "invalid_input", json=body)
    # Tag values are MLflow's: up to 100,000 characters, here without control characters.
    for value in ["v" * 100_001, "a\nb", "nel\x85"]:
        api.refused("PUT", f"{model}/tags/k", 400, "invalid_name", json={"value": value})
        api.refused("PUT", f"{model}/versions/1/tags/k", 400, "invalid_name", json={"value": value})
    for key in ["bad%3Dkey", "%00", "-" * 250 + "x", "a%2F%2Fb"]:
        api.refused("PUT", f"{model}/tags/{key}", 400, "invalid_name", json={"value": "v"})
        api.refused("DELETE", f"{model}/tags/{key}", 400, "invalid_name")
        api.refused("DELETE", f"{model}/versions/1/tags/{key}", 400, "invalid_name")
    for body in [{"version": "1"}, {"version": 0}, {"version": True}, {"version": 1.0}, {}]:
        api.refused("PUT", f"{model}/aliases/prod", 400, "invalid_input", json=body)
    required = f"{API}/namespaces/default/required-fields"
    for body in [{"required_fields": "description"}, {"required_fields": [""]}, {}]:
        api.refused("PUT", required, 400, "invalid_metadata", json=body)


# --- pages, cursors and filters ------------------------------------------------------------------


def _cursor(key: object) -> str:
    return base64.urlsafe_b64encode(json.dumps([key]).encode()).decode().rstrip("=")


def test_page_sizes_are_clamped_not_refused(small: Api) -> None:
    small.upload()
    for _ in range(3):
        assert small.client.post(REGISTER, json=registration([one_file()])).status_code == 201
    page_max = small.services.settings.page_size_max
    for url in [f"{API}/versions", REGISTER]:
        for limit, expected in [(0, 1), (-5, 1), (1, 1), (10**9, page_max), (10**30, page_max)]:
            response = small.client.get(url, params={"limit": limit})
            assert response.status_code == 200, response.text
            items = response.json()["items"]
            assert 1 <= len(items) <= page_max
            assert len(items) == expected, (url, limit)
        for limit in ["abc", "1.5", ""]:
            small.refused("GET", url, 400, "invalid_input", params={"limit": limit})


def test_tampered_cursors_are_refused(small: Api) -> None:
    small.upload()
    for _ in range(3):
        assert small.client.post(REGISTER, json=registration([one_file()])).status_code == 201
    real = small.client.get(REGISTER).json()["next_cursor"]
    assert real
    tampered = [
        real[:-1],
        real + "A",
        real[::-1],
        "!!!",
        "x" * 600,
        base64.urlsafe_b64encode(b"[1,2]").decode(),
        base64.urlsafe_b64encode(b"{}").decode(),
        *(_cursor(key) for key in [-1, "x", 1.5, True, None, [1], 2**31, 2**63, 2**70]),
    ]
    for url in [f"{API}/versions", REGISTER, f"{API}/models"]:
        for cursor in tampered:
            small.refused("GET", url, 400, "invalid_cursor", params={"cursor": cursor})


def test_bad_filters_are_refused(api: Api) -> None:
    for text in [
        "name ==",
        "bogus = 1",
        "(",
        "name = 'a')",
        "metrics.auc > 'x'",
        "state = 'nirvana'",
        "number = 99999999999999999999",
        "name = 'a\x00'",
        "tags.`a\x00` = 'x'",
        "created > 'yesterday'",
        "x" * 5000,
        "NOT " * 40 + "name = 'a'",
    ]:
        api.refused("GET", f"{API}/versions", 400, "invalid_filter", params={"filter": text})
    for text in ["number = 1", "metrics.auc > 0.5", "has(params.lr)", "name = 'a\x00'"]:
        api.refused("GET", f"{API}/models", 400, "invalid_filter", params={"filter": text})


def test_filters_on_numbers_past_32_bits_match_nothing(api: Api) -> None:
    api.upload()
    assert api.client.post(REGISTER, json=registration([one_file()])).status_code == 201
    for text, count in [
        ("number > 2147483648", 0),
        ("number = 9223372036854775807", 0),
        ("number IN (1, 4294967296)", 1),
        ("number < 9223372036854775807", 1),
    ]:
        response = api.client.get(f"{API}/versions", params={"filter": text})
        assert response.status_code == 200, response.text
        assert len(response.json()["items"]) == count, text


# --- ranges --------------------------------------------------------------------------------------


def test_malformed_or_unsatisfiable_ranges_are_refused(api: Api) -> None:
    api.upload()
    url = f"{API}/namespaces/default/blobs/{DIGEST}"
    size = len(BLOB)
    for header in [
        "bytes=abc",
        "bytes=",
        "bytes=-",
        "bytes=-2",  # suffix ranges are not served
        "bytes=0-1,2-3",
        "items=0-1",
        "bytes 0-1",
        "bytes=1.5-2",
        "bytes=5-3",
        f"bytes={size}-",
        f"bytes={size + 10}-{size + 20}",
        "bytes=99999999999999999999-",
    ]:
        api.refused("GET", url, 416, "invalid_range", headers={"Range": header})
    ok = api.client.get(url, headers={"Range": f"bytes=4-{size + 100}"})
    assert ok.status_code == 206
    assert ok.content == BLOB[4:]
    assert ok.headers["Content-Range"] == f"bytes 4-{size - 1}/{size}"
