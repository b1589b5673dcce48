"""The ``cairn`` command line as a user runs it: a subprocess talking to a real server, with
JSON for scripts and exit codes that mean something."""

from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from cairn.client import Client
from tests.conftest import LiveServer, free_port
from tests.functional import MiB, run_cli, tree_digests, write_random

TRAIN_DIGEST = "sha256:" + "ab" * 32
Result = subprocess.CompletedProcess[str]


def _json(result: Result) -> Any:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _side_by_side(
    url: str, *commands: tuple[str, ...], cache_dir: Path | None = None
) -> list[Result]:
    """Run independent commands at the same time (each one is a new Python process)."""
    with ThreadPoolExecutor(max_workers=len(commands)) as pool:
        return list(
            pool.map(lambda argv: run_cli(url, *argv, cache_dir=cache_dir, process=True), commands)
        )


def test_push_show_list_search_tag_alias_and_pull(live_server: LiveServer, tmp_path: Path) -> None:
    url = live_server.url
    source = tmp_path / "source"
    write_random(source / "weights.bin", 2 * MiB)
    (source / "conf" / "config.json").parent.mkdir()
    (source / "conf" / "config.json").write_text('{"layers": 4}\n')
    expected = tree_digests(source)

    pushed = run_cli(
        url, "push", "fraud", str(source),
        "--metric", "auc=0.93", "--metric", "loss=0.25",
        "--param", "lr=0.01", "--param", "optimizer=adam",
        "--tag", "team=risk",
        "--dataset", f"s3://data/train.csv@{TRAIN_DIGEST}", "--dataset", "s3://data/holdout.csv",
        "--description", "first try",
        cache_dir=tmp_path / "cache", process=True,
    )  # fmt: skip
    assert pushed.returncode == 0, pushed.stderr
    assert pushed.stdout.startswith("default/fraud:1 ")
    # A second, weaker version, so that a search has something to leave out.
    with Client(url, progress=False, cache_dir=tmp_path / "cache") as cairn:
        cairn.push("fraud", source / "conf", metrics={"auc": 0.71}, capture_provenance=False)

    shown, models, versions, found = _side_by_side(
        url,
        ("--json", "show", "fraud:1"),
        ("ls",),
        ("--json", "ls", "default/fraud"),
        ("--json", "search", "name = 'fraud' AND metrics.auc >= 0.9"),
    )
    version = _json(shown)
    assert version["ref"] == "default/fraud:1"
    assert version["description"] == "first try"
    assert version["metrics"] == {"auc": 0.93, "loss": 0.25}
    assert version["params"] == {"lr": "0.01", "optimizer": "adam"}
    assert version["tags"] == {"team": "risk"}
    assert version["provenance"]["datasets"] == [
        {"uri": "s3://data/train.csv", "digest": TRAIN_DIGEST},
        {"uri": "s3://data/holdout.csv"},
    ]
    assert {f["path"]: f["digest"] for f in version["files"]} == {
        path: "sha256:" + digest for path, digest in expected.items()
    }
    assert models.returncode == 0 and "default/fraud" in models.stdout
    assert [v["number"] for v in _json(versions)] == [2, 1]
    assert [v["ref"] for v in _json(found)] == ["default/fraud:1"]

    tagged, aliased = _side_by_side(
        url, ("tag", "fraud:1", "stage=candidate"), ("alias", "set", "fraud", "champion", "1")
    )
    assert tagged.returncode == 0, tagged.stderr
    assert aliased.returncode == 0, aliased.stderr
    dest = tmp_path / "dest"
    shown, pulled = _side_by_side(
        url,
        ("--json", "show", "fraud@champion"),
        ("pull", "fraud@champion", str(dest)),
        cache_dir=tmp_path / "pull-cache",
    )
    version = _json(shown)
    assert (version["number"], version["tags"]) == (1, {"team": "risk", "stage": "candidate"})
    assert pulled.returncode == 0, pulled.stderr
    assert tree_digests(dest) == expected

    untagged, unaliased = _side_by_side(
        url, ("tag", "--rm", "fraud:1", "team"), ("alias", "rm", "fraud", "champion")
    )
    assert untagged.returncode == 0, untagged.stderr
    assert unaliased.returncode == 0, unaliased.stderr
    shown, gone = _side_by_side(url, ("--json", "show", "fraud:1"), ("show", "fraud@champion"))
    assert _json(shown)["tags"] == {"stage": "candidate"}
    assert gone.returncode == 3
    assert "alias_not_found" in gone.stderr


def test_exit_codes_name_the_failure(live_server: LiveServer) -> None:
    missing, bad = _side_by_side(live_server.url, ("show", "nope:1"), ("show", "a/b/c:1"))
    assert missing.returncode == 3
    assert "model_not_found" in missing.stderr
    assert bad.returncode == 2
    assert "invalid_reference" in bad.stderr

    unreachable = run_cli(f"http://127.0.0.1:{free_port()}", "ls", process=True)
    assert unreachable.returncode == 7
    assert "ConnectError" in unreachable.stderr
