"""Retention never surprises: without an opt-in nothing is deleted; with one, a round first
plans (in the audit log and the event stream) and only a round after the grace period deletes,
and never a version that an alias, a deployment or a lineage child names. Played by a team with
separate tokens against a live server whose background rounds run at each start, on SQLite and
PostgreSQL; and in process, with a clock moved forward."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cairn.api.app import create_app
from cairn.client import Client
from cairn.services.container import Services
from cairn.services.uow import Database
from tests.conftest import bearer, start_live_server
from tests.functional import wait_for
from tests.functional.test_governance import Team
from tests.functional.test_webhooks import Receiver

API = "/api/v1"


@pytest.fixture
def team(tmp_path: Path, database_url: str) -> Iterator[Team]:
    server = start_live_server(tmp_path, database_url, CAIRN_WEBHOOK_ALLOW="127.0.0.1/32")
    people = Team(server, tmp_path)
    yield people
    server.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.close()


def _set_policy(team: Team, retention: dict[str, Any]) -> None:
    path = team.tmp / "policy.json"
    path.write_text(json.dumps({"retention": retention}))
    team.cli("admin", "policy", "set", "default", str(path))


def _entries(team: Team, prefix: str = "retention.") -> list[tuple[str, str]]:
    found = team.api("GET", "/audit/entries", params={"limit": 1000})["items"]
    return [(e["action"], e["subject"]) for e in found if e["action"].startswith(prefix)]


def _numbers(team: Team) -> list[int]:
    return sorted(v["number"] for v in team.api("GET", "/models/default/base/versions")["items"])


def _restart(team: Team, **env: str) -> None:
    """A restart: each server process runs a housekeeping round (retention too) as it starts."""
    team.server.stop()
    team.server.env.update(env)
    team.server.start()


def test_retention_plans_first_then_deletes_only_what_is_still_eligible(
    team: Team, receiver: Receiver
) -> None:
    team.cli("admin", "namespace", "create", "nlp")
    team.cli("admin", "role", "grant", "alice", "nlp", "writer")
    team.cli("admin", "webhook", "add", "default", receiver.url, "--event", "retention.*")
    with Client(team.server.url, team.tokens["alice"], progress=False) as alice:
        for n in range(1, 9):
            folder = team.tmp / f"base-{n}"
            folder.mkdir()
            (folder / "weights.bin").write_bytes(f"version {n}\n".encode() * 100)
            alice.push("default/base", folder, capture_provenance=False)
        child = team.tmp / "child"
        child.mkdir()
        (child / "weights.bin").write_bytes(b"fine-tuned\n" * 100)
        parent = {"parents": [{"ref": "default/base:2", "relation": "fine_tuned_from"}]}
        alice.push("nlp/child", child, provenance=parent, capture_provenance=False)
    team.cli("sre", "alias", "set", "default/base", "champion", "3")
    team.cli("sre", "deploy", "record", "default/base:1", "--target", "edge", "--outcome", "failed")

    # keep_last without the opt-in: the round at start archives, and deletes nothing.
    _set_policy(team, {"keep_last": 5})
    _restart(team)
    wait_for(lambda: len(_entries(team)) == 2, "the round at start")
    assert sorted(_entries(team)) == [
        ("retention.archive", "default/base:1"),
        ("retention.archive", "default/base:2"),
    ]  # v3 carries an alias
    assert _numbers(team) == list(range(1, 9))

    # Opted in (keep the newest 3): the round at start only plans; nothing goes.
    _set_policy(team, {"keep_last": 3, "delete": True})
    _restart(team)
    planned = [
        ("retention.plan", "default/base:4"),
        ("retention.plan", "default/base:5"),
    ]
    wait_for(lambda: sorted(_entries(team, "retention.plan")) == planned, "the plan")
    assert _numbers(team) == list(range(1, 9))

    def delivered() -> set[tuple[str, str]]:
        bodies = [json.loads(r["body"]) for r in receiver.accepted()]
        return {(e["type"], e["data"]["subject"]) for e in bodies}

    wait_for(lambda: set(planned) <= delivered(), "the plan's events")
    # A round by hand within the grace period (24 hours by default) does nothing more.
    assert team.cli("admin", "retention", "apply", "default").stdout.strip() == "nothing to do"

    # Before the next round v5 gets an alias; after the grace, only v4 is deleted.
    team.cli("sre", "alias", "set", "default/base", "candidate", "5")
    time.sleep(1.5)
    _restart(team, CAIRN_RETENTION_GRACE_HOURS="0.0004")  # 1.44 s
    wait_for(lambda: ("retention.delete", "default/base:4") in _entries(team), "the deletion")
    assert _numbers(team) == [1, 2, 3, 5, 6, 7, 8]
    wait_for(lambda: ("retention.unplan", "default/base:5") in _entries(team), "the unplan")
    assert sorted(_entries(team, "retention.delete")) == [("retention.delete", "default/base:4")]
    assert sorted(_entries(team, "retention.plan")) == planned  # nothing deleted unplanned
    kept = team.json("admin", "show", "nlp/child:1")
    assert kept["provenance"]["parents"][0]["ref"] == "default/base:2"
    wait_for(lambda: ("retention.delete", "default/base:4") in delivered(), "its event")


def _register(client: TestClient, model: str, count: int, parent: str | None = None) -> None:
    data = model.encode()
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    client.put(f"{API}/namespaces/default/blobs/{digest}", content=data).raise_for_status()
    body: dict[str, Any] = {
        "manifest": {"files": [{"path": "w", "digest": digest, "size": len(data)}]}
    }
    if parent:
        body["provenance"] = {"parents": [{"ref": parent}]}
    for _ in range(count):
        client.post(f"{API}/models/default/{model}/versions", json=body).raise_for_status()


def _later(services: Services, delta: timedelta) -> Services:
    moment = services.db.clock() + delta
    return Services(
        services.settings,
        Database(services.db.engine, lambda: moment),
        services.blob_store,
        services.audit.keys,
    )


def test_retention_archives_and_deletes_only_after_a_planned_round_and_the_grace(
    services: Services, admin_token: str
) -> None:
    with TestClient(create_app(services), headers=bearer(admin_token)) as client:
        _register(client, "m", 7)
        _register(client, "tuned", 1, parent="default/m:2")
        client.put(f"{API}/models/default/m/aliases/champ", json={"version": 1})
        client.post(
            f"{API}/models/default/m/versions/5/deployments",
            json={"target": "lab", "outcome": "started"},
        ).raise_for_status()
        policy = {"retention": {"keep_last": 2, "archive_after_days": 30, "delete": True}}
        client.put(f"{API}/namespaces/default/policy", json=policy).raise_for_status()

        dry = client.post(f"{API}/namespaces/default/retention", json={"dry_run": True}).json()
        # v1 has an alias, v5 runs, v2 has a lineage child: archived, never deleted.
        assert sorted((a["action"], a["ref"]) for a in dry["actions"]) == [
            ("archive", "default/m:2"),
            ("plan", "default/m:3"),
            ("plan", "default/m:4"),
        ]
        done = client.post(f"{API}/namespaces/default/retention", json={}).json()
        # The same steps; a plan's reason names its own time ("to be deleted from …"), which
        # moves on between the two calls.
        steps = [(a["action"], a["ref"]) for a in dry["actions"]]
        assert [(a["action"], a["ref"]) for a in done["actions"]] == steps
        again = client.post(f"{API}/namespaces/default/retention", json={}).json()
        assert again["actions"] == []  # planned, within the grace: nothing more
        assert client.get(f"{API}/models/default/m/versions/3").status_code == 200

    a_day_later = _later(services, timedelta(hours=25))
    with TestClient(create_app(a_day_later), headers=bearer(admin_token)) as client:
        done = client.post(f"{API}/namespaces/default/retention", json={}).json()
        assert sorted((a["action"], a["ref"]) for a in done["actions"]) == [
            ("delete", "default/m:3"),
            ("delete", "default/m:4"),
        ]
        left = client.get(f"{API}/models/default/m/versions").json()["items"]
        assert [v["number"] for v in left] == [7, 6, 5, 2, 1]

    a_month_later = _later(services, timedelta(days=31))
    with TestClient(create_app(a_month_later), headers=bearer(admin_token)) as client:
        done = client.post(f"{API}/namespaces/default/retention", json={}).json()
        assert sorted((a["action"], a["ref"]) for a in done["actions"]) == [
            ("archive", "default/m:6"),
            ("archive", "default/m:7"),
            ("archive", "default/tuned:1"),
        ]
        actions = [
            e["action"]
            for e in client.get(f"{API}/audit/entries", params={"limit": 1000}).json()["items"]
        ]
        assert actions.count("retention.plan") == 2 and actions.count("retention.delete") == 2
        assert actions.count("retention.archive") == 4


@pytest.mark.parametrize(
    "retention",
    [
        {"delete": True},  # delete what? keep_last says
        {"keep_last": 3, "delete": "yes"},
        {"keep_last": 3, "delete": True, "grace_hours": -1},
        {"keep_last": 3, "grace_hours": "1h"},
        {"keep_last": 3, "forever": True},
        {"archive_after_days": 1_000_000},  # before year 1: no date to compare with
    ],
)
def test_a_bad_retention_section_is_refused(
    services: Services, admin_token: str, retention: dict[str, Any]
) -> None:
    with TestClient(create_app(services), headers=bearer(admin_token)) as client:
        before = client.get(f"{API}/namespaces/default/policy").json()
        response = client.put(f"{API}/namespaces/default/policy", json={"retention": retention})
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] == "invalid_input"
        assert client.get(f"{API}/namespaces/default/policy").json() == before
