"""MLflow's REST API, served at the server's root so that the unchanged MLflow client works
with ``MLFLOW_TRACKING_URI=<Cairn URL>`` and ``MLFLOW_TRACKING_TOKEN=<a Cairn token>``.

The routes only translate: MLflow's wire shapes in, Cairn's services, MLflow's shapes out.
"""

MLFLOW_PREFIX = "/api/2.0/mlflow"
ARTIFACTS_PREFIX = "/api/2.0/mlflow-artifacts/artifacts"
# Both prefixes above start with this one: errors under it use MLflow's body and codes.
ERRORS_PREFIX = "/api/2.0/mlflow"
