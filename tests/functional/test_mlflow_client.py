"""The unchanged MLflow 3.x client against a real Cairn server, on SQLite and PostgreSQL:
log a pyfunc model in a run, register it, alias, tag, search, move stages, rename, load it by
number, alias and ``latest``, hit the errors it branches on, and pull the same bytes with Cairn.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cairn.client import Client
from tests.conftest import LiveServer, start_live_server
from tests.functional import run_mlflow_script

SCENARIO = Path(__file__).parent / "mlflow_scripts" / "client_scenario.py"


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[LiveServer]:
    live = start_live_server(tmp_path, database_url)
    yield live
    live.stop()


def run_client(server: LiveServer, work: Path) -> dict[str, Any]:
    work.mkdir()
    return run_mlflow_script(SCENARIO, server.url, server.token, str(work), cwd=work)


def test_the_mlflow_client_logs_registers_and_loads_through_cairn(
    server: LiveServer, tmp_path: Path
) -> None:
    report = run_client(server, tmp_path / "client")

    assert report["logged_version"] == "1"
    assert report["second_version"] == "2"
    assert report["by_alias"] == "1"
    assert report["predict_number"] == [2, 4]
    assert report["predict_alias"] == [6]
    assert report["predict_latest"] == [8]
    assert report["predict_renamed"] == [10]

    assert report["rm_tags"] == {"stage": "dev"}
    assert report["rm_description"] == "second"
    # Beside the user's tags, those the version's MLmodel gave (cairn.domain.derived).
    mv_tags = report["mv_tags"]
    assert {k: v for k, v in mv_tags.items() if not k.startswith("model.")} == {"quality": "good"}
    assert mv_tags["model.flavor"] == "python_function"
    assert report["mv_description"] == "the first"
    assert report["mv_aliases"] == ["champion"]

    assert report["search_rm_all"] == ["doubler", "tagged"]
    assert report["search_rm_like"] == ["doubler"]
    assert report["search_rm_tag"] == ["tagged"]
    assert report["search_mv"] == ["2", "1"]
    assert report["search_mv_tag"] == ["1"]
    assert report["search_mv_run"] == ["1", "2"]

    assert report["errors_policy"] == "INVALID_STATE"
    # v1 went to Staging, then v2 to Staging with archive_existing_versions: v1 is archived.
    assert report["stages"] == {"1": "Archived", "2": "Staging"}
    assert report["latest_staging"] == ["2"]
    assert report["alias_after_archive"] == "INVALID_PARAMETER_VALUE"
    # A rename keeps versions and aliases.
    assert report["renamed_versions"] == ["1", "2"]
    assert report["renamed_alias"] == "2"

    assert report["errors"] == {
        "get_missing_model": "RESOURCE_DOES_NOT_EXIST",
        "get_missing_version": "RESOURCE_DOES_NOT_EXIST",
        "missing_alias": "INVALID_PARAMETER_VALUE",
        "create_existing": "RESOURCE_ALREADY_EXISTS",
        "rename_onto_existing": "RESOURCE_ALREADY_EXISTS",
        "load_missing": "RESOURCE_DOES_NOT_EXIST",
        "bad_filter": "INVALID_PARAMETER_VALUE",
    }

    # copy_model_version makes a new version of a new model with the source's very files; a
    # copy of a version that does not exist is refused (the client wraps the server's 404 in
    # an error of its own) before anything is created.
    assert report["copy"] == ["doubler-copy", "1"]
    assert report["copy_missing"] != "no error"
    assert report["models_after_copies"] == ["doubler-copy", "doubler-renamed", "tagged"]

    # What MLflow downloaded is what `cairn pull` gives: the version's immutable manifest.
    downloaded = Path(report["downloaded"])
    pulled = tmp_path / "pulled"
    with Client(
        server.url, token=server.token, cache_dir=tmp_path / "cache", progress=False
    ) as sdk:
        sdk.pull("doubler-renamed:1", pulled)
    mlflow_files = _files(downloaded)
    mlflow_files.pop("registered_model_meta", None)  # written by the MLflow client itself
    assert mlflow_files == _files(pulled)
    assert {"MLmodel", "doubler.py", "requirements.txt"} <= set(mlflow_files)  # code, no pickle
    with Client(
        server.url, token=server.token, cache_dir=tmp_path / "cache", progress=False
    ) as sdk:
        copy = sdk.get("doubler-copy:1")
        source = sdk.get("doubler-renamed:2")
    assert copy.manifest_digest == source.manifest_digest
    assert copy.provenance["extra"]["mlflow"]["source"] == "models:/doubler-renamed/2"
    # The copy keeps its lineage to the source (Cairn's parents).
    assert copy.provenance["parents"] == [
        {"ref": "default/doubler-renamed:2", "relation": "copied_from"}
    ]


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}
