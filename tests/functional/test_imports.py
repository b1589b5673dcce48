"""Importing a model from where it already lives: files under an allow-listed prefix of a real
S3 endpoint (moto's server) are fetched by the server, hashed and registered like a push, from
Cairn's API, the CLI and MLflow's ``create_model_version``; a source outside the allow-list is
refused on each surface before anything is fetched, and nothing is written."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cairn.api import create_app
from cairn.config import Settings, load_settings
from cairn.domain.imports import check_apart_from_store, parse_import_allow
from cairn.errors import ConfigError
from cairn.services.container import Services
from cairn.wire import paths
from tests.conftest import bearer, make_settings, start_live_server
from tests.contract.s3_server import BUCKET, S3Server
from tests.functional import run_cli, run_mlflow_script

API = paths.API_PREFIX
MLFLOW = "/api/2.0/mlflow"
SCENARIO = Path(__file__).parent / "mlflow_scripts" / "import_scenario.py"
FILES = {
    "weights.bin": b"\x00weights" * 5000,
    "nested/config.json": b'{"architectures": ["TinyNet"], "model_type": "tiny"}',
    "README.md": b"# imported\n",
}


@pytest.fixture
def area(s3_server: S3Server) -> str:
    """A prefix of the shared bucket for this test, holding FILES under ``models/fraud`` and a
    file that must stay out of reach under ``private/`` and ``models-private/``."""
    root = f"imports-{uuid.uuid4().hex[:10]}"
    for path, data in FILES.items():
        s3_server.client.put_object(Bucket=BUCKET, Key=f"{root}/models/fraud/{path}", Body=data)
    for secret in ("private/key.bin", "models-private/key.bin"):
        s3_server.client.put_object(Bucket=BUCKET, Key=f"{root}/{secret}", Body=b"secret")
    return root


def s3_env(s3_server: S3Server, area: str) -> dict[str, str]:
    env = s3_server.env(area)
    del env["CAIRN_BLOB_URL"]  # the blobs stay local: only the import reads S3
    return {**env, "CAIRN_IMPORT_ALLOW": f"s3://{BUCKET}/{area}/models"}


@pytest.fixture
def settings(tmp_path: Path, database_url: str, s3_server: S3Server, area: str) -> Settings:
    given = {k.removeprefix("CAIRN_").lower(): v for k, v in s3_env(s3_server, area).items()}
    return make_settings(tmp_path, database_url, **given)


@pytest.fixture
def http(services: Services, admin_token: str) -> TestClient:
    return TestClient(
        create_app(services),
        base_url="http://cairn.test",
        headers=bearer(admin_token),
        raise_server_exceptions=False,
    )


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def refused(response: Any) -> str:
    assert response.status_code == 400, response.text
    code: str = response.json()["error"]["code"]
    return code


def test_an_import_from_an_allowed_prefix_registers_the_files(http: TestClient, area: str) -> None:
    source = f"s3://{BUCKET}/{area}/models/fraud"
    imports = f"{API}{paths.model_imports('default', 'fraud')}"
    made = http.post(imports, json={"source": source, "tags": {"team": "risk"}})
    assert made.status_code == 201, made.text
    version = made.json()
    assert {f["path"]: f["digest"] for f in version["files"]} == {
        p: digest(d) for p, d in FILES.items()
    }
    assert version["provenance"]["extra"]["imported_from"] == source
    assert version["tags"]["team"] == "risk"
    assert version["tags"]["model.architecture"] == "TinyNet"  # read like any registration's
    for path, data in FILES.items():
        got = http.get(f"{API}{paths.blob('default', digest(data))}")
        assert got.status_code == 200 and got.content == data, path

    single = http.post(imports, json={"source": f"{source}/README.md"})
    assert single.status_code == 201, single.text
    assert [f["path"] for f in single.json()["files"]] == ["README.md"]


@pytest.mark.parametrize(
    "where",
    [
        "private/key.bin",  # another prefix of the same bucket
        "models-private/key.bin",  # a sibling whose name starts like the allowed prefix
        "models/../private/key.bin",  # a path that climbs out, refused rather than normalised
    ],
)
def test_a_source_outside_the_allow_list_is_refused_and_nothing_is_written(
    http: TestClient, area: str, where: str
) -> None:
    imports = f"{API}{paths.model_imports('default', 'leak')}"
    source = f"s3://{BUCKET}/{area}/{where}"
    assert refused(http.post(imports, json={"source": source})) == "import_source_refused"
    for source in ("s3://another-bucket/models/x", "https://example.com/model.bin", "/etc"):
        assert refused(http.post(imports, json={"source": source})) == "import_source_refused"
    assert http.get(f"{API}{paths.model('default', 'leak')}").status_code == 404
    wanted = {"digests": [digest(b"secret")]}
    missing = http.post(f"{API}{paths.missing_blobs('default')}", json=wanted)
    assert missing.json()["missing"] == [digest(b"secret")]  # its bytes were never fetched


def test_mlflow_registers_an_s3_source_only_under_an_allowed_prefix(
    http: TestClient, area: str
) -> None:
    created = http.post(f"{MLFLOW}/registered-models/create", json={"name": "Fraud"})
    assert created.status_code == 200, created.text
    outside = {"name": "Fraud", "source": f"s3://{BUCKET}/{area}/private/key.bin"}
    denied = http.post(f"{MLFLOW}/model-versions/create", json=outside)
    assert denied.status_code == 400
    assert denied.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "CAIRN_IMPORT_ALLOW" in denied.json()["message"]
    listed = http.get(f"{API}{paths.model_versions('default', 'fraud')}").json()
    assert listed["items"] == []

    inside = {"name": "Fraud", "source": f"s3://{BUCKET}/{area}/models/fraud"}
    made = http.post(f"{MLFLOW}/model-versions/create", json=inside)
    assert made.status_code == 200, made.text
    assert made.json()["model_version"]["source"] == inside["source"]
    version = http.get(f"{API}{paths.version('default', 'fraud', 1)}").json()
    assert {f["path"]: f["digest"] for f in version["files"]} == {
        p: digest(d) for p, d in FILES.items()
    }


def test_cairn_import_then_pull_gives_the_same_bytes(
    s3_server: S3Server, area: str, tmp_path: Path
) -> None:
    server = start_live_server(tmp_path, None, None, process=False, **s3_env(s3_server, area))
    try:
        source = f"s3://{BUCKET}/{area}/models/fraud"
        done = run_cli(server.url, "import", source, "fraud")
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("default/fraud:1")
        pulled = run_cli(server.url, "pull", "fraud:1", str(tmp_path / "out"))
        assert pulled.returncode == 0, pulled.stderr
        for path, data in FILES.items():
            assert (tmp_path / "out" / path).read_bytes() == data

        outside = run_cli(server.url, "--json", "import", f"s3://{BUCKET}/{area}/private", "x")
        assert outside.returncode != 0
        assert '"import_source_refused"' in outside.stdout + outside.stderr
    finally:
        server.stop()


def test_the_mlflow_client_registers_an_allowed_s3_source_and_is_refused_another(
    s3_server: S3Server, area: str, tmp_path: Path
) -> None:
    server = start_live_server(tmp_path, None, None, process=False, **s3_env(s3_server, area))
    allowed = f"s3://{BUCKET}/{area}/models/fraud"
    outside = f"s3://{BUCKET}/{area}/private"
    try:
        report = run_mlflow_script(
            SCENARIO, server.url, server.token, str(tmp_path), allowed, outside, cwd=tmp_path
        )
    finally:
        server.stop()
    assert report["source"] == allowed
    assert report["files"] == {p: digest(d) for p, d in FILES.items()}  # the same bytes
    assert report["refused"] == "INVALID_PARAMETER_VALUE"
    assert "CAIRN_IMPORT_ALLOW" in report["refused_message"]
    assert report["versions"] == ["1"]  # the refusal registered nothing


def test_a_source_whose_paths_break_the_path_rule_is_refused_before_fetching(
    http: TestClient, s3_server: S3Server, area: str
) -> None:
    for key, data in (("odd/Model.bin", b"one"), ("odd/model.BIN", b"two")):
        s3_server.client.put_object(Bucket=BUCKET, Key=f"{area}/models/{key}", Body=data)
    imports = f"{API}{paths.model_imports('default', 'odd')}"
    answer = http.post(imports, json={"source": f"s3://{BUCKET}/{area}/models/odd"})
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "unsafe_path"  # the same on a case-folding disk
    wanted = {"digests": [digest(b"one"), digest(b"two")]}
    missing = http.post(f"{API}{paths.missing_blobs('default')}", json=wanted)
    assert missing.json()["missing"] == wanted["digests"]  # nothing was fetched


@pytest.mark.parametrize(
    "allow", ["s3://store", "s3://store/cairn", "s3://store/cairn/blobs", "s3://x/y, s3://store/"]
)
def test_an_allow_list_reaching_the_blob_store_is_refused_at_start(
    tmp_path: Path, allow: str
) -> None:
    """A prefix that reaches the S3 blob store's own objects (or lies inside them) would let a
    writer import any namespace's blobs by their keys: the server does not start with it,
    naming the setting, before it opens anything. A sibling prefix is fine."""
    settings = load_settings(
        data_dir=tmp_path / "data",
        blob_url="s3://store/cairn",
        s3_endpoint_url="http://127.0.0.1:9",
        import_allow=allow,
    )
    with pytest.raises(ConfigError) as refused:
        Services.open(settings)
    assert refused.value.details["setting"] == "CAIRN_IMPORT_ALLOW"
    check_apart_from_store(parse_import_allow("s3://store/cairn-imports"), "s3://store/cairn")
    check_apart_from_store(parse_import_allow("s3://store"), "file:///srv/blobs")
