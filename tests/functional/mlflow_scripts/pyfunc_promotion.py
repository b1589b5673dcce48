"""A model logged the usual way — a ``PythonModel`` object, which MLflow cloudpickles with its
code by value — registered and moved to Production with the unchanged MLflow client under
Cairn's default policy; and one whose ``predict`` calls ``os.system``, refused. Run as a script
(its own process), it prints one JSON report.

    MLFLOW_TRACKING_URI=<cairn> MLFLOW_TRACKING_TOKEN=<token> python pyfunc_promotion.py
"""

from __future__ import annotations

import json
import os
from typing import Any

import mlflow
import mlflow.pyfunc
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException


class Echo(mlflow.pyfunc.PythonModel):  # type: ignore[misc]
    """Defined in the script's ``__main__``, so cloudpickle ships its code by value."""

    def load_context(self, context: Any) -> None:
        self.factor = 3

    def predict(self, context: Any, model_input: list[int], params: Any = None) -> list[int]:
        return [x * self.factor for x in model_input]


class Shell(mlflow.pyfunc.PythonModel):  # type: ignore[misc]
    """Never run: its pickle is refused before anyone loads it."""

    def predict(self, context: Any, model_input: list[int], params: Any = None) -> int:
        return os.system("id")


def refusal(call: Any) -> list[str]:
    try:
        call()
    except MlflowException as exc:
        return [str(exc.error_code), exc.message]
    return ["no error", ""]


def main() -> dict[str, Any]:
    out: dict[str, Any] = {}
    client = MlflowClient()
    mlflow.set_experiment("pyfunc")
    with mlflow.start_run():
        echo = mlflow.pyfunc.log_model(
            name="echo", python_model=Echo(), registered_model_name="echo"
        )
        shell = mlflow.pyfunc.log_model(
            name="shell", python_model=Shell(), registered_model_name="shell"
        )
    # A second version of echo, for Cairn's own promote (the test promotes it).
    mlflow.register_model(echo.model_uri, "echo")
    out["echo_version"] = echo.registered_model_version
    client.transition_model_version_stage("echo", "1", "Staging")
    client.transition_model_version_stage("echo", "1", "Production")
    out["echo_stage"] = client.get_model_version("echo", "1").current_stage
    out["predict"] = mlflow.pyfunc.load_model("models:/echo/1").predict([1, 2])
    out["shell_version"] = shell.registered_model_version
    out["shell_refused"] = refusal(
        lambda: client.transition_model_version_stage("shell", "1", "Staging")
    )
    out["shell_stage"] = client.get_model_version("shell", "1").current_stage
    return out


if __name__ == "__main__":
    print("REPORT " + json.dumps(main()))
