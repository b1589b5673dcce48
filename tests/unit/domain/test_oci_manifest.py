"""Pushed OCI manifests are checked, never rewritten; the views Cairn builds are
deterministic; the tar of the KServe view is the same bytes wherever it is built."""

from __future__ import annotations

import io
import json
import tarfile
from datetime import UTC, datetime

import pytest

from cairn.domain.digests import digest_bytes
from cairn.domain.manifest import FileEntry
from cairn.domain.oci_manifest import parse_pushed
from cairn.domain.oci_views import (
    VersionFacts,
    kserve_view,
    modelpack_layer_type,
    modelpack_view,
    own_view,
)
from cairn.domain.registry_tokens import mint, proves, read
from cairn.domain.tarball import TarMember, tar_stream
from cairn.errors import InvalidJSON, InvalidManifest

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
D = digest_bytes(b"x")


def _doc(**extra: object) -> bytes:
    doc = {
        "schemaVersion": 2,
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": D, "size": 1},
        "layers": [
            {
                "mediaType": "application/vnd.oci.image.layer.v1.tar",
                "digest": D,
                "size": 1,
                "annotations": {"org.opencontainers.image.title": "dir/w.bin"},
            }
        ],
        **extra,
    }
    return json.dumps(doc).encode()


def test_a_manifest_without_media_type_takes_its_content_type() -> None:
    parsed = parse_pushed(_doc(), MANIFEST)
    assert parsed.media_type == MANIFEST
    assert [f.path for f in parsed.files().files] == ["dir/w.bin"]
    assert parsed.referrer_type == "application/vnd.oci.empty.v1+json"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (_doc(mediaType="application/vnd.oci.image.index.v1+json"), MANIFEST),
        (_doc(), "application/json"),
        (b"[]", MANIFEST),
        (_doc(schemaVersion=1), MANIFEST),
        (_doc(layers=[{"mediaType": "x", "digest": "sha256:12", "size": 1}]), MANIFEST),
        (_doc(layers=[{"mediaType": "x", "digest": D, "size": -1}]), MANIFEST),
        (_doc(annotations={"k": 1}), MANIFEST),
        (_doc(subject={"mediaType": MANIFEST, "size": 3}), MANIFEST),
    ],
)
def test_malformed_manifests_are_refused(body: bytes, content_type: str) -> None:
    with pytest.raises(InvalidManifest):
        parse_pushed(body, content_type)


@pytest.mark.parametrize(
    "body",
    [
        _doc()[:-1] + b', "layers": []}',  # a duplicate key: readers differ on which one wins
        _doc().replace(b'"size": 1}', b'"size": 1, "size": 2}', 1),
        _doc(annotations={"note": "a\x00b"}),  # no database stores it alike
        _doc()[:-1] + b', "note": "\\udc00"}',
        _doc()[:-1] + b', "x": ' + b"[" * 33 + b"]" * 33 + b"}",
        _doc().replace(b'"size": 1}', b'"size": Infinity}', 1),
    ],
)
def test_a_manifest_is_read_by_the_strict_json_reader(body: bytes) -> None:
    with pytest.raises(InvalidJSON):
        parse_pushed(body, MANIFEST)


def test_a_layer_titled_with_an_unsafe_path_makes_no_version() -> None:
    layer = {
        "mediaType": "x",
        "digest": D,
        "size": 1,
        "annotations": {"org.opencontainers.image.title": "../escape"},
    }
    with pytest.raises(InvalidManifest):
        parse_pushed(_doc(layers=[layer]), MANIFEST).files()


def test_nondistributable_layers_need_no_blob() -> None:
    layer = {
        "mediaType": "application/vnd.oci.image.layer.nondistributable.v1.tar",
        "digest": D,
        "size": 1,
    }
    parsed = parse_pushed(_doc(layers=[layer]), MANIFEST)
    assert [b.media_type for b in parsed.blobs] == ["application/vnd.oci.empty.v1+json"]


FACTS = VersionFacts(
    namespace="risk",
    model="fraud",
    number=3,
    content_digest=D,
    author="alice",
    created_at=datetime(2026, 3, 3, 14, 0, tzinfo=UTC),
    files=(FileEntry("README.md", 1, D), FileEntry("w/model.safetensors", 1, D)),
    provenance={},
    metrics={"auc": 0.9},
    params={},
    schema={},
)


def test_the_views_are_the_same_bytes_every_time() -> None:
    for build in (own_view, modelpack_view, lambda f: kserve_view(f, D, 1)):
        first, second = build(FACTS), build(FACTS)
        assert first.manifest == second.manifest and first.config == second.config
        doc = json.loads(first.manifest)
        assert doc["config"]["digest"] == digest_bytes(first.config)
    own = json.loads(own_view(FACTS).manifest)
    assert own["artifactType"] == "application/vnd.cairn.model.v1"
    assert [layer["annotations"]["org.opencontainers.image.title"] for layer in own["layers"]] == [
        "README.md",
        "w/model.safetensors",
    ]
    assert modelpack_layer_type("w/model.safetensors").endswith(".weight.v1.raw")
    assert modelpack_layer_type("tokenizer.json").endswith(".weight.config.v1.raw")
    assert modelpack_layer_type("LICENSE").endswith(".doc.v1.raw")
    assert modelpack_layer_type("serve.py").endswith(".code.v1.raw")


def test_the_tar_is_deterministic_sorted_and_zeroed() -> None:
    files = {"models/b.bin": b"b" * 700, "models/a/x.txt": b"x", "models/é.json": b"{}"}

    def members() -> list[TarMember]:
        return [TarMember(p, len(d), lambda d=d: [d]) for p, d in files.items()]

    first = b"".join(tar_stream(members()))
    assert first == b"".join(tar_stream(list(reversed(members()))))
    assert len(first) % tarfile.RECORDSIZE == 0
    with tarfile.open(fileobj=io.BytesIO(first), mode="r|") as tar:
        entries = [(m.name, m.mtime, m.uid, m.gid, m.uname, m.isdir()) for m in tar]
    assert [e[0] for e in entries] == [
        "models",
        "models/a",
        "models/a/x.txt",
        "models/b.bin",
        "models/é.json",
    ]
    assert all(e[1:5] == (0, 0, 0, "") for e in entries)
    with pytest.raises(ValueError, match="expected 5"):
        b"".join(tar_stream([TarMember("models/short", 5, lambda: [b"abc"])]))


def test_registry_tokens_prove_only_with_the_key_and_stored_hash_they_were_made_from() -> None:
    key = b"k" * 64
    token = mint(key, "a" * 16, "hash-one", 2_000_000_000)
    parsed = read(token)
    assert parsed is not None and parsed.expires == 2_000_000_000
    assert proves(key, parsed, "hash-one")
    assert not proves(key, parsed, "hash-two")
    # The stored hash alone (what a reader of the database has) makes no valid token.
    forged = read(mint(b"x" * 64, "a" * 16, "hash-one", 2_000_000_000))
    assert forged is not None and not proves(key, forged, "hash-one")
    later = read(token.replace("2000000000", "2000000001"))
    assert later is not None and not proves(key, later, "hash-one")
    assert read("cairn_" + "a" * 16 + "_x") is None
