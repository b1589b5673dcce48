"""Roles as a set per principal and namespace, played through the CLI against a live server with
a token per person: granting a role adds it, revoking one takes only that one away, and a
token's scopes (a set too) only narrow what its owner holds."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cairn.api.app import create_app
from cairn.services.container import Services
from tests.conftest import LiveServer, bearer, start_live_server
from tests.functional import run_cli

API = "/api/v1"

# One approval opens the way to staging; the author may not approve their own version.
POLICY = {
    "states": {
        "staging": {"rules": [], "approvals": 1, "separation_of_duties": True},
    },
}


class People:
    """An admin (the server's first-start token) and users made through the CLI."""

    def __init__(self, server: LiveServer, tmp: Path) -> None:
        self.server = server
        self.tmp = tmp
        self.tokens = {"admin": server.token}

    def add(self, name: str, *roles: str) -> None:
        self.cli("admin", "user", "add", name, *[a for r in roles for a in ("--role", r)])
        self.tokens[name] = self.json("admin", "token", "create", "t", "--for", name)["secret"]

    def cli(self, who: str, *args: str, code: int = 0) -> Any:
        result = run_cli(self.server.url, *args, token=self.tokens[who])
        assert result.returncode == code, (who, args, result.stdout, result.stderr)
        return result

    def json(self, who: str, *args: str, code: int = 0) -> Any:
        return json.loads(self.cli(who, "--json", *args, code=code).stdout)

    def push(self, who: str, name: str, code: int = 0) -> Any:
        folder = self.tmp / f"{who}-{name}"
        folder.mkdir()
        (folder / "weights.bin").write_bytes(f"{who}/{name}".encode())
        return self.cli(who, "--json", "push", "default/fraud", str(folder), code=code)


@pytest.fixture
def people(tmp_path: Path) -> Iterator[People]:
    server = start_live_server(tmp_path)
    yield People(server, tmp_path)
    server.stop()


def test_granting_approver_to_a_writer_keeps_the_writer_role(people: People) -> None:
    policy = people.tmp / "policy.json"
    policy.write_text(json.dumps(POLICY))
    people.cli("admin", "policy", "set", "default", str(policy))
    people.add("ann", "default=writer")
    people.add("wes", "default=writer")
    people.push("ann", "v1")
    request = people.json("ann", "promote", "default/fraud:1", "staging", code=9)["request"]["id"]

    granted = people.cli("admin", "role", "grant", "wes", "default", "approver")
    assert "default=approver, default=writer" in granted.stdout, granted.stdout
    me = people.json("wes", "whoami")
    assert me["roles"] == {"default": ["approver", "writer"]}
    assert "approver, writer in default" in people.cli("wes", "whoami").stdout
    # Still a writer: wes pushes; now an approver too: wes approves ann's version.
    assert json.loads(people.push("wes", "v2").stdout)["number"] == 2
    done = people.json("wes", "approve", str(request))
    assert done["request"]["status"] == "completed", done
    assert people.json("ann", "show", "default/fraud:1")["state"] == "staging"

    # Revoking one role leaves the other.
    people.cli("admin", "role", "revoke", "wes", "default", "writer")
    assert people.json("wes", "whoami")["roles"] == {"default": ["approver"]}
    refused = people.push("wes", "v3", code=5)
    assert "permission_denied" in refused.stdout
    # Revoking a role not held says so and changes nothing.
    missing = people.cli("admin", "role", "revoke", "wes", "default", "deployer", code=2)
    assert "does not hold deployer" in missing.stderr
    users = {u["name"]: u["roles"] for u in people.json("admin", "user", "list")}
    assert users["wes"] == {"default": ["approver"]}
    assert "default=approver" in people.cli("admin", "user", "list").stdout

    log = people.json("admin", "audit", "log", "--actor", "admin")
    changes = [
        (e["action"], e["payload"]["role"])
        for e in log
        if e["action"].startswith("role.") and e["subject"] == "principal/wes"
    ]
    assert changes == [
        ("role.grant", "writer"),
        ("role.grant", "approver"),
        ("role.revoke", "writer"),
    ]


def test_a_user_added_with_two_roles_in_one_namespace_holds_both(people: People) -> None:
    people.add("kim", "default=writer", "default=deployer", "default=approver")
    assert people.json("kim", "whoami")["roles"] == {"default": ["approver", "deployer", "writer"]}
    people.cli("admin", "role", "revoke", "kim", "default", "--all")
    assert people.json("kim", "whoami")["roles"] == {}


def test_a_token_scope_is_a_set_that_only_narrows(people: People) -> None:
    people.add("wes", "default=writer", "default=approver")
    both = people.json(
        "wes", "token", "create", "both", "--scope", "default=writer", "--scope", "default=approver"
    )
    assert both["token"]["scopes"] == {"default": ["approver", "writer"]}
    people.tokens["wes-both"] = both["secret"]
    me = people.json("wes-both", "whoami")
    assert me["scopes"] == {"default": ["approver", "writer"]}
    assert json.loads(people.push("wes-both", "v1").stdout)["number"] == 1

    approve_only = people.json(
        "wes", "token", "create", "approve-only", "--scope", "default=approver", "--days", "2"
    )
    people.tokens["wes-approve"] = approve_only["secret"]
    assert "permission_denied" in people.push("wes-approve", "v2", code=5).stdout

    # A scope asking for what no role of wes gives (deploy) is refused, alone or in a set.
    for scopes in (["default=deployer"], ["default=writer", "default=deployer"]):
        args = [a for s in scopes for a in ("--scope", s)]
        wide = people.cli("wes", "token", "create", "wide", *args, code=5)
        assert "cannot widen" in wide.stderr, wide.stderr

    # A scoped token cannot mint a wider one: a new token without scopes takes its maker's, and
    # one asking for more than its maker's scopes is refused.
    minted = people.json("wes-approve", "token", "create", "minted")
    assert minted["token"]["scopes"] == {"default": ["approver"]}
    # ...nor one that outlives it: the default lifetime is cut to its maker's, more is refused.
    assert minted["token"]["expires_at"] <= approve_only["token"]["expires_at"]
    longer = people.cli("wes-approve", "token", "create", "long", "--days", "30", code=2)
    assert "cannot outlive" in longer.stderr, longer.stderr
    people.tokens["wes-minted"] = minted["secret"]
    assert "permission_denied" in people.push("wes-minted", "v3", code=5).stdout
    for args in (["--scope", "default=writer"], ["--scope", "*=reader"]):
        wide = people.cli("wes-approve", "token", "create", "wide", *args, code=5)
        assert "cannot widen" in wide.stderr, wide.stderr


def test_role_sets_over_the_api_on_both_databases(services: Services, admin_token: str) -> None:
    """The routes behind ``role grant|revoke`` and ``PUT …/roles/{ns}``, on SQLite and
    PostgreSQL: adding keeps what was held, removing takes one, setting makes exactly a set,
    and a bad role changes nothing."""
    base = f"{API}/principals/pat/roles/default"
    with TestClient(create_app(services), headers=bearer(admin_token)) as client:
        client.post(f"{API}/principals", json={"name": "pat"}).raise_for_status()
        for role in ("writer", "approver", "approver"):  # the second approver is a no-op
            added = client.put(f"{base}/{role}")
            assert added.status_code == 200, added.text
        assert added.json()["roles"] == {"default": ["approver", "writer"]}
        token = client.post(f"{API}/tokens", json={"name": "t", "principal": "pat"})
        me = client.get(f"{API}/whoami", headers=bearer(token.json()["secret"])).json()
        assert me["roles"] == {"default": ["approver", "writer"]}

        for bad in (client.put(f"{base}/owner"), client.delete(f"{base}/deployer")):
            assert bad.status_code == 400, bad.text
        exact = client.put(base, json={"roles": ["deployer", "reader"]})
        assert exact.json()["roles"] == {"default": ["deployer", "reader"]}
        removed = client.delete(f"{base}/reader")
        assert removed.json()["roles"] == {"default": ["deployer"]}
        assert client.delete(base).json()["roles"] == {}

        entries = client.get(f"{API}/audit/entries", params={"subject": "principal/pat"})
        changes = [
            (e["action"], e["payload"]["role"])
            for e in entries.json()["items"]
            if e["action"].startswith("role.")
        ]
    assert changes == [
        ("role.grant", "writer"),
        ("role.grant", "approver"),
        ("role.revoke", "approver"),
        ("role.revoke", "writer"),
        ("role.grant", "deployer"),
        ("role.grant", "reader"),
        ("role.revoke", "reader"),
        ("role.revoke", "deployer"),
    ]


def test_the_last_admin_stays_grants_need_a_namespace_and_nobody_passes_for_cairn(
    people: People,
) -> None:
    """An admin who revokes her own admin role (or disables herself, or sets her roles to none)
    would leave a registry nobody can administer; a grant in a misspelt namespace would wait
    for whoever creates that name later."""
    people.add("alice", "default=writer")
    for attempt in (
        ("role", "revoke", "admin", "*", "admin"),
        ("user", "disable", "admin"),
    ):
        refused = people.cli("admin", *attempt, code=4)
        assert "last_admin" in refused.stderr, refused.stderr
    assert people.json("admin", "whoami")["roles"] == {"*": ["admin"]}

    missing = people.cli("admin", "role", "grant", "alice", "defualt", "writer", code=3)
    assert "namespace_not_found" in missing.stderr, missing.stderr
    people.cli("admin", "namespace", "create", "defualt")
    assert people.json("alice", "whoami")["roles"] == {"default": ["writer"]}

    # Nobody may be made to pass for Cairn itself in the audit log and in created_by.
    for name in ("cairn", "Cairn", "local_admin", "anonymous"):
        refused = people.cli("admin", "service-account", "add", name, code=2)
        assert "acts under itself" in refused.stderr, refused.stderr

    # With a second global admin, the first may step down.
    people.add("ops", "*=admin")
    people.cli("admin", "role", "revoke", "admin", "*", "admin")
    refused = people.cli("ops", "user", "disable", "ops", code=4)
    assert "last_admin" in refused.stderr, refused.stderr


def test_last_admin_missing_namespace_and_reserved_names_on_both_databases(
    services: Services, admin_token: str
) -> None:
    with TestClient(create_app(services), headers=bearer(admin_token)) as client:
        for refused in (
            client.delete(f"{API}/principals/admin/roles/*/admin"),
            client.put(f"{API}/principals/admin/roles/*", json={"roles": ["reader"]}),
            client.delete(f"{API}/principals/admin/roles/*"),
            client.patch(f"{API}/principals/admin", json={"disabled": True}),
        ):
            assert refused.status_code == 409, refused.text
            assert refused.json()["error"]["code"] == "last_admin"
        client.post(f"{API}/principals", json={"name": "pat"}).raise_for_status()
        for name in ("cairn", "local-admin", "Anonymous"):
            made = client.post(f"{API}/principals", json={"name": name, "kind": "service"})
            assert made.status_code == 400, made.text
        for refused in (
            client.put(f"{API}/principals/pat/roles/nowhere/reader"),
            client.put(f"{API}/principals/pat/roles/nowhere", json={"roles": ["reader"]}),
        ):
            assert refused.status_code == 404, refused.text
        me = client.get(f"{API}/whoami").json()
        pat = client.get(f"{API}/principals", params={"kind": "user"}).json()["items"]
    assert me["roles"] == {"*": ["admin"]}
    assert [p["roles"] for p in pat if p["name"] == "pat"] == [{}]
