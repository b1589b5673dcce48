"""Rollback as an SRE runs it, with separate tokens: it goes to the last version that was good
before the failure, the version rolled away from leaves production, and running it twice never
lands back on the failed version. The alias history shows the rollback, and ``alias at`` says
what the alias named at any time."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.conftest import start_live_server
from tests.functional.test_governance import Team

API = "/api/v1"


@pytest.fixture
def team(tmp_path: Path) -> Iterator[Team]:
    server = start_live_server(tmp_path)
    yield Team(server, tmp_path)
    server.stop()


def _register(team: Team, count: int) -> None:
    """``count`` plain versions of default/fraud, registered quickly through the API."""
    digest = "sha256:" + hashlib.sha256(b"w").hexdigest()
    base = f"{team.server.url}{API}"
    headers = team.server.headers
    httpx.put(
        f"{base}/namespaces/default/blobs/{digest}", content=b"w", headers=headers
    ).raise_for_status()
    body = {"manifest": {"files": [{"path": "w", "digest": digest, "size": 1}]}}
    for _ in range(count):
        httpx.post(
            f"{base}/models/default/fraud/versions", json=body, headers=headers
        ).raise_for_status()


def _push(team: Team, name: str) -> int:
    folder = team.tmp / name
    folder.mkdir()
    (folder / "weights.bin").write_bytes(f"weights of {name}\n".encode() * 64)
    done = team.json("alice", "push", "default/fraud", str(folder), "--no-provenance")
    return int(done["number"])


def _to_production(team: Team, number: int) -> None:
    team.cli("alice", "promote", f"default/fraud:{number}", "staging")
    team.cli("alice", "promote", f"default/fraud:{number}", "production")


def _state(team: Team, number: int) -> str:
    return str(team.json("alice", "show", f"default/fraud:{number}")["state"])


def _moment() -> datetime:
    time.sleep(0.02)  # alias moves are stamped to the microsecond: step clear of them
    now = datetime.now(UTC)
    time.sleep(0.02)
    return now


def test_rolling_back_twice_never_lands_on_the_failed_version(team: Team) -> None:
    _register(team, 11)
    v12, v13 = _push(team, "v12"), _push(team, "v13")
    assert (v12, v13) == (12, 13)
    _to_production(team, v12)
    team.cli("sre", "alias", "set", "default/fraud", "production", "12")
    _to_production(team, v13)
    team.cli("sre", "alias", "set", "default/fraud", "production", "13")
    on_13 = _moment()
    team.cli(
        "sre", "deploy", "record", "default/fraud:13", "--target", "prod", "--outcome", "failed"
    )

    back = team.json("sre", "rollback", "default/fraud@production")
    assert back["version"]["number"] == 12
    on_12 = _moment()
    # v13 left production in the same step: its state and the alias.
    assert _state(team, 13) == "archived"
    assert team.json("alice", "show", "default/fraud:13")["aliases"] == []
    assert team.json("alice", "show", "default/fraud@production")["number"] == 12

    # Again: nothing good is left before v12, so it is refused and nothing moves.
    again = team.cli("sre", "rollback", "default/fraud@production", code=8)
    assert "policy_violation" in again.stderr, again.stderr
    assert team.json("alice", "show", "default/fraud@production")["number"] == 12
    assert _state(team, 12) == "production" and _state(team, 13) == "archived"

    history = team.json("sre", "alias", "history", "default/fraud", "production")
    assert [(e["action"], e["previous"], e["version"], e["actor"]) for e in history] == [
        ("set", None, 12, "sre"),
        ("move", 12, 13, "sre"),
        ("rollback", 13, 12, "sre"),
    ]
    table = team.cli("sre", "alias", "history", "default/fraud", "production").stdout
    assert "rollback" in table

    # What @production named at a time: through the CLI, as a reader would ask it.
    at_13 = team.json("sre", "alias", "at", "default/fraud", "production", on_13.isoformat())
    at_12 = team.json("sre", "alias", "at", "default/fraud", "production", on_12.isoformat())
    assert (at_13["number"], at_12["number"]) == (13, 12)
    said = team.cli("sre", "alias", "at", "default/fraud", "production", on_13.isoformat())
    assert "default/fraud:13" in said.stdout
    team.cli("sre", "alias", "at", "default/fraud", "production", "2026-03-03T14:00:00", code=2)

    # The audit log says why v13 left production, and who did it.
    entries = team.json("admin", "audit", "log", "default/fraud", "--limit", "1000")
    retired = [
        e
        for e in entries
        if e["action"] == "version.promote" and e["subject"] == "default/fraud:13"
    ][-1]
    assert retired["actor"] == "sre"
    assert retired["payload"]["target"] == "archived"
    assert retired["payload"]["reason"].startswith("rolled back")


def test_rollback_skips_failed_versions_unless_asked_by_number(team: Team) -> None:
    for name in ("v1", "v2", "v3"):
        _to_production(team, _push(team, name))
    team.cli("sre", "alias", "set", "default/fraud", "production", "1")
    team.cli("sre", "alias", "set", "default/fraud", "production", "2")
    team.cli("sre", "deploy", "record", "default/fraud:2", "--target", "eu", "--outcome", "failed")
    team.cli("sre", "alias", "set", "default/fraud", "production", "3")
    team.cli("sre", "deploy", "record", "default/fraud:3", "--target", "eu", "--outcome", "failed")

    # v2 failed too: the last good version before the failure is v1.
    assert team.json("sre", "rollback", "default/fraud@production")["version"]["number"] == 1
    assert _state(team, 3) == "archived" and _state(team, 2) == "production"

    # By number, the SRE may go to v2 although it failed once; v1 then leaves production.
    done = team.json("sre", "rollback", "default/fraud@production", "--to", "2")
    assert done["version"]["number"] == 2 and done["deployment"]["outcome"] == "rolled_back"
    assert _state(team, 1) == "archived"
    # An archived version is not rolled back to, by number either; a reader may not roll back.
    refused = team.cli("sre", "rollback", "default/fraud@production", "--to", "3", code=8)
    assert "archived" in refused.stderr
    team.cli("admin", "user", "add", "rita", "--role", "default=reader")
    token = team.json("admin", "token", "create", "t", "--for", "rita")["secret"]
    team.tokens["rita"] = token
    team.cli("rita", "rollback", "default/fraud@production", code=5)
    assert team.json("rita", "show", "default/fraud@production")["number"] == 2
    history = team.json("rita", "alias", "history", "default/fraud", "production")
    assert [(e["action"], e["version"]) for e in history][-2:] == [("rollback", 1), ("rollback", 2)]
