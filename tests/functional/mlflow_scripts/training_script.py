"""A training script as users write it, committed in a git repository and run by the
unchanged MLflow client against Cairn (``MLFLOW_TRACKING_URI`` and ``MLFLOW_TRACKING_TOKEN``
point at it): params, metrics with
steps, a tag, a dataset input, a model registered from the run; the refusals MLflow's server
gives; the run read back, searched and its metric's history; then ``sklearn.autolog`` with
``registered_model_name``. Prints one ``REPORT <json>`` line."""

from __future__ import annotations

import json
from typing import Any

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.data.pandas_dataset import from_pandas
from mlflow.entities import Metric
from mlflow.exceptions import MlflowException
from sklearn.linear_model import LogisticRegression


def refusal(call: Any) -> str:
    try:
        call()
    except MlflowException as exc:
        return str(exc.error_code)
    return "no error"


def main() -> None:
    report: dict[str, Any] = {}
    frame = pd.DataFrame({"x1": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0], "x2": [1.0, 0.0, 1.0, 0.0, 1.0, 0]})
    frame["y"] = [0, 0, 0, 1, 1, 1]
    features, labels = frame[["x1", "x2"]].to_numpy(), frame["y"].to_numpy()
    client = MlflowClient()

    mlflow.set_experiment("training")
    mlflow.set_experiment_tag("project", "fraud")
    with mlflow.start_run() as run:
        mlflow.log_param("C", 0.5)
        mlflow.log_params({"solver": "lbfgs", "max_iter": 50})
        for step, accuracy in enumerate([0.6, 0.8, 0.9]):
            mlflow.log_metric("accuracy", accuracy, step=step)
        mlflow.set_tag("team", "risk")
        dataset = from_pandas(frame, source="https://data.example/toy.csv", name="toy", targets="y")
        mlflow.log_input(dataset, context="training")
        model = LogisticRegression(C=0.5, max_iter=50).fit(features, labels)
        report["relog"] = refusal(lambda: mlflow.log_param("C", 0.7))
        # The client splits a large batch itself; its store sends one request as it is given.
        store = client._tracking_client.store
        too_many = [Metric("m", 1.0, 0, i) for i in range(1001)]
        report["over_limit"] = refusal(lambda: store.log_batch(run.info.run_id, too_many, [], []))
        mlflow.sklearn.log_model(
            model,
            name="model",
            serialization_format="cloudpickle",
            input_example=frame[["x1", "x2"]].head(2),  # MLflow infers the signature from it
            registered_model_name="scripted",
        )
    run_id = run.info.run_id
    report["run_id"] = run_id
    got = client.get_run(run_id)
    report["params"] = got.data.params
    report["metrics"] = got.data.metrics
    report["tags"] = {k: v for k, v in got.data.tags.items() if not k.startswith("mlflow.")}
    report["datasets"] = [
        [d.dataset.name, d.dataset.digest, {t.key: t.value for t in d.tags}]
        for d in (got.inputs.dataset_inputs if got.inputs else [])
    ]
    report["digest"] = dataset.digest
    report["history"] = [[m.step, m.value] for m in client.get_metric_history(run_id, "accuracy")]
    found = mlflow.search_runs(
        experiment_names=["training"],
        filter_string="metrics.accuracy > 0.85 and params.C = '0.5'",
        output_format="list",
    )
    report["search"] = [r.info.run_id for r in found]
    experiment = mlflow.get_experiment_by_name("training")
    report["experiment_tags"] = experiment.tags if experiment else None
    report["search_none"] = mlflow.search_runs(
        experiment_names=["training"], filter_string="metrics.accuracy > 0.95", output_format="list"
    )

    mlflow.sklearn.autolog(registered_model_name="autologged")
    with mlflow.start_run() as auto_run:
        LogisticRegression(C=2.0, max_iter=100).fit(features, labels)
    mlflow.sklearn.autolog(disable=True)
    report["autolog_run"] = auto_run.info.run_id
    auto = client.get_run(auto_run.info.run_id)
    report["autolog_metrics"] = sorted(auto.data.metrics)
    print("REPORT " + json.dumps(report, default=str))


if __name__ == "__main__":
    main()
