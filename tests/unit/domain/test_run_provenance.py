"""What a version registered from an MLflow run takes from it, and what it leaves out."""

from __future__ import annotations

from cairn.domain.metadata import parse_provenance
from cairn.domain.registrations import VersionMetadata
from cairn.domain.run_provenance import code_of, dataset_of, final_metrics, with_run
from cairn.domain.tracking import Run

COMMIT = "9fceb02d0ae598e95dc970b74767f19372d61af8"


def a_run(**extra: object) -> Run:
    values: dict[str, object] = {
        "id": "r1",
        "experiment_id": 1,
        "name": "run",
        "user_id": "u",
        "status": "RUNNING",
        "start_time": 1,
        "end_time": None,
        "lifecycle_stage": "active",
        "tags": {"mlflow.source.git.commit": COMMIT, "team": "risk"},
        "params": {"lr": "0.1"},
        "metrics": {
            "acc": {"value": 0.9, "timestamp": 1, "step": 3},
            "loss": {"value": "NaN", "timestamp": 1, "step": 3},
        },
        "inputs": [
            {
                "name": "d",
                "digest": "abc",
                "source_type": "http",
                "source": '{"url": "https://x/d.csv"}',
                "tags": {"mlflow.data.context": "train"},
            }
        ],
    }
    values.update(extra)
    return Run(**values)  # type: ignore[arg-type]


def test_the_run_fills_what_the_registration_left_out() -> None:
    meta = with_run(VersionMetadata(), {"run": {"id": "r1"}}, a_run(), {"alpha": "1"})
    assert meta.params == {"alpha": "1", "lr": "0.1"}
    assert meta.metrics == {"acc": 0.9}  # NaN has no place in a version's metrics
    parsed = parse_provenance(meta.provenance)  # what Cairn's metadata accepts
    assert parsed["code"] == {"commit": COMMIT}
    assert parsed["datasets"] == [
        {"uri": "https://x/d.csv", "digest": "mlflow:abc", "role": "train"}
    ]
    assert parsed["extra"]["mlflow"]["run_tags"]["team"] == "risk"


def test_what_the_registration_says_wins() -> None:
    given = VersionMetadata(params={"p": "1"}, metrics={"m": 1.0})
    meta = with_run(given, {"datasets": [{"uri": "s3://own"}]}, a_run())
    assert meta.params == {"p": "1"} and meta.metrics == {"m": 1.0}
    assert meta.provenance["datasets"] == [{"uri": "s3://own"}]


def test_values_cairn_cannot_hold_are_left_out() -> None:
    assert code_of({"mlflow.source.git.commit": "not-hex"}) == {}
    infinite = {"x": {"value": "Infinity", "timestamp": 1, "step": 0}}
    assert final_metrics(a_run(metrics=infinite)) == {}
    unnamed = dataset_of({"name": "d", "digest": "", "source": "not json", "tags": {}})
    assert unnamed == {"uri": "mlflow-dataset:d"}
