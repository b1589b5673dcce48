"""OCI manifests, tags and referrers on the wire against a real server: pushed bytes kept
exactly with their type, the headers every manifest response carries, the tag scheme and its
pagination, subjects that do not exist yet, manifests without ``mediaType``, and the spec's
error codes. On SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import LiveServer
from tests.functional.oci_support import (
    EMPTY,
    IMAGE_MANIFEST,
    as_bytes,
    client_for,
    digest_of,
    ensure_namespace,
    image_manifest,
    oci_error,
    push_blob,
    serve,
)

INDEX = "application/vnd.oci.image.index.v1+json"
SIGNATURE = "application/vnd.dev.cosign.artifact.sig.v1+json"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    with serve(tmp_path_factory.mktemp("oci-manifests"), request.param) as live:
        ensure_namespace(live, "wire")
        yield live


@pytest.fixture
def client(server: LiveServer) -> Iterator[httpx.Client]:
    with client_for(server) as c:
        yield c


def _put(
    client: httpx.Client, repo: str, reference: str, body: bytes, media_type: str = IMAGE_MANIFEST
) -> httpx.Response:
    return client.put(
        f"/v2/{repo}/manifests/{reference}", content=body, headers={"Content-Type": media_type}
    )


def _version(client: httpx.Client, repo: str, files: dict[str, bytes], tag: str) -> bytes:
    """Push the blobs and a manifest of ``files`` by ``tag``; the manifest's bytes."""
    push_blob(client, repo, EMPTY)
    for data in files.values():
        push_blob(client, repo, data)
    body = as_bytes(image_manifest([(data, title) for title, data in files.items()]))
    pushed = _put(client, repo, tag, body)
    assert pushed.status_code == 201, pushed.text
    return body


def test_a_pushed_manifest_is_served_byte_for_byte_with_its_headers(client: httpx.Client) -> None:
    body = _version(client, "wire/exact", {"model.bin": b"weights"}, "latest")
    digest = digest_of(body)
    assert b'", "' in body  # oras-py's spacing, which a re-serialisation would lose
    for reference in ("latest", "1", digest):
        got = client.get(f"/v2/wire/exact/manifests/{reference}")
        assert got.status_code == 200
        assert got.content == body
        assert got.headers["Content-Type"] == IMAGE_MANIFEST
        assert got.headers["Docker-Content-Digest"] == digest
        assert got.headers["Content-Length"] == str(len(body))
        head = client.head(f"/v2/wire/exact/manifests/{reference}")
        assert head.status_code == 200 and head.content == b""
        assert head.headers["Content-Type"] == IMAGE_MANIFEST
        assert head.headers["Docker-Content-Digest"] == digest
        assert head.headers["Content-Length"] == str(len(body))


def test_a_push_by_tag_answers_with_its_location_and_digest(client: httpx.Client) -> None:
    push_blob(client, "wire/located", EMPTY)
    push_blob(client, "wire/located", b"w")
    body = as_bytes(image_manifest([(b"w", "w.bin")]))
    pushed = _put(client, "wire/located", "latest", body)
    assert pushed.status_code == 201
    assert pushed.headers["Docker-Content-Digest"] == digest_of(body)
    assert pushed.headers["Location"] == f"/v2/wire/located/manifests/{digest_of(body)}"
    assert pushed.headers["Cairn-Version"] == "wire/located:1"


def _tar(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_a_manifest_without_media_type_keeps_the_pushed_content_type(
    client: httpx.Client,
) -> None:
    push_blob(client, "wire/kit", EMPTY)
    layer = _tar({"weights.bin": b"kit layer"})  # a real archive: the scan reads its members
    push_blob(client, "wire/kit", layer)
    doc = image_manifest([(layer, "model.tar")])
    del doc["mediaType"]  # as KitOps <= 1.7 pushes
    body = json.dumps(doc, separators=(",", ":")).encode()
    assert _put(client, "wire/kit", "latest", body).status_code == 201
    got = client.get(f"/v2/wire/kit/manifests/{digest_of(body)}")
    assert got.content == body and got.headers["Content-Type"] == IMAGE_MANIFEST


def test_a_media_type_other_than_the_content_type_is_refused(client: httpx.Client) -> None:
    body = as_bytes(image_manifest([]))
    refused = _put(client, "wire/mixed", digest_of(body), body, media_type=INDEX)
    assert refused.status_code == 400 and oci_error(refused) == "MANIFEST_INVALID"
    not_json = _put(client, "wire/mixed", "latest", b"{not json")
    assert not_json.status_code == 400 and oci_error(not_json) == "MANIFEST_INVALID"


def test_a_subject_that_does_not_exist_yet_is_accepted_and_listed(client: httpx.Client) -> None:
    repo = "wire/signed"
    subject = digest_of(b"a manifest pushed later")
    push_blob(client, repo, EMPTY)
    push_blob(client, repo, b"signature")
    signature = as_bytes(
        image_manifest([(b"signature", "sig")], subject=(subject, 23), artifactType=SIGNATURE)
    )
    pushed = _put(client, repo, digest_of(signature), signature)
    assert pushed.status_code == 201, pushed.text
    assert pushed.headers["OCI-Subject"] == subject
    listed = client.get(f"/v2/{repo}/referrers/{subject}")
    assert listed.status_code == 200
    assert listed.headers["Content-Type"] == INDEX
    index = listed.json()
    assert index["mediaType"] == INDEX
    assert index["manifests"] == [
        {
            "mediaType": IMAGE_MANIFEST,
            "digest": digest_of(signature),
            "size": len(signature),
            "artifactType": SIGNATURE,
        }
    ]
    filtered = client.get(f"/v2/{repo}/referrers/{subject}", params={"artifactType": "x/y"})
    assert filtered.json()["manifests"] == []
    assert filtered.headers["OCI-Filters-Applied"] == "artifactType"
    nothing = client.get(f"/v2/{repo}/referrers/{digest_of(b'unknown')}")
    assert nothing.status_code == 200 and nothing.json()["manifests"] == []
    bad = client.get(f"/v2/{repo}/referrers/sha256:nothex")
    assert bad.status_code == 400 and oci_error(bad) == "DIGEST_INVALID"


def test_a_signature_attaches_to_a_version(client: httpx.Client) -> None:
    repo = "wire/attached"
    body = _version(client, repo, {"m.bin": b"attached weights"}, "latest")
    push_blob(client, repo, b"sig bytes")
    signature = as_bytes(
        image_manifest(
            [(b"sig bytes", "sig")],
            subject=(digest_of(body), len(body)),
            artifactType=SIGNATURE,
            annotations={"dev.example.signer": "ci"},
        )
    )
    assert _put(client, repo, digest_of(signature), signature).status_code == 201
    listed = client.get(f"/v2/{repo}/referrers/{digest_of(body)}").json()["manifests"]
    assert [m["digest"] for m in listed] == [digest_of(signature)]
    assert listed[0]["annotations"] == {"dev.example.signer": "ci"}
    assert client.get(f"/v2/{repo}/manifests/{digest_of(signature)}").content == signature


def test_an_index_is_stored_by_digest(client: httpx.Client) -> None:
    child = _version(client, "wire/indexed", {"a.bin": b"a"}, "latest")
    index = as_bytes(
        {
            "schemaVersion": 2,
            "mediaType": INDEX,
            "manifests": [
                {"mediaType": IMAGE_MANIFEST, "digest": digest_of(child), "size": len(child)}
            ],
        }
    )
    assert _put(client, "wire/indexed", digest_of(index), index, INDEX).status_code == 201
    got = client.get(f"/v2/wire/indexed/manifests/{digest_of(index)}")
    assert got.content == index and got.headers["Content-Type"] == INDEX
    by_tag = _put(client, "wire/indexed", "latest", index, INDEX)
    assert by_tag.status_code == 400 and oci_error(by_tag) == "MANIFEST_INVALID"


def test_tags_list_versions_latest_aliases_and_views_with_pagination(
    client: httpx.Client,
) -> None:
    repo = "wire/tagged"
    _version(client, repo, {"a.bin": b"one"}, "latest")
    _version(client, repo, {"a.bin": b"two"}, "champion")
    every = client.get(f"/v2/{repo}/tags/list")
    assert every.json() == {
        "name": repo,
        "tags": sorted(
            f"{s}{v}"
            for s in ("1", "2", "champion", "latest")
            for v in ("", ".kserve", ".modelpack")
        ),
    }
    assert "Link" not in every.headers
    seen: list[str] = []
    url: str | None = f"/v2/{repo}/tags/list?n=5"
    while url is not None:
        page = client.get(url)
        seen += page.json()["tags"]
        link = page.headers.get("Link")
        url = link.split(";")[0].strip("<>") if link else None
    assert seen == every.json()["tags"]
    after = client.get(f"/v2/{repo}/tags/list", params={"n": 2, "last": "2.modelpack"})
    assert after.json()["tags"] == ["champion", "champion.kserve"]
    empty = client.get(f"/v2/{repo}/tags/list", params={"n": 0})
    assert empty.json()["tags"] == [] and "Link" not in empty.headers


def test_aliases_moved_through_cairn_move_their_tag(client: httpx.Client) -> None:
    repo = "wire/moved"
    first = _version(client, repo, {"a.bin": b"first"}, "prod")
    second = _version(client, repo, {"a.bin": b"second"}, "latest")
    assert client.get(f"/v2/{repo}/manifests/prod").content == first
    moved = client.put("/api/v1/models/wire/moved/aliases/prod", json={"version": 2})
    assert moved.status_code == 200, moved.text
    assert client.get(f"/v2/{repo}/manifests/prod").content == second


def test_a_model_s_spelling_is_its_lower_case_repository_and_tags(client: httpx.Client) -> None:
    """A model or alias keeps its spelling (Fraud_Model, @Champion); OCI names are lower case."""
    created = client.post("/api/v1/models/wire", json={"name": "Spelled_Model"})
    assert created.status_code == 201, created.text
    repo = "wire/spelled_model"
    first = _version(client, repo, {"a.bin": b"spelled"}, "latest")
    moved = client.put("/api/v1/models/wire/spelled-model/aliases/Champion", json={"version": 1})
    assert moved.status_code == 200, moved.text
    assert moved.json()["model"] == "Spelled_Model" and moved.json()["aliases"] == ["Champion"]
    tags = client.get(f"/v2/{repo}/tags/list").json()
    assert tags["name"] == repo and "champion" in tags["tags"] and "Champion" not in tags["tags"]
    assert client.get(f"/v2/{repo}/manifests/champion").content == first


def test_views_are_built_once_and_served_identically(client: httpx.Client) -> None:
    repo = "wire/views"
    _version(client, repo, {"weights.bin": b"view weights", "README.md": b"# doc"}, "latest")
    kserve = client.get(f"/v2/{repo}/manifests/1.kserve")
    assert kserve.status_code == 200
    layer = kserve.json()["layers"][0]
    assert layer["mediaType"] == "application/vnd.oci.image.layer.v1.tar"
    tar = client.get(f"/v2/{repo}/blobs/{layer['digest']}")
    assert digest_of(tar.content) == layer["digest"]
    config = kserve.json()["config"]
    assert client.get(f"/v2/{repo}/blobs/{config['digest']}").json()["rootfs"]["diff_ids"] == [
        layer["digest"]
    ]
    modelpack = client.get(f"/v2/{repo}/manifests/latest.modelpack").json()
    assert modelpack["artifactType"] == "application/vnd.cncf.model.manifest.v1+json"
    kinds = {
        lay["annotations"]["org.cncf.model.filepath"]: lay["mediaType"]
        for lay in modelpack["layers"]
    }
    assert kinds == {
        "README.md": "application/vnd.cncf.model.doc.v1.raw",
        "weights.bin": "application/vnd.cncf.model.weight.v1.raw",
    }
    # What may change on a version (its description) changes nothing already served.
    changed = client.patch("/api/v1/models/wire/views/versions/1", json={"description": "new"})
    assert changed.status_code == 200, changed.text
    assert client.get(f"/v2/{repo}/manifests/latest.kserve").content == kserve.content
    by_digest = client.get(f"/v2/{repo}/manifests/{digest_of(kserve.content)}")
    assert by_digest.content == kserve.content


def test_the_errors_are_the_specs(client: httpx.Client) -> None:
    _version(client, "wire/errors", {"e.bin": b"e"}, "latest")
    unknown_tag = client.get("/v2/wire/errors/manifests/99")
    assert unknown_tag.status_code == 404 and oci_error(unknown_tag) == "MANIFEST_UNKNOWN"
    unknown_repo = client.get("/v2/wire/nobody/manifests/latest")
    assert unknown_repo.status_code == 404 and oci_error(unknown_repo) == "NAME_UNKNOWN"
    upper = client.get("/v2/wire/UPPER/manifests/latest")
    assert upper.status_code == 400 and oci_error(upper) == "NAME_INVALID"
    too_deep = client.get("/v2/a/b/c/tags/list")
    assert too_deep.status_code == 400 and oci_error(too_deep) == "NAME_INVALID"
    body = as_bytes(image_manifest([(b"never uploaded", "x.bin")]))
    missing = _put(client, "wire/errors", "latest", body)
    assert missing.status_code == 400 and oci_error(missing) == "MANIFEST_BLOB_UNKNOWN"
    wrong = _put(client, "wire/errors", digest_of(b"other"), body)
    assert wrong.status_code == 400 and oci_error(wrong) == "DIGEST_INVALID"
    numbered = _put(client, "wire/errors", "7", body)
    assert numbered.status_code == 400 and oci_error(numbered) == "TAG_INVALID"
    view = _put(client, "wire/errors", "latest.kserve", body)
    assert view.status_code == 400 and oci_error(view) == "TAG_INVALID"
    deleted = client.delete("/v2/wire/errors/manifests/latest")
    assert deleted.status_code == 405 and oci_error(deleted) == "UNSUPPORTED"
    too_big = client.put(
        "/v2/wire/errors/manifests/latest",
        content=b" " * (4 * 1024 * 1024 + 1),
        headers={"Content-Type": IMAGE_MANIFEST},
    )
    assert too_big.status_code == 413 and oci_error(too_big) == "SIZE_INVALID"
    nowhere = client.get("/v2/wire/errors/nothing-here")
    assert nowhere.status_code == 404 and oci_error(nowhere) == "NAME_UNKNOWN"
