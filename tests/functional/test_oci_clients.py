"""Real OCI clients against a real Cairn server: oras-py pushing and pulling (monolithic and
chunked, through the token endpoint and with a Cairn token as the bearer), a model pushed with
``cairn push`` pulled by oras byte for byte, and KServe's storage initializer fetching the
KServe view. On SQLite and on PostgreSQL."""

from __future__ import annotations

import base64
import json
import os
import struct
from collections.abc import Iterator
from pathlib import Path

import oras.client
import pytest
from kserve_storage import Storage

from tests.conftest import LiveServer
from tests.functional import run_cli, tree_digests, write_random
from tests.functional.oci_support import client_for, ensure_namespace, serve, token_for

MiB = 1 << 20


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    with serve(tmp_path_factory.mktemp("oci-clients"), request.param) as live:
        yield live


@pytest.fixture(autouse=True)
def _at_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # oras-py pushes only files below the working folder, and may write ~/.docker/config.json.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def _host(server: LiveServer) -> str:
    return server.url.removeprefix("http://")


def test_oras_pushes_and_pulls_through_the_token_endpoint(
    server: LiveServer, tmp_path: Path
) -> None:
    (tmp_path / "model.bin").write_bytes(b"weights of the first model\n")
    write_random(tmp_path / "extra.bin", 3 * MiB + 17)
    writer = token_for(server, "olivia", {"oras": "deployer"})
    client = oras.client.OrasClient(insecure=True)
    client.auth.set_basic_auth("olivia", writer)  # exchanged for a registry token on a 401
    target = f"{_host(server)}/oras/mono:candidate"
    pushed = client.push(target=target, files=["model.bin", "extra.bin"])
    assert pushed.status_code == 201
    assert pushed.headers["Cairn-Version"] == "oras/mono:1"
    assert client.auth.token.startswith("cairnoci_")  # it went through /v2/token

    pulled = oras.client.OrasClient(insecure=True)
    pulled.auth.set_basic_auth("olivia", writer)
    out = tmp_path / "out"
    pulled.pull(target=f"{_host(server)}/oras/mono:1", outdir=str(out))
    assert tree_digests(out) == {
        k: v for k, v in tree_digests(tmp_path).items() if k in ("model.bin", "extra.bin")
    }
    assert set(pulled.get_tags(f"{_host(server)}/oras/mono")) >= {"1", "candidate", "latest"}
    # The alias the tag named is a Cairn alias: the API sees it.
    with client_for(server) as api:
        version = api.get("/api/v1/models/oras/mono/versions/@candidate").json()
    assert version["number"] == 1


def test_oras_pushes_and_pulls_chunked_with_a_cairn_token_as_bearer(
    server: LiveServer, tmp_path: Path
) -> None:
    write_random(tmp_path / "weights.bin", 5 * MiB + 3)
    (tmp_path / "config.json").write_text('{"layers": 2}')
    ensure_namespace(server, "oras")
    client = oras.client.OrasClient(insecure=True)
    client.auth.set_token_auth(server.token)
    target = f"{_host(server)}/oras/chunked:latest"
    pushed = client.push(
        target=target, files=["weights.bin", "config.json"], do_chunked=True, chunk_size=MiB
    )
    assert pushed.status_code == 201
    out = tmp_path / "out"
    client.pull(target=target, outdir=str(out))
    assert tree_digests(out) == {
        k: v for k, v in tree_digests(tmp_path).items() if k in ("weights.bin", "config.json")
    }
    # Pushing the same manifest again finds the same version rather than making another.
    again = client.push(
        target=target, files=["weights.bin", "config.json"], do_chunked=True, chunk_size=MiB
    )
    assert again.headers["Cairn-Version"] == pushed.headers["Cairn-Version"]


def _safetensors(path: Path, size: int) -> None:
    """A well-formed safetensors file of ``size`` random bytes of data (a malformed one is
    flagged by the scan, and a flagged version is not pulled)."""
    header = json.dumps({"w": {"dtype": "U8", "shape": [size], "data_offsets": [0, size]}})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(struct.pack("<Q", len(header)) + header.encode() + os.urandom(size))


def test_a_model_pushed_with_cairn_push_is_pulled_by_oras_byte_for_byte(
    server: LiveServer, tmp_path: Path
) -> None:
    model = tmp_path / "model"
    _safetensors(model / "weights" / "part-1.safetensors", 2 * MiB + 5)
    (model / "README.md").write_text("# a model\n")
    (model / "tokenizer.json").write_text('{"vocab": []}')
    ensure_namespace(server, "cli")
    done = run_cli(
        server.url, "push", "cli/pushed", str(model), "--no-provenance", token=server.token
    )
    assert done.returncode == 0, done.stderr
    client = oras.client.OrasClient(insecure=True)
    client.auth.set_token_auth(server.token)
    out = tmp_path / "out"
    client.pull(target=f"{_host(server)}/cli/pushed:1", outdir=str(out))
    assert tree_digests(out) == tree_digests(model)
    # The version's manifest was built once: asked again, the very same bytes.
    first = client.get_manifest(f"{_host(server)}/cli/pushed:latest")
    assert client.get_manifest(f"{_host(server)}/cli/pushed:1") == first
    assert first["artifactType"] == "application/vnd.cairn.model.v1"
    titles = sorted(
        layer["annotations"]["org.opencontainers.image.title"] for layer in first["layers"]
    )
    assert titles == ["README.md", "tokenizer.json", "weights/part-1.safetensors"]


def test_kserve_storage_fetches_the_kserve_view_and_finds_the_model_under_models(
    server: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = tmp_path / "model"
    write_random(model / "model.bin", MiB + 1)
    (model / "config" / "settings.json").parent.mkdir(parents=True)
    (model / "config" / "settings.json").write_text('{"threshold": 0.5}')
    ensure_namespace(server, "serving")
    done = run_cli(
        server.url, "push", "serving/fraud", str(model), "--no-provenance", token=server.token
    )
    assert done.returncode == 0, done.stderr
    # What the KServe webhook mounts: a docker config.json with the pull secret.
    reader = token_for(server, "kserve", {"serving": "reader"})
    credentials = base64.b64encode(f"kserve:{reader}".encode()).decode()
    config = tmp_path / "docker-config.json"
    config.write_text(json.dumps({"auths": {_host(server): {"auth": credentials}}}))
    monkeypatch.setenv("KSERVE_OCI_DOCKER_CONFIG", str(config))
    monkeypatch.setenv("KSERVE_OCI_INSECURE_REGISTRY", "true")
    out = tmp_path / "mnt-models"
    Storage._download_oci(f"oci://{_host(server)}/serving/fraud:latest.kserve", str(out))
    assert tree_digests(out) == tree_digests(model)


def test_anonymous_clients_pull_where_anonymous_reads_are_on(tmp_path: Path) -> None:
    (tmp_path / "open.bin").write_bytes(b"open weights")
    with serve(tmp_path / "open-server", "sqlite", CAIRN_ANONYMOUS_READ="true") as live:
        owner = oras.client.OrasClient(insecure=True)
        owner.auth.set_token_auth(live.token)
        owner.push(target=f"{_host(live)}/default/open:latest", files=["open.bin"])
        anyone = oras.client.OrasClient(insecure=True)
        out = tmp_path / "out"
        anyone.pull(target=f"{_host(live)}/default/open:1", outdir=str(out))
        assert (out / "open.bin").read_bytes() == b"open weights"
