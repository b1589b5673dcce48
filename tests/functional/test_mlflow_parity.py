"""The unchanged MLflow client's registry calls against a real ``mlflow server`` (started here)
and against Cairn, on SQLite and PostgreSQL: the same answers, field by field and error message
by error message, apart from the differences the README's MLflow section lists (``KNOWN``).

Mixed-case names and aliases, tag keys with spaces and long tag values, MLflow's case rules
for ``=``, ``LIKE`` and ``ILIKE``, ``last_updated_timestamp`` moving with the versions, stage
transitions (Cairn's namespace set to the ``mlflow-migration`` policy preset), a version copied
into another model, an aliased version and a model with versions deleted.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer, free_port, start_live_server
from tests.functional import run_mlflow_script, wait_for, without_mlflow_variables

SCENARIO = Path(__file__).parent / "mlflow_scripts" / "registry_parity.py"
# What Cairn answers differently, on purpose (README, "MLflow: what differs"): the answer
# each gives is checked here too, so the list stays true.
KNOWN: dict[str, tuple[Any, Any]] = {}


@pytest.fixture(scope="module")
def mlflow_answers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What a real MLflow tracking server (its registry on SQLite, its artifact proxy) answers
    the scenario: asked once, compared with Cairn on each database."""
    root = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    log = (root / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
         "--workers", "1", "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
         "--artifacts-destination", str(root / "artifacts")],
        stdout=log, stderr=subprocess.STDOUT, env=without_mlflow_variables(), cwd=root,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _healthy(url, process), "the MLflow server to start", timeout=120)
        return report(url, "unused", root / "client")
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _healthy(url: str, process: subprocess.Popen[bytes]) -> bool | None:
    assert process.poll() is None, "the MLflow server exited"
    try:
        return httpx.get(f"{url}/health", timeout=2).status_code == 200 or None
    except httpx.TransportError:
        return None


@pytest.fixture
def cairn(tmp_path: Path, database_url: str) -> Iterator[LiveServer]:
    live = start_live_server(tmp_path, database_url)
    headers = {"Authorization": f"Bearer {live.token}"}
    # Teams moving from MLflow take its ungoverned stage transitions with the preset.
    response = httpx.put(
        f"{live.url}/api/v1/namespaces/default/policy",
        json={"preset": "mlflow-migration"},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    yield live
    live.stop()


def report(url: str, token: str, work: Path) -> dict[str, Any]:
    work.mkdir()
    return run_mlflow_script(SCENARIO, url, token, str(work), cwd=work)


def test_the_registry_answers_as_mlflow_s_own_server(
    mlflow_answers: dict[str, Any], cairn: LiveServer, tmp_path: Path
) -> None:
    theirs = mlflow_answers
    ours = report(cairn.url, cairn.token, tmp_path / "cairn")
    assert set(ours) == set(theirs)
    for key, expected in theirs.items():
        if key in KNOWN:
            mlflow_answer, cairn_code = KNOWN[key]
            assert expected == mlflow_answer, key
            assert ours[key][0] == cairn_code, (key, ours[key])
            continue
        assert ours[key] == expected, key
    assert all(theirs["times"].values()), theirs["times"]
    # The scenario went where it meant to (on both, as the answers are the same).
    assert theirs["create"]["name"] == "UpdateRMTest"
    assert theirs["by_alias"]["aliases"] == ["Champion"]
    assert theirs["search_eq_other_case"] == theirs["search_like_other_case"] == []
    assert theirs["search_ilike"] == theirs["search_tag_with_space"] == ["UpdateRMTest"]
    assert theirs["create"]["tags"]["my key"] == "v" * 6000
    assert theirs["transition"]["stage"] == "Staging"
    assert (theirs["copy"]["name"], theirs["copy"]["version"]) == ("CopyTarget", "1")
    assert theirs["alias_after_delete"][0] == "INVALID_PARAMETER_VALUE"
    assert theirs["deleted_model"][0] == "RESOURCE_DOES_NOT_EXIST"
