"""Metadata that arrives with the model, on every surface that registers versions: an MLflow
model folder (saved by the real MLflow) gives its schema, environment and flavour; a Hugging
Face folder its architecture, parameter count and precision, which the ModelPack view's config
carries; what the user states wins. On SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from cairn.api import create_app
from cairn.client import Client
from cairn.services.container import Services
from cairn.wire import paths
from tests.conftest import LiveServer, bearer
from tests.functional.oci_support import EMPTY, as_bytes, client_for, image_manifest, push_blob

SAVE_PYFUNC = Path(__file__).parent / "mlflow_scripts" / "save_pyfunc.py"
API = "/api/2.0/mlflow"
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"


@pytest.fixture
def http(services: Services, admin_token: str) -> TestClient:
    return TestClient(
        create_app(services),
        base_url="http://cairn.test",
        headers=bearer(admin_token),
        raise_server_exceptions=False,
    )


@pytest.fixture(scope="module")
def mlflow_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A pyfunc model saved by MLflow itself, with a column signature in and a tensor out."""
    path = tmp_path_factory.mktemp("mlflow") / "model"
    done = subprocess.run(
        [sys.executable, str(SAVE_PYFUNC), str(path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return path


def safetensors(tensors: dict[str, tuple[str, list[int]]]) -> bytes:
    header: dict[str, Any] = {}
    offset = 0
    widths = {"F16": 2, "BF16": 2, "F32": 4}
    for name, (dtype, shape) in tensors.items():
        size = widths[dtype] * (shape[0] * shape[1] if len(shape) == 2 else shape[0])
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + b"\0" * offset


def test_a_pushed_mlflow_folder_brings_its_schema_environment_and_flavour(
    live_server: LiveServer, mlflow_folder: Path, tmp_path: Path
) -> None:
    with Client(live_server.url, live_server.token, progress=False) as cairn:
        version = cairn.push("default/doubler", mlflow_folder, capture_provenance=False)

    assert version.input_output_schema == {
        "inputs": [{"name": "amount", "type": "double"}, {"name": "country", "type": "string"}],
        "outputs": [{"type": "float64", "shape": [-1, 1]}],
    }
    environment = version.provenance["environment"]
    assert environment["python"].count(".") == 2
    assert "mlflow" in environment["packages"] and "cloudpickle" in environment["packages"]
    assert version.tags["model.flavor"] == "python_function"
    assert version.tags["model.loader"] == "mlflow.pyfunc.model"
    derived = version.provenance["extra"]["derived"]
    assert set(derived["fields"]) >= {"schema", "provenance.environment", "tags.model.flavor"}
    assert derived["from"]["schema"] == "MLmodel"
    assert "schema.inputs" not in version.completeness.missing
    assert "provenance.environment.python" not in version.completeness.missing


def test_an_mlflow_registration_brings_the_same(http: TestClient, mlflow_folder: Path) -> None:
    def ok(response: Any) -> dict[str, Any]:
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    exp = ok(http.post(f"{API}/experiments/create", json={"name": "exp"}))["experiment_id"]
    run = ok(http.post(f"{API}/runs/create", json={"experiment_id": exp}))["run"]["info"]
    body = {"experiment_id": exp, "name": "model", "source_run_id": run["run_id"]}
    model = ok(http.post(f"{API}/logged-models", json=body))["model"]["info"]
    root = model["artifact_uri"].removeprefix("mlflow-artifacts:/")
    for file in mlflow_folder.iterdir():
        put = http.put(f"{ARTIFACTS}/{root}/{file.name}", content=file.read_bytes())
        assert put.status_code == 200
    ok(http.post(f"{API}/registered-models/create", json={"name": "Doubler"}))
    create = {"name": "Doubler", "source": f"models:/{model['model_id']}"}
    number = ok(http.post(f"{API}/model-versions/create", json=create))["model_version"]["version"]

    where = paths.API_PREFIX + paths.version("default", "doubler", number)
    got = http.get(where, params={"files": "false"}).json()
    assert got["schema"]["inputs"][0] == {"name": "amount", "type": "double"}
    assert "cloudpickle" in got["provenance"]["environment"]["packages"]
    assert got["provenance"]["extra"]["mlflow"]["source"] == create["source"]  # kept beside
    assert got["tags"]["model.loader"] == "mlflow.pyfunc.model"


def test_a_hugging_face_folder_fills_the_modelpack_config(
    live_server: LiveServer, tmp_path: Path
) -> None:
    folder = tmp_path / "hf"
    folder.mkdir()
    config = {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "torch_dtype": "float32"}
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "model.safetensors").write_bytes(
        safetensors({"wte": ("F16", [50, 16]), "ln": ("F32", [16])})
    )
    stated = {"model.architecture": "mine"}
    with Client(live_server.url, live_server.token, progress=False) as cairn:
        version = cairn.push("default/gpt", folder, tags=stated, capture_provenance=False)
    http = httpx.Client(base_url=live_server.url, headers=live_server.headers)

    assert version.tags["model.architecture"] == "mine"  # what the user says wins
    assert version.tags["model.parameters"] == "816"
    assert version.tags["model.precision"] == "float16"  # the weights outrank the config
    manifest = http.get("/v2/default/gpt/manifests/1.modelpack")
    assert manifest.status_code == 200, manifest.text
    digest = manifest.json()["config"]["digest"]
    blob = http.get(f"/v2/default/gpt/blobs/{digest}").json()
    http.close()
    assert blob["config"] == {
        "architecture": "GPT2LMHeadModel",
        "format": "safetensors",
        "paramSize": "816",
        "precision": "float16",
    }


def test_an_oci_push_by_tag_brings_the_same(live_server: LiveServer) -> None:
    config = json.dumps({"architectures": ["BertModel"], "model_type": "bert"}).encode()
    weights = safetensors({"embed": ("F32", [10, 4])})
    with client_for(live_server) as client:
        for data in (EMPTY, config, weights):
            push_blob(client, "default/bert", data)
        body = as_bytes(image_manifest([(config, "config.json"), (weights, "model.safetensors")]))
        pushed = client.put(
            "/v2/default/bert/manifests/latest",
            content=body,
            headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"},
        )
        assert pushed.status_code == 201, pushed.text
        where = paths.API_PREFIX + paths.version("default", "bert", "latest")
        version = client.get(where, params={"files": "false"}).json()
    assert version["tags"]["model.architecture"] == "BertModel"
    assert version["tags"]["model.parameters"] == "40"
    assert version["tags"]["model.precision"] == "float32"
    assert version["provenance"]["extra"]["derived"]["model"]["format"] == "safetensors"


def test_files_written_to_hurt_the_reader_register_like_any_files(http: TestClient) -> None:
    """A config.json nested past the recursion limit and a safetensors header whose shapes
    multiply past any model's register as plain files (201, nothing derived), never a 500."""
    shapes = {"w": {"dtype": "F32", "shape": [10**4000, 10**4000], "data_offsets": [0, 2]}}
    header = json.dumps(shapes).encode()
    files = {
        "config.json": b"[" * 100_000,
        "model.safetensors": struct.pack("<Q", len(header)) + header + b"\0\0",
    }
    entries = []
    for path, data in files.items():
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        put = http.put(f"{paths.API_PREFIX}/namespaces/default/blobs/{digest}", content=data)
        assert put.status_code == 201, put.text
        entries.append({"path": path, "size": len(data), "digest": digest})
    where = paths.API_PREFIX + "/models/default/hostile/versions"
    made = http.post(where, json={"manifest": {"files": entries}})
    assert made.status_code == 201, made.text
    assert "model.parameters" not in made.json()["tags"]
