"""A namespace is a wall (DESIGN §2.11), tried as the people who would get around it would, each
with their own token, against a real server on SQLite and on PostgreSQL.

Team ``beta`` keeps a model whose weights are secret. ``reader_a`` reads namespace ``alpha``
only; ``writer_a`` writes there; ``bridge`` writes in ``alpha`` and may read ``beta``. Knowing
a digest of ``beta``'s (from a log, a leaked manifest, a guess at a public file) must give none
of them the bytes through ``alpha``, nor tell them whether ``beta`` holds it.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from cairn.client import Client
from cairn.wire.versions import Version
from tests.conftest import LiveServer, bearer
from tests.functional import error_code, run_cli, tree_digests, upload_bytes
from tests.functional.oci_support import (
    as_bytes,
    image_manifest,
    oci_error,
    push_blob,
    serve,
    token_for,
)

API = "/api/v1"
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"


@dataclass
class World:
    server: LiveServer
    folder: Path
    tokens: dict[str, str]

    def http(self, who: str) -> httpx.Client:
        return httpx.Client(base_url=self.server.url, headers=bearer(self.tokens[who]), timeout=60)

    def sdk(self, who: str) -> Client:
        cache = self.folder / f"cache-{who}-{uuid.uuid4().hex[:6]}"
        return Client(self.server.url, self.tokens[who], progress=False, cache_dir=cache)

    def secret(self) -> tuple[str, Path, Version]:
        """Team beta pushes a new model with secret weights; its name, folder and version."""
        name = f"secret-{uuid.uuid4().hex[:8]}"
        folder = self.folder / name
        folder.mkdir()
        # Unique, and plain text: random bytes can look like a pickle to the scanner.
        (folder / "weights.bin").write_bytes(uuid.uuid4().hex.encode() * 1250)
        (folder / "config.json").write_text('{"layers": 3}\n')
        with self.sdk("writer_b") as beta:
            version = beta.push(f"beta/{name}", folder, capture_provenance=False)
        return name, folder, version


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    folder = tmp_path_factory.mktemp(f"isolation-{request.param}")
    with serve(folder, request.param) as server:
        tokens = {
            "writer_b": token_for(server, "writer-b", {"beta": "writer"}),
            "reader_a": token_for(server, "reader-a", {"alpha": "reader"}),
            "writer_a": token_for(server, "writer-a", {"alpha": "writer"}),
            "bridge": token_for(server, "bridge", {"alpha": "writer", "beta": "reader"}),
        }
        yield World(server, folder, tokens)


def _digest(version: Version, path: str) -> str:
    return next(f.digest for f in version.files or [] if f.path == path)


def _nowhere() -> str:
    return "sha256:" + hashlib.sha256(os.urandom(16)).hexdigest()


def test_a_reader_of_another_namespace_cannot_download_a_blob_by_its_digest(world: World) -> None:
    name, _, version = world.secret()
    secret = _digest(version, "weights.bin")
    stored_nowhere = _nowhere()
    with world.http("reader_a") as reader:
        # The registry-wide blob route of earlier releases (which served any digest) is gone.
        assert reader.get(f"{API}/blobs/{secret}").status_code == 404
        # Through the namespace the reader may read, B's digest is what an unknown one is.
        for digest in (secret, stored_nowhere):
            v2 = reader.get(f"/v2/alpha/anything/blobs/{digest}")
            assert (v2.status_code, oci_error(v2)) == (404, "BLOB_UNKNOWN")
            assert reader.head(f"/v2/alpha/anything/blobs/{digest}").status_code == 404
            got = reader.get(f"{API}/namespaces/alpha/blobs/{digest}")
            assert (got.status_code, error_code(got)) == (404, "blob_not_found")
            assert reader.head(f"{API}/namespaces/alpha/blobs/{digest}").status_code == 404
        # Through B itself, the reader is refused before anything is looked up.
        assert reader.get(f"{API}/namespaces/beta/blobs/{secret}").status_code == 403
        assert reader.get(f"/v2/beta/{name}/blobs/{secret}").status_code in (401, 403)
    with world.http("bridge") as bridge:  # who may read B gets B's bytes, through B
        got = bridge.get(f"{API}/namespaces/beta/blobs/{secret}")
        assert got.status_code == 200
        assert got.headers["cairn-digest"] == secret
        assert bridge.get(f"/v2/beta/{name}/blobs/{secret}").status_code == 200


def test_missing_and_head_answer_for_the_namespace_alone(world: World) -> None:
    _, _, version = world.secret()
    secret = _digest(version, "weights.bin")
    stored_nowhere = _nowhere()
    with world.http("writer_a") as writer:
        asked = writer.post(
            f"{API}/namespaces/alpha/blobs/missing", json={"digests": [secret, stored_nowhere]}
        )
        assert asked.status_code == 200, asked.text
        assert asked.json() == {"missing": [secret, stored_nowhere]}
    with world.http("writer_b") as owner:
        asked = owner.post(
            f"{API}/namespaces/beta/blobs/missing", json={"digests": [secret, stored_nowhere]}
        )
        assert asked.json() == {"missing": [stored_nowhere]}


def test_registering_another_namespaces_digest_needs_its_bytes(world: World) -> None:
    _, folder, version = world.secret()
    secret = _digest(version, "weights.bin")
    files = [f.model_dump() for f in version.files or []]
    stolen = {"manifest": {"files": files}}
    with world.http("writer_a") as writer:
        refused = writer.post(f"{API}/models/alpha/stolen/versions", json=stolen)
        assert (refused.status_code, error_code(refused)) == (409, "missing_blobs")
        assert secret in refused.json()["error"]["details"]["missing"]
        # The same through OCI: a manifest naming B's layer, whose bytes were never pushed.
        config = push_blob(writer, "alpha/stolen", b"{}")
        assert config
        doc = image_manifest([])
        doc["layers"] = [
            {
                "mediaType": "application/octet-stream",
                "digest": secret,
                "size": 40_000,
                "annotations": {"org.opencontainers.image.title": "weights.bin"},
            }
        ]
        pushed = writer.put(
            "/v2/alpha/stolen/manifests/latest",
            content=as_bytes(doc),
            headers={"Content-Type": doc["mediaType"]},
        )
        assert (pushed.status_code, oci_error(pushed)) == (400, "MANIFEST_BLOB_UNKNOWN")
    with world.http("reader_a") as reader:
        assert reader.get(f"{API}/models/alpha/stolen/versions/1").status_code == 404

    # With the bytes themselves it works: the client sends them (it proves it has them), the
    # server hashes them, links them into alpha, and still stores one copy.
    sent_before = upload_bytes(world.server.url)
    pushed_cli = run_cli(
        world.server.url,
        "--json",
        "push",
        "alpha/copy",
        str(folder),
        token=world.tokens["writer_a"],
        cache_dir=world.folder / f"cli-cache-{uuid.uuid4().hex[:6]}",
    )
    assert pushed_cli.returncode == 0, pushed_cli.stderr
    assert upload_bytes(world.server.url) - sent_before == sum(
        p.stat().st_size for p in folder.iterdir()
    )
    hexdigest = secret.removeprefix("sha256:")
    copies = list((world.server.data_dir / "blobs").rglob(f"*{hexdigest}*"))
    assert len(copies) == 1, copies
    dest = world.folder / f"pulled-{uuid.uuid4().hex[:6]}"
    with world.sdk("reader_a") as reader_sdk:
        reader_sdk.pull("alpha/copy:1", dest)
    assert tree_digests(dest) == tree_digests(folder)


def test_cross_repository_mount_needs_read_access_and_the_blob_in_the_source(
    world: World,
) -> None:
    name, _, version = world.secret()
    secret = _digest(version, "weights.bin")
    with world.http("writer_a") as writer:
        for source in (f"beta/{name}", "alpha/other", "not a repository"):
            mounted = writer.post(
                "/v2/alpha/m/blobs/uploads/", params={"mount": secret, "from": source}
            )
            # The spec's fallback: an upload session, as for any blob not mountable.
            assert mounted.status_code == 202, (source, mounted.text)
            assert "/blobs/uploads/" in mounted.headers["location"]
        assert writer.get(f"/v2/alpha/m/blobs/{secret}").status_code == 404
        # Without ``from``, Cairn does not go looking in other namespaces.
        assert (
            writer.post("/v2/alpha/m/blobs/uploads/", params={"mount": secret}).status_code == 202
        )
    with world.http("bridge") as bridge:  # may read beta and write alpha: the mount links
        mounted = bridge.post(
            "/v2/alpha/m/blobs/uploads/", params={"mount": secret, "from": f"beta/{name}"}
        )
        assert mounted.status_code == 201, mounted.text
        assert mounted.headers["docker-content-digest"] == secret
        assert (
            bridge.get(f"/v2/alpha/m/blobs/{secret}").content
            == (world.folder / name / "weights.bin").read_bytes()
        )
    with world.http("reader_a") as reader:  # now alpha holds it, for alpha's readers too
        assert reader.get(f"{API}/namespaces/alpha/blobs/{secret}").status_code == 200


def test_an_upload_session_belongs_to_its_namespace(world: World) -> None:
    with world.http("writer_b") as owner:
        started = owner.post(f"{API}/namespaces/beta/uploads")
        assert started.status_code == 201, started.text
        session = started.json()["id"]
        assert started.headers["location"] == f"{API}/namespaces/beta/uploads/{session}"
    data = b"into beta's session"
    with world.http("writer_a") as writer:
        url = f"{API}/namespaces/alpha/uploads/{session}"
        for method, extra in (
            ("GET", {}),
            ("PATCH", {"content": data, "headers": {"Upload-Offset": "0"}}),
            ("DELETE", {}),
        ):
            answer = writer.request(method, url, **extra)  # type: ignore[arg-type]
            assert (answer.status_code, error_code(answer)) == (404, "upload_not_found"), method
        assert writer.patch(f"/v2/alpha/m/blobs/uploads/{session}", content=data).status_code == 404
    with world.http("writer_b") as owner:
        status = owner.get(f"{API}/namespaces/beta/uploads/{session}")
        assert status.json()["offset"] == 0  # untouched by the attempts


def test_mlflow_artifact_routes_serve_only_readable_versions(world: World) -> None:
    name, _, _ = world.secret()
    path = f"{ARTIFACTS}/_cairn/versions/beta/{name}/1/weights.bin"
    with world.http("reader_a") as reader:
        assert reader.get(path).status_code in (403, 404)
        listing = reader.get(ARTIFACTS, params={"path": f"_cairn/versions/beta/{name}/1"})
        assert listing.status_code in (403, 404)
    with world.http("bridge") as bridge:
        assert bridge.get(path).status_code == 200
