"""The scenario's model, logged as code (MLflow's "models from code") rather than pickled (a
cloudpickled ``PythonModel`` is tested in ``pyfunc_promotion.py``)."""

from __future__ import annotations

from typing import Any

import mlflow.pyfunc
from mlflow.models import set_model


class Doubler(mlflow.pyfunc.PythonModel):  # type: ignore[misc]
    def predict(self, context: Any, model_input: list[int], params: Any = None) -> list[int]:
        return [x * 2 for x in model_input]


set_model(Doubler())
