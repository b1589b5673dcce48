"""A training script run by the unchanged MLflow client against a live Cairn server, on the
embedded default (the run data's storage is held to both databases by test_mlflow_runs.py):
it logs params, metrics with steps, a tag and a dataset, is refused a re-logged param and an
over-limit batch as MLflow's server refuses them, reads its run, history and search back, and
registers models — the versions carry the run's params, final metrics, tags and datasets,
including ``sklearn.autolog(registered_model_name=…)``'s, whose training metrics arrive after
the model is registered and join the version when the run ends."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from cairn.client import Client
from tests.conftest import LiveServer
from tests.functional import run_cli, run_mlflow_script

SCRIPT = Path(__file__).parent / "mlflow_scripts" / "training_script.py"


def run_script(server: LiveServer, work: Path) -> dict[str, Any]:
    work.mkdir()
    # As users run it: a script committed in a repository, whose commit MLflow tags the run with.
    script = work / "train.py"
    script.write_text(SCRIPT.read_text())
    git = [
        "git",
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@example.com",
        "-c",
        "init.defaultBranch=main",
    ]
    for args in (["init", "-q"], ["add", "train.py"], ["commit", "-q", "-m", "train"]):
        subprocess.run([*git, *args], cwd=work, check=True, capture_output=True, timeout=60)
    return run_mlflow_script(script, server.url, server.token, cwd=work)


def test_a_training_script_logs_its_run_and_registers_versions_that_carry_it(
    live_server: LiveServer, tmp_path: Path
) -> None:
    report = run_script(live_server, tmp_path / "script")

    assert report["relog"] == "INVALID_PARAMETER_VALUE"
    assert report["over_limit"] == "INVALID_PARAMETER_VALUE"
    assert report["params"] == {"C": "0.5", "solver": "lbfgs", "max_iter": "50"}
    assert report["metrics"] == {"accuracy": 0.9}
    assert report["tags"] == {"team": "risk"}
    assert report["datasets"] == [["toy", report["digest"], {"mlflow.data.context": "training"}]]
    assert report["history"] == [[0, 0.6], [1, 0.8], [2, 0.9]]
    assert report["search"] == [report["run_id"]]
    assert report["search_none"] == []
    assert report["experiment_tags"] == {"project": "fraud"}
    assert "training_accuracy_score" in report["autolog_metrics"]

    with Client(
        live_server.url, token=live_server.token, cache_dir=tmp_path / "cache", progress=False
    ) as sdk:
        scripted = sdk.get("scripted:1", files=False)  # a pickle: flagged, not pulled
        autologged = sdk.get("autologged:1", files=False)

    assert scripted.params == {"C": "0.5", "solver": "lbfgs", "max_iter": "50"}
    assert scripted.metrics == {"accuracy": 0.9}
    assert scripted.provenance["run"]["id"] == report["run_id"]
    assert scripted.provenance["datasets"] == [
        {
            "uri": "https://data.example/toy.csv",
            "digest": f"mlflow:{report['digest']}",
            "role": "training",
        }
    ]
    assert scripted.provenance["extra"]["mlflow"]["run_tags"]["team"] == "risk"
    assert len(scripted.provenance["code"]["commit"]) == 40  # the script's commit

    # `cairn show` has the run's params, metrics and datasets beside what the model's files
    # gave (schema, environment): all but a description, which MLflow never sends.
    shown = run_cli(live_server.url, "show", "scripted:1", token=live_server.token)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    for expected in ("metrics   accuracy=0.9", "C=0.5", "https://data.example/toy.csv"):
        assert expected in shown.stdout, shown.stdout
    assert scripted.input_output_schema["inputs"] and scripted.provenance["environment"]["python"]
    assert scripted.completeness.missing == ["description"]
    assert scripted.completeness.score >= 0.85

    # autolog registers the model before it logs the training metrics: they join the version
    # when the run ends, and its completeness is scored again with them.
    assert autologged.provenance["run"]["id"] == report["autolog_run"]
    assert autologged.params["C"] == "2.0" and autologged.params["max_iter"] == "100"
    assert set(report["autolog_metrics"]) <= set(autologged.metrics)
    assert autologged.metrics["training_accuracy_score"] == 1.0
    assert "metrics" not in autologged.completeness.missing

    # The versions' evaluation changed when the run ended: the audit log covers it.
    state = tmp_path / "trust.json"
    args = ("--json", "audit", "verify", "--records", "--state", str(state))
    verified = run_cli(live_server.url, *args, token=live_server.token)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert json.loads(verified.stdout)["ok"]
