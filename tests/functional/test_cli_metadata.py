"""``cairn push`` states what the SDK can (a schema file, parents with their relation, datasets
with their role, an environment file) and never records the CLI's own packages; ``cairn show``
prints provenance, schema, derived facts and validations without ``--json``."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import LiveServer
from tests.functional import run_cli

DIGEST = "sha256:" + "ab" * 32


def test_push_takes_schema_parents_dataset_roles_and_env_file(
    live_server: LiveServer, tmp_path: Path
) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "weights.onnx").write_bytes(b"onnx weights")
    base = run_cli(live_server.url, "push", "base", str(model), "--no-provenance")
    assert base.returncode == 0, base.stderr
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps({"inputs": [{"name": "x", "type": "float32", "shape": [-1, 8]}]}))
    env = tmp_path / "requirements.txt"
    env.write_text("onnxruntime==1.20.1\nnumpy>=2\n")

    pushed = run_cli(
        live_server.url,
        "--json",
        "push",
        "fraud",
        str(model),
        "--schema",
        str(schema),
        "--parent",
        "base:1=fine_tuned_from",
        "--dataset",
        f"train=s3://data/train.csv@{DIGEST}",
        "--dataset",
        "s3://data/eval.csv",
        "--env-file",
        str(env),
    )
    assert pushed.returncode == 0, pushed.stderr
    version = json.loads(pushed.stdout)
    assert version["schema"]["inputs"] == [{"name": "x", "type": "float32", "shape": [-1, 8]}]
    provenance = version["provenance"]
    assert provenance["parents"] == [{"ref": "base:1", "relation": "fine_tuned_from"}]
    assert provenance["datasets"] == [
        {"uri": "s3://data/train.csv", "digest": DIGEST, "role": "train"},
        {"uri": "s3://data/eval.csv"},
    ]
    # The model's environment as the file states it, not the CLI's virtualenv.
    assert provenance["environment"] == {"packages": {"onnxruntime": "1.20.1", "numpy": ">=2"}}
    assert version["tags"]["model.format"] == "onnx"

    shown = run_cli(live_server.url, "show", "fraud:1")
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    assert "parent    base:1 (fine_tuned_from)" in out
    assert f"dataset   s3://data/train.csv [train]  {DIGEST}" in out
    assert "env       python ?; onnxruntime==1.20.1, numpy>=2" in out
    assert "inputs    x: float32[-1, 8]" in out
    assert "checks    completeness=" in out and "integrity=passed" in out
    assert "card      none" in out


def test_a_version_has_its_own_card(live_server: LiveServer, tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "weights.bin").write_bytes(b"weights")
    (model / "README.md").write_text("# Fraud v1\n\nFirst cut.\n")
    card = tmp_path / "card.md"
    card.write_text("\n## Fraud v2\n\nRetrained.\n")
    assert run_cli(live_server.url, "push", "carded", str(model)).returncode == 0
    pushed = run_cli(live_server.url, "push", "carded", str(model), "--card", str(card))
    assert pushed.returncode == 0, pushed.stderr

    first = run_cli(live_server.url, "show", "carded:1").stdout
    assert "card      Fraud v1  (README.md, 3 lines)" in first
    second = run_cli(live_server.url, "show", "carded:2").stdout
    assert "card      Fraud v2  (MODEL_CARD.md, 4 lines)" in second  # the card wins the README
    pulled = run_cli(live_server.url, "pull", "carded:2", str(tmp_path / "out"))
    assert pulled.returncode == 0, pulled.stderr
    assert (tmp_path / "out" / "MODEL_CARD.md").read_text() == card.read_text()


def test_push_without_env_file_records_no_environment_of_its_own(
    live_server: LiveServer, tmp_path: Path
) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "weights.bin").write_bytes(b"weights")
    pushed = run_cli(live_server.url, "--json", "push", "plain", str(model))
    assert pushed.returncode == 0, pushed.stderr
    assert "environment" not in json.loads(pushed.stdout)["provenance"]


def test_an_env_file_that_states_nothing_is_refused_before_anything_is_sent(
    live_server: LiveServer, tmp_path: Path
) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "weights.bin").write_bytes(b"weights")
    empty = tmp_path / "requirements.txt"
    empty.write_text("# nothing\n")
    pushed = run_cli(live_server.url, "push", "nothing", str(model), "--env-file", str(empty))
    assert pushed.returncode != 0
    assert "states no Python version or packages" in pushed.stderr
    listed = run_cli(live_server.url, "ls", "default/nothing")
    assert listed.returncode != 0  # no model was made
