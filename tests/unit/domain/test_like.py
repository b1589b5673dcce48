"""LIKE as MLflow's filters use it, matched without backtracking: the same answers as the
plain regular expression on every small case, and a pattern written to make a regular
expression backtrack for years answers at once (run and registry searches both use it)."""

from __future__ import annotations

import itertools
import re
import time

from cairn.domain.like import like
from cairn.domain.mlflow_filters import matches, parse_mlflow_filter
from cairn.domain.run_filters import RUN_FIELDS, parse_filter
from cairn.domain.run_filters import matches as run_matches

SOURCE = frozenset({"source_path"})


def reference(pattern: str, text: str, fold: bool) -> bool:
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    flags = re.DOTALL | (re.IGNORECASE if fold else 0)
    return re.fullmatch(regex, text, flags) is not None


def test_like_answers_as_the_regular_expression_does() -> None:
    texts = ["", *("".join(t) for n in range(1, 5) for t in itertools.product("aB.", repeat=n))]
    patterns = [
        "",
        *("".join(p) for n in range(1, 5) for p in itertools.product("a%_b.", repeat=n)),
    ]
    for pattern in patterns:
        for fold in (False, True):
            check = like(pattern, fold)
            for text in texts:
                assert check(text) == reference(pattern, text, fold), (pattern, text, fold)


def test_a_pattern_made_to_backtrack_answers_at_once() -> None:
    hostile = "%a" * 40 + "%b"
    value = "a" * 20_000
    start = time.monotonic()
    assert not like(hostile)(value)
    assert not like(hostile, fold=True)(value)
    run_filter = parse_filter(f"params.p LIKE '{hostile}'", RUN_FIELDS)
    assert not run_matches(run_filter, None, lambda _record, _kind, _key: value)
    registry_filter = parse_mlflow_filter(f"source_path LIKE '{hostile}'", SOURCE)
    assert not matches(registry_filter, {"source_path": value})
    assert time.monotonic() - start < 5  # a regular expression takes longer than a lifetime
