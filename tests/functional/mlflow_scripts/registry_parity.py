"""The same registry calls of the unchanged MLflow client against one server: run as a script
(its own process, so MLflow's globals and warnings stay out of the test process), it prints one
JSON report of every answer (the fields compared, or an error's code and message).

    MLFLOW_TRACKING_URI=<server> MLFLOW_TRACKING_TOKEN=<token> python registry_parity.py <dir>

The test runs it against a real ``mlflow server`` and against Cairn and compares the reports.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path
from typing import Any

from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion, RegisteredModel
from mlflow.exceptions import MlflowException

NAME = "UpdateRMTest"  # a name MLflow's own tests use; its case is part of it
LONG = "v" * 6000  # longer than Cairn took before (1024 bytes)


def answer(call: Any) -> Any:
    """What the server answered: the compared fields, or ``[error_code, message]``."""
    try:
        found = call()
    except MlflowException as exc:
        return [str(exc.error_code), exc.message]
    if isinstance(found, RegisteredModel):
        return {
            "name": found.name,
            "description": found.description,
            "tags": found.tags,
            "aliases": found.aliases,
            "latest": sorted((v.version, v.current_stage) for v in found.latest_versions or []),
        }
    if isinstance(found, ModelVersion):
        return {
            "name": found.name,
            "version": found.version,
            "stage": found.current_stage,
            "description": found.description,
            "tags": found.tags,
            "aliases": sorted(found.aliases),
            "status": found.status,
        }
    if isinstance(found, list):
        return [answer(lambda item=item: item) for item in found]
    return found


def main(work: Path) -> dict[str, Any]:
    warnings.simplefilter("ignore")  # stages are deprecated in MLflow; still used by users
    client = MlflowClient()
    out: dict[str, Any] = {}
    times: dict[str, bool] = {}
    out["create"] = answer(
        lambda: client.create_registered_model(
            NAME, tags={"my key": LONG, "team": "risk"}, description="scores"
        )
    )
    created = client.get_registered_model(NAME)
    times["created_untouched"] = created.creation_timestamp == created.last_updated_timestamp
    out["create_again"] = answer(lambda: client.create_registered_model(NAME))
    out["get"] = answer(lambda: client.get_registered_model(NAME))
    out["get_missing"] = answer(lambda: client.get_registered_model("NoSuchModel"))
    out["bad_tag_key"] = answer(lambda: client.set_registered_model_tag(NAME, "a=b", "x"))
    out["long_tag_key"] = answer(lambda: client.set_registered_model_tag(NAME, "k" * 251, "x"))
    out["long_tag_value"] = answer(
        lambda: client.set_registered_model_tag(NAME, "k", "x" * 100_001)
    )
    out["bad_name"] = answer(lambda: client.create_registered_model("a/b"))

    # Versions from a file logged in a run (the artifact proxy of either server).
    experiment = client.create_experiment("parity")
    run = client.create_run(experiment)
    model_dir = work / "model"
    model_dir.mkdir()
    (model_dir / "weights.txt").write_text("weights")
    client.log_artifacts(run.info.run_id, str(model_dir), "model")
    source = f"runs:/{run.info.run_id}/model"
    before = client.get_registered_model(NAME).last_updated_timestamp
    out["v1"] = answer(
        lambda: client.create_model_version(NAME, source, run.info.run_id, tags={"a key": LONG})
    )
    out["v2"] = answer(lambda: client.create_model_version(NAME, source, run.info.run_id))
    after = client.get_registered_model(NAME)
    v2 = client.get_model_version(NAME, "2")
    times["created_moves_model"] = after.last_updated_timestamp > before
    times["created_moves_to_version"] = after.last_updated_timestamp == v2.creation_timestamp

    out["set_alias"] = answer(lambda: client.set_registered_model_alias(NAME, "Champion", "1"))
    out["by_alias"] = answer(lambda: client.get_model_version_by_alias(NAME, "Champion"))
    out["missing_alias"] = answer(lambda: client.get_model_version_by_alias(NAME, "nobody"))
    out["version_tag"] = answer(
        lambda: client.set_model_version_tag(NAME, "2", "reviewed by", "ana and bo")
    )
    out["get_v2"] = answer(lambda: client.get_model_version(NAME, "2"))
    out["get_missing_version"] = answer(lambda: client.get_model_version(NAME, "99"))

    # MLflow's case rules for name filters: = and LIKE tell case, ILIKE does not.
    for key, text in [
        ("eq_exact", f"name = '{NAME}'"),
        ("eq_other_case", f"name = '{NAME.lower()}'"),
        ("like_other_case", "name LIKE 'update%'"),
        ("like_exact", "name LIKE 'Update%'"),
        ("ilike", "name ILIKE 'update%'"),
        ("tag_with_space", "tags.`my key` LIKE 'vvv%'"),
    ]:
        out[f"search_{key}"] = answer(
            lambda text=text: [m.name for m in client.search_registered_models(text)]
        )
    out["search_versions"] = answer(
        lambda: [v.version for v in client.search_model_versions(f"name = '{NAME}'")]
    )

    before = client.get_registered_model(NAME).last_updated_timestamp
    out["transition"] = answer(lambda: client.transition_model_version_stage(NAME, "2", "Staging"))
    moved = client.get_registered_model(NAME)
    times["transition_moves_model"] = moved.last_updated_timestamp > before
    out["bad_stage"] = answer(lambda: client.transition_model_version_stage(NAME, "2", "Nope"))
    out["after_transition"] = answer(lambda: client.get_registered_model(NAME))

    out["copy"] = answer(lambda: client.copy_model_version(f"models:/{NAME}/2", "CopyTarget"))
    out["copy_target"] = answer(lambda: client.get_registered_model("CopyTarget"))

    # Deleting an aliased version drops its aliases; deleting a model, its versions.
    before = client.get_registered_model(NAME).last_updated_timestamp
    out["delete_aliased"] = answer(lambda: client.delete_model_version(NAME, "1"))
    times["delete_moves_model"] = client.get_registered_model(NAME).last_updated_timestamp > before
    out["alias_after_delete"] = answer(lambda: client.get_model_version_by_alias(NAME, "Champion"))
    out["deleted_version"] = answer(lambda: client.get_model_version(NAME, "1"))
    out["after_delete"] = answer(lambda: client.get_registered_model(NAME))
    out["delete_model"] = answer(lambda: client.delete_registered_model(NAME))
    out["deleted_model"] = answer(lambda: client.get_registered_model(NAME))
    out["times"] = times
    return out


if __name__ == "__main__":
    report = main(Path(sys.argv[1]))
    print("REPORT " + json.dumps(report))
