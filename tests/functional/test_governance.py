"""The governed lifecycle end to end, through the CLI, as an ML team and an SRE use it; and
concurrent promotions and alias moves ending consistent on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import pickle
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.conftest import LiveServer, bearer, start_live_server
from tests.functional import run_cli

T = TypeVar("T")
API = "/api/v1"
POLICY = {
    "states": {
        "staging": {"rules": [], "approvals": 0},
        "production": {
            "rules": [{"name": "good enough", "expr": "metrics.auc >= 0.9"}],
            "approvals": 2,
            "separation_of_duties": True,
            "require_signature": True,
            "require_clean_scan": True,
            "required_validations": ["bias"],
        },
        "archived": {"rules": [], "approvals": 0},
    },
    "protected_aliases": {"production": "production"},
}


class _Exploit:
    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (os.system, ("echo pwned",))


class Team:
    """The people of the scenario, each with a token and the CLI."""

    def __init__(self, server: LiveServer, tmp_path: Path) -> None:
        self.server = server
        self.tmp = tmp_path
        self.tokens: dict[str, str] = {"admin": server.token}
        for name, role in [
            ("alice", "writer"),
            ("ci", "writer"),  # posts CI's validations: the author may not post required ones
            ("carol", "approver"),
            ("dave", "approver"),
            ("sre", "deployer"),
            ("lead", "admin"),
        ]:
            self.cli("admin", "user", "add", name, "--role", f"default={role}")
            made = self.cli("admin", "--json", "token", "create", "t", "--for", name)
            self.tokens[name] = json.loads(made.stdout)["secret"]

    def cli(self, who: str, *args: str, code: int = 0) -> Any:
        result = run_cli(self.server.url, *args, token=self.tokens[who])
        assert result.returncode == code, (args, result.stdout, result.stderr)
        return result

    def json(self, who: str, *args: str, code: int = 0) -> Any:
        return json.loads(self.cli(who, "--json", *args, code=code).stdout)

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        response = httpx.request(
            method, f"{self.server.url}{API}{path}", headers=self.server.headers, **kwargs
        )
        assert response.is_success, response.text
        return response.json()


@pytest.fixture
def team(tmp_path: Path) -> Iterator[Team]:
    server = start_live_server(tmp_path)
    yield Team(server, tmp_path)
    server.stop()


def _keys(tmp: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    private, public = tmp / "release.pem", tmp / "release.pub"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


def _model(folder: Path, weights: bytes, evil: bool = False) -> Path:
    folder.mkdir(parents=True)
    (folder / "weights.bin").write_bytes(weights)
    (folder / "config.json").write_text('{"layers": 2}\n')
    if evil:
        (folder / "helper.pkl").write_bytes(pickle.dumps(_Exploit(), protocol=2))
    return folder


def _state(team: Team, number: int) -> str:
    path = f"/models/default/fraud/versions/{number}"
    state: str = team.api("GET", path, params={"files": "false"})["state"]
    return state


def _open_requests(team: Team) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = team.api("GET", "/namespaces/default/approvals")["items"]
    return found


def test_a_team_promotes_canaries_and_rolls_back(team: Team) -> None:
    private, public = _keys(team.tmp)
    team.cli("admin", "keys", "add", "default", "release", str(public))
    policy_file = team.tmp / "policy.json"
    policy_file.write_text(json.dumps(POLICY))
    team.cli("admin", "policy", "set", "default", str(policy_file))

    def push(
        name: str, auc: float, *, sign: bool = True, evil: bool = False, who: str = "alice"
    ) -> int:
        folder = _model(team.tmp / name, f"weights of {name}\n".encode() * 128, evil)
        extra = ["--sign", str(private)] if sign else []
        args = ["push", "default/fraud", str(folder), "--metric", f"auc={auc}", *extra]
        return int(team.json(who, *args, "--no-provenance")["number"])

    # v1: good, signed, validated by CI; two approvers promote it; the SRE points @production.
    v1 = push("v1", 0.95)
    team.cli("ci", "validate", f"default/fraud:{v1}", "bias", "passed", "--metric", "dp=0.02")
    opened = team.json(
        "alice", "promote", f"default/fraud:{v1}", "production", "--reason", "v1", code=9
    )
    request = opened["request"]["id"]
    assert opened["applied"] is False and opened["decision"]["outcome"] == "needs_approval"
    refused = team.cli("alice", "approve", str(request), code=5)  # a writer does not approve
    assert "permission_denied" in refused.stderr
    assert team.json("carol", "approve", str(request), "--comment", "fine")["promotion"] is None
    done = team.json("dave", "approve", str(request), "--comment", "ship it")
    assert done["request"]["status"] == "completed"
    assert _state(team, v1) == "production"
    team.cli("sre", "alias", "set", "default/fraud", "production", str(v1))

    # Five ways to fail, each denied with its reason, each changing nothing.
    low = push("low", 0.85)
    unsigned = push("unsigned", 0.96, sign=False)
    unvalidated = push("unvalidated", 0.96)
    flagged = push("flagged", 0.96, evil=True)
    for number in (low, unsigned, flagged):
        team.cli("ci", "validate", f"default/fraud:{number}", "bias", "passed")
    expected = {
        low: "rule good enough: metrics.auc >= 0.9 is false",
        unsigned: "signature: the signature is unsigned",
        unvalidated: "validation bias: bias has no result",
        flagged: "scan: the scan is flagged",
    }
    for number, reason in expected.items():
        before = len(team.api("GET", "/audit/entries", params={"limit": 1000})["items"])
        denied = team.cli("alice", "promote", f"default/fraud:{number}", "production", code=8)
        assert "policy_violation" in denied.stderr and reason in denied.stderr, denied.stderr
        assert _state(team, number) == "registered"
        entries = team.api("GET", "/audit/entries", params={"limit": 1000})["items"]
        assert [e["action"] for e in entries[before:]] == ["version.promote.denied"]
        checks = entries[-1]["payload"]["decision"]["checks"]
        assert any(
            not c["passed"] and f"{c['check']}: {c['reason']}".startswith(reason) for c in checks
        )
    assert _open_requests(team) == []

    # The fixed version, pushed and put forward by the team lead (a namespace admin, who may
    # approve): approving it themselves is refused; two others approve it.
    fixed = push("fixed", 0.97, who="lead")
    team.cli("ci", "validate", f"default/fraud:{fixed}", "bias", "passed")
    promoted = team.json("lead", "promote", f"default/fraud:{fixed}", "production", code=9)
    request = promoted["request"]["id"]
    assert "separation of duties" in team.cli("lead", "approve", str(request), code=5).stderr
    team.cli("carol", "approve", str(request))
    team.cli("dave", "approve", str(request))
    assert _state(team, fixed) == "production" and _state(team, v1) == "production"

    # A 10% canary beside v1, then a failure, then a rollback in one command.
    team.cli(
        "sre",
        "deploy",
        "record",
        f"default/fraud:{v1}",
        "--target",
        "prod",
        "--weight",
        "90",
        "--outcome",
        "succeeded",
        "--load-time-ms",
        "850",
    )
    team.cli(
        "sre",
        "deploy",
        "record",
        f"default/fraud:{fixed}",
        "--target",
        "prod",
        "--strategy",
        "canary",
        "--weight",
        "10",
        "--outcome",
        "started",
    )
    team.cli("sre", "alias", "set", "default/fraud", "production", str(fixed))
    running = team.json("sre", "deployments", "--target", "prod")
    assert [(d["ref"], d["strategy"], d["weight"]) for d in running] == [
        (f"default/fraud:{fixed}", "canary", 10.0),
        (f"default/fraud:{v1}", "full", 90.0),
    ]
    team.cli(
        "sre",
        "deploy",
        "record",
        f"default/fraud:{fixed}",
        "--target",
        "prod",
        "--strategy",
        "canary",
        "--weight",
        "10",
        "--outcome",
        "failed",
    )
    moved_at = datetime.now().astimezone()
    back = team.json("sre", "rollback", "default/fraud@production")
    assert back["version"]["number"] == v1
    rolled = back["deployment"]
    assert rolled["outcome"] == "rolled_back" and rolled["target"] == "prod"
    assert rolled["time_to_rollback_ms"] is not None and rolled["time_to_rollback_ms"] >= 0

    # What @production named before and after, with times.
    history = team.json("sre", "alias", "history", "default/fraud", "production")
    assert [(e["action"], e["version"], e["previous"]) for e in history] == [
        ("set", v1, None),
        ("move", fixed, v1),
        ("rollback", v1, fixed),
    ]
    assert _state(team, fixed) == "archived"  # the version rolled away from left production
    before = team.api(
        "GET", "/models/default/fraud/aliases/production", params={"at": history[1]["at"]}
    )
    after = team.api("GET", "/models/default/fraud/aliases/production")
    assert (before["number"], after["number"]) == (fixed, v1)
    assert datetime.fromisoformat(history[2]["at"]) >= moved_at.replace(microsecond=0)

    # Every decision, approval, deployment and rollback is in the audit log with its reasons.
    actions = [
        e["action"] for e in team.json("admin", "audit", "log", "default/fraud", "--limit", "1000")
    ]
    for action in [
        "approval.request",
        "approval.approve",
        "version.promote",
        "version.promote.denied",
        "deployment.record",
        "deployment.rollback",
        "alias.set",
    ]:
        assert action in actions, action
    assert team.cli("admin", "audit", "verify", "--state", str(team.tmp / "trust.json"))


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[LiveServer]:
    live = start_live_server(tmp_path, database_url)
    yield live
    live.stop()


def _at_once(count: int, work: Callable[[int], T]) -> list[T]:
    start = threading.Barrier(count)

    def one(i: int) -> T:
        start.wait(timeout=30)
        return work(i)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))


def _register(server: LiveServer, count: int) -> None:
    digest = "sha256:" + hashlib.sha256(b"w").hexdigest()
    headers = server.headers
    httpx.put(
        f"{server.url}{API}/namespaces/default/blobs/{digest}", content=b"w", headers=headers
    ).raise_for_status()
    body = {"manifest": {"files": [{"path": "w", "digest": digest, "size": 1}]}}
    for _ in range(count):
        httpx.post(
            f"{server.url}{API}/models/default/m/versions", json=body, headers=headers
        ).raise_for_status()


def test_concurrent_promotions_of_one_version_apply_once(server: LiveServer) -> None:
    _register(server, 1)
    url = f"{server.url}{API}/models/default/m/versions/1/promote"

    def promote(_: int) -> httpx.Response:
        return httpx.post(url, json={"target": "staging"}, headers=server.headers, timeout=30)

    responses = _at_once(8, promote)
    applied = [r for r in responses if r.status_code == 200 and r.json()["applied"]]
    assert len(applied) == 1, [r.text for r in responses]
    assert all(r.status_code == 409 for r in responses if r not in applied)
    promotions = [
        e
        for e in httpx.get(
            f"{server.url}{API}/audit/entries", params={"limit": 1000}, headers=server.headers
        ).json()["items"]
        if e["action"] == "version.promote"
    ]
    assert len(promotions) == 1


def test_concurrent_alias_moves_and_rollbacks_form_one_chain(server: LiveServer) -> None:
    _register(server, 3)
    base = f"{server.url}{API}/models/default/m"
    for number in (1, 2, 3):
        for target in ("staging", "production"):
            response = httpx.post(
                f"{base}/versions/{number}/promote",
                json={"target": target},
                headers=server.headers,
            )
            if response.status_code == 200 and response.json()["request"]:
                request = response.json()["request"]["id"]
                _approve_as_someone_else(server, request)
    httpx.put(f"{base}/aliases/production", json={"version": 1}, headers=server.headers)

    def move(i: int) -> httpx.Response:
        if i % 3 == 0:
            return httpx.post(
                f"{base}/aliases/production/rollback", json={}, headers=server.headers, timeout=30
            )
        return httpx.put(
            f"{base}/aliases/production",
            json={"version": 1 + i % 3},
            headers=server.headers,
            timeout=30,
        )

    responses = _at_once(9, move)
    assert all(r.status_code in (200, 400, 409) for r in responses), [r.text for r in responses]
    history = httpx.get(
        f"{base}/alias-history", params={"alias": "production"}, headers=server.headers
    ).json()["items"]
    for earlier, later in itertools.pairwise(history):
        assert later["previous"] == earlier["version"]  # each move starts where the last ended
    now = httpx.get(f"{base}/aliases/production", headers=server.headers).json()
    assert now["number"] == history[-1]["version"]


def _approve_as_someone_else(server: LiveServer, request_id: int) -> None:
    headers = server.headers
    httpx.post(f"{server.url}{API}/principals", json={"name": "ann"}, headers=headers)
    httpx.put(
        f"{server.url}{API}/principals/ann/roles/default",
        json={"role": "approver"},
        headers=headers,
    )
    secret = httpx.post(
        f"{server.url}{API}/tokens", json={"name": "t", "principal": "ann"}, headers=headers
    ).json()["secret"]
    done = httpx.post(
        f"{server.url}{API}/approvals/{request_id}/approve", json={}, headers=bearer(secret)
    )
    assert done.status_code == 200, done.text
