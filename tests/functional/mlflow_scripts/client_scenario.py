"""The unchanged MLflow client against a Cairn server: run as a script (its own process, so
MLflow's environment and globals stay out of the test process), it prints one JSON report.

    MLFLOW_TRACKING_URI=<cairn> MLFLOW_TRACKING_TOKEN=<token> python client_scenario.py <dir>
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import httpx
import mlflow
import mlflow.pyfunc
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

DOUBLER = Path(__file__).with_name("doubler.py")  # logged as code (MLflow models from code)


def error_code(call: Any) -> str:
    try:
        call()
    except MlflowException as exc:
        return str(exc.error_code)
    return "no error"


def main(work: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    client = MlflowClient()
    mlflow.set_experiment("scenario")
    with mlflow.start_run() as run:
        info = mlflow.pyfunc.log_model(
            name="model", python_model=str(DOUBLER), registered_model_name="doubler"
        )
    out["run_id"] = run.info.run_id
    out["logged_version"] = info.registered_model_version
    out["second_version"] = mlflow.register_model(
        f"runs:/{run.info.run_id}/model", "doubler"
    ).version

    client.set_registered_model_alias("doubler", "champion", "1")
    out["by_alias"] = client.get_model_version_by_alias("doubler", "champion").version
    out["predict_number"] = mlflow.pyfunc.load_model("models:/doubler/1").predict([1, 2])
    out["predict_alias"] = mlflow.pyfunc.load_model("models:/doubler@champion").predict([3])
    out["predict_latest"] = mlflow.pyfunc.load_model("models:/doubler/latest").predict([4])
    downloaded = mlflow.artifacts.download_artifacts(
        "models:/doubler@champion", dst_path=str(work / "dl")
    )
    out["downloaded"] = downloaded

    client.create_registered_model("tagged", tags={"team": "a"}, description="first")
    client.set_registered_model_tag("tagged", "stage", "dev")
    client.delete_registered_model_tag("tagged", "team")
    client.update_registered_model("tagged", description="second")
    rm = client.get_registered_model("tagged")
    out["rm_tags"] = rm.tags
    out["rm_description"] = rm.description

    client.set_model_version_tag("doubler", "1", "quality", "good")
    client.set_model_version_tag("doubler", "2", "quality", "bad")
    client.delete_model_version_tag("doubler", "2", "quality")
    client.update_model_version("doubler", "1", description="the first")
    mv = client.get_model_version("doubler", "1")
    out["mv_tags"] = mv.tags
    out["mv_description"] = mv.description
    out["mv_aliases"] = list(mv.aliases)

    out["search_rm_all"] = sorted(m.name for m in client.search_registered_models())
    out["search_rm_like"] = [m.name for m in client.search_registered_models("name LIKE 'doub%'")]
    out["search_rm_tag"] = [m.name for m in client.search_registered_models("tag.stage = 'dev'")]
    out["search_mv"] = [v.version for v in client.search_model_versions("name='doubler'")]
    out["search_mv_tag"] = [
        v.version for v in client.search_model_versions("name='doubler' AND tag.quality='good'")
    ]
    out["search_mv_run"] = sorted(
        v.version for v in client.search_model_versions(f"run_id='{run.info.run_id}'")
    )

    # A policy whose staging gate the version does not meet (it logged no metrics): the
    # refusal is a 4xx the client reports. An admin then relaxes the policy.
    def set_policy(document: dict[str, Any]) -> None:
        httpx.put(
            os.environ["MLFLOW_TRACKING_URI"] + "/api/v1/namespaces/default/policy",
            json=document,
            headers={"Authorization": "Bearer " + os.environ["MLFLOW_TRACKING_TOKEN"]},
        ).raise_for_status()

    scored = {"rules": [{"name": "scored", "expr": "has(metrics.auc)"}]}
    set_policy({"states": {"staging": scored, "archived": {}}})
    out["errors_policy"] = error_code(
        lambda: client.transition_model_version_stage("doubler", "1", "Staging")
    )
    set_policy({"states": {"staging": {}, "archived": {}}})
    client.transition_model_version_stage("doubler", "1", "Staging")
    client.transition_model_version_stage("doubler", "2", "Staging", archive_existing_versions=True)
    out["stages"] = {
        v.version: v.current_stage for v in client.search_model_versions("name='doubler'")
    }
    out["latest_staging"] = [v.version for v in client.get_latest_versions("doubler", ["Staging"])]

    # Archiving takes a version out of every alias (Cairn's rule): @champion is gone from v1.
    out["alias_after_archive"] = error_code(
        lambda: client.get_model_version_by_alias("doubler", "champion")
    )
    client.set_registered_model_alias("doubler", "champion", "2")
    client.rename_registered_model("doubler", "doubler-renamed")
    out["renamed_versions"] = sorted(
        v.version for v in client.search_model_versions("name='doubler-renamed'")
    )
    out["renamed_alias"] = client.get_model_version_by_alias("doubler-renamed", "champion").version
    out["predict_renamed"] = mlflow.pyfunc.load_model("models:/doubler-renamed/1").predict([5])

    out["errors"] = {
        "get_missing_model": error_code(lambda: client.get_registered_model("nope")),
        "get_missing_version": error_code(lambda: client.get_model_version("tagged", "999")),
        "missing_alias": error_code(
            lambda: client.get_model_version_by_alias("doubler-renamed", "nope")
        ),
        "create_existing": error_code(lambda: client.create_registered_model("tagged")),
        "rename_onto_existing": error_code(
            lambda: client.rename_registered_model("doubler-renamed", "tagged")
        ),
        "load_missing": error_code(lambda: mlflow.pyfunc.load_model("models:/nope/1")),
        "bad_filter": error_code(lambda: client.search_model_versions("bogus ~~ 1")),
    }
    client.delete_registered_model_alias("doubler-renamed", "nope")  # a no-op, as in MLflow

    # The client creates the destination model, then registers a version from the source's
    # models:/ URI: a refused registration would leave an empty model behind.
    copied = client.copy_model_version("models:/doubler-renamed/2", "doubler-copy")
    out["copy"] = [copied.name, copied.version]
    out["copy_missing"] = error_code(
        lambda: client.copy_model_version("models:/doubler-renamed/9", "never-made")
    )
    out["models_after_copies"] = sorted(m.name for m in client.search_registered_models())
    return out


if __name__ == "__main__":
    report = main(Path(sys.argv[1]))
    print("REPORT " + json.dumps(report, default=str))
