"""The CLI shows a model and an alias as they were spelled, and finds them by any spelling."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import LiveServer
from tests.functional import run_cli


def test_the_cli_keeps_a_model_s_spelling_and_finds_it_by_any(
    live_server: LiveServer, tmp_path: Path
) -> None:
    source = tmp_path / "source"
    source.mkdir()
    (source / "weights.bin").write_bytes(b"spelled weights")
    cache = tmp_path / "cache"
    pushed = run_cli(live_server.url, "push", "Fraud_Model", str(source), cache_dir=cache)
    assert pushed.returncode == 0, pushed.stderr
    assert pushed.stdout.startswith("default/Fraud_Model:1 ")
    aliased = run_cli(
        live_server.url, "alias", "set", "fraud-model", "Champion", "1", cache_dir=cache
    )
    assert aliased.returncode == 0, aliased.stderr
    shown = run_cli(live_server.url, "show", "FRAUD_MODEL@champion", cache_dir=cache)
    assert shown.returncode == 0, shown.stderr
    assert "default/Fraud_Model:1" in shown.stdout and "@Champion" in shown.stdout
    listed = run_cli(live_server.url, "ls", cache_dir=cache)
    assert listed.returncode == 0, listed.stderr
    assert "Fraud_Model" in listed.stdout
