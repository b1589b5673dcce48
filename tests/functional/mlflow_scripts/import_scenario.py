"""The unchanged MLflow client registering versions from ``s3://`` sources on a Cairn server:
one under a prefix the server allows (then downloaded back through MLflow), one outside it.

    MLFLOW_TRACKING_URI=<cairn> MLFLOW_TRACKING_TOKEN=<token> \
        python import_scenario.py <dir> <allowed source> <refused source>
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException


def main(work: Path, allowed: str, refused: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    client = MlflowClient()
    client.create_registered_model("S3Model")
    version = client.create_model_version("S3Model", allowed)
    out["version"] = version.version
    out["source"] = version.source
    local = Path(mlflow.artifacts.download_artifacts(f"models:/S3Model/{version.version}"))
    out["files"] = {
        p.relative_to(local).as_posix(): "sha256:" + hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(local.rglob("*"))
        if p.is_file()
    }
    try:
        client.create_model_version("S3Model", refused)
        out["refused"] = "no error"
    except MlflowException as exc:
        out["refused"] = str(exc.error_code)
        out["refused_message"] = str(exc.message)
    out["versions"] = sorted(v.version for v in client.search_model_versions("name='S3Model'"))
    return out


if __name__ == "__main__":
    report = main(Path(sys.argv[1]), sys.argv[2], sys.argv[3])
    print("REPORT " + json.dumps(report))
