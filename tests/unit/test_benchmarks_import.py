"""The benchmarks are not run by the suite (they measure; see benchmarks/README.md), but they
must keep working as the code under them moves: each one imports against today's Cairn."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
MODULES = sorted(
    p.stem for p in BENCHMARKS.glob("*.py") if p.stem not in {"__init__", "run", "mlflow_venv"}
)


@pytest.mark.parametrize("name", MODULES)
def test_the_benchmark_imports(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # run.py puts benchmarks/ on the path for the scripts' imports of each other.
    monkeypatch.setattr(sys, "path", [str(BENCHMARKS), *sys.path])
    module = importlib.import_module(f"benchmarks.{name}")
    assert module.__file__ is not None and Path(module.__file__).parent == BENCHMARKS


def test_every_benchmark_is_checked() -> None:
    assert {"cairn_adapter", "pages_models", "pages_versions"} <= set(MODULES)
