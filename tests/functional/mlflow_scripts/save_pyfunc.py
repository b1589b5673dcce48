"""Save a pyfunc model as MLflow writes one, with a column signature in and a tensor out: run
as a script, so MLflow's imports and warning filters stay out of the test process.

    python save_pyfunc.py <folder>
"""

from __future__ import annotations

import sys
from typing import Any

import mlflow
import numpy as np
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, Schema, TensorSpec


class Doubler(mlflow.pyfunc.PythonModel):  # type: ignore[misc,name-defined]
    def predict(self, context: Any, model_input: Any, params: Any = None) -> Any:
        return model_input * 2


if __name__ == "__main__":
    signature = ModelSignature(
        inputs=Schema([ColSpec("double", "amount"), ColSpec("string", "country")]),
        outputs=Schema([TensorSpec(np.dtype("float64"), (-1, 1))]),
    )
    mlflow.pyfunc.save_model(sys.argv[1], python_model=Doubler(), signature=signature)
