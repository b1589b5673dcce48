"""schemathesis against a real server: requests generated from the OpenAPI document — valid,
invalid and hostile — for every documented operation, with an admin token, and no answer may
be a 5xx. The run is bounded (examples per operation and seconds) to fit CI; the seed is fixed,
so a failure reproduces with the command the report prints.

Path and query parameters are drawn, part of the time, from names the server holds (a
namespace, a model with versions and an alias), so that the operations also get past "not
found" into the code behind it; the rest of the time they are generated freely.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from cairn.client import Client
from tests.conftest import LiveServer, start_live_server

EXAMPLES_PER_OPERATION = 12
TIME_BUDGET_SECONDS = 240
SEED = 20261207

CONFIG = """
[dictionaries.namespaces]
values = ["default", "risk"]

[dictionaries.models]
values = ["fraud"]

[dictionaries.selectors]
values = ["1", "2", "latest", "@champion"]

[dictionaries.aliases]
values = ["champion"]

[dictionaries.versions]
values = ["1", "2"]

[parameters]
"path.namespace" = { dictionary = "namespaces", probability = 0.6 }
"path.model" = { dictionary = "models", probability = 0.6 }
"path.selector" = { dictionary = "selectors", probability = 0.6 }
"path.alias" = { dictionary = "aliases", probability = 0.5 }
"query.namespace" = { dictionary = "namespaces", probability = 0.5 }
"query.name" = { dictionary = "models", probability = 0.5 }
"query.version" = { dictionary = "versions", probability = 0.5 }
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    live = start_live_server(tmp_path)
    yield live
    live.stop()


def _seed(server: LiveServer, tmp_path: Path) -> None:
    """A namespace, a model in it and in the MLflow namespace, two versions each, an alias."""
    with Client(
        server.url, token=server.token, cache_dir=tmp_path / "cache", progress=False
    ) as cairn:
        cairn.create_namespace("risk")
        for number in (1, 2):
            folder = tmp_path / f"model-{number}"
            folder.mkdir()
            (folder / "weights.bin").write_bytes(b"weights %d" % number)
            for model in ("risk/fraud", "default/fraud"):
                cairn.push(model, folder, description=f"v{number}", capture_provenance=False)
        for model in ("risk/fraud", "default/fraud"):
            cairn.set_alias(model, "champion", 1)


def _responses(report: Path) -> tuple[dict[str, list[int]], list[str]]:
    """Each operation's statuses, and every request that answered a 5xx."""
    statuses: dict[str, list[int]] = defaultdict(list)
    failures: list[str] = []
    for line in report.read_text().splitlines():
        event = json.loads(line)
        finished = event.get("ScenarioFinished")
        if finished is None:
            continue
        label = finished["recorder"]["label"]
        for interaction in (finished["recorder"].get("interactions") or {}).values():
            status = (interaction.get("response") or {}).get("status_code")
            if status is None:
                continue
            statuses[label].append(status)
            if status >= 500:
                request = interaction["request"]
                failures.append(f"{status} {request['method']} {request['uri'][:300]}")
    return statuses, failures


def test_no_generated_request_gets_a_server_error(server: LiveServer, tmp_path: Path) -> None:
    _seed(server, tmp_path)
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    reports = tmp_path / "reports"
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "st"),
            "--config-file",
            str(config),
            "run",
            f"{server.url}/api/v1/openapi.json",
            "--url",
            server.url,
            "--header",
            f"Authorization: Bearer {server.token}",
            "--checks",
            "not_a_server_error",
            "--phases",
            "coverage,fuzzing",
            "--max-examples",
            str(EXAMPLES_PER_OPERATION),
            "--max-time",
            str(TIME_BUDGET_SECONDS),
            "--seed",
            str(SEED),
            "--workers",
            "1",
            "--no-color",
            "--generation-database",
            "none",
            "--report",
            "ndjson",
            "--report-dir",
            str(reports),
        ],
        cwd=tmp_path,  # schemathesis keeps a folder of its own in the working directory
        capture_output=True,
        text=True,
        timeout=TIME_BUDGET_SECONDS + 300,
        check=False,
    )
    statuses, failures = _responses(next(reports.glob("*.ndjson")))
    assert failures == [], "\n".join(failures[:30])
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    # The run reached every documented operation, and past the front door of most: a fuzz
    # that only ever met 401s or 404s would prove nothing.
    answered = {label for label, found in statuses.items() if any(200 <= s < 300 for s in found)}
    print(f"operations: {len(statuses)}, with a 2xx: {len(answered)}")
    assert len(statuses) >= 100
    assert len(answered) >= len(statuses) // 4, sorted(set(statuses) - answered)
