"""MLflow's own venv, as ``/work/shared/bench/README.md`` makes it, shared by every benchmark
that runs ``mlflow server`` or its client beside Cairn (``run.py``, ``load_mlflow.py``,
``mlflow_client.py``): made when missing or holding another MLflow, reused otherwise."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

MLFLOW_VERSION = "3.17.2"
PACKAGES = [f"mlflow=={MLFLOW_VERSION}", "httpx", "psutil", "blake3"]
DEFAULT = Path(os.environ.get("MLBENCH_ROOT", "/tmp/mlbench")) / "venv"


def ensure(venv: Path = DEFAULT, extra: Sequence[str] = (), imports: Sequence[str] = ()) -> bool:
    """Make ``venv`` hold MLflow ``MLFLOW_VERSION`` with ``PACKAGES`` and ``extra`` (whose
    modules ``imports`` must import); whether it was already so."""
    python = venv / "bin" / "python"
    modules = ", ".join(["mlflow", "httpx", "psutil", "blake3", *imports])
    if python.exists():
        probe = [str(python), "-c", f"import {modules}; print(mlflow.__version__)"]
        found = subprocess.run(probe, capture_output=True, text=True, check=False)
        if found.returncode == 0 and found.stdout.strip() == MLFLOW_VERSION:
            return True
    else:
        venv.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["python3", "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", *PACKAGES, *extra], check=True)
    return False
