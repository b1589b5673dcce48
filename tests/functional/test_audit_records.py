"""``cairn audit verify --records``: the log covers the records themselves. A team works
through the API and the check passes; then someone with access to the database (and not to
the server's checkpoint key) edits rows directly, and the check names each record and the
field group that was changed, on SQLite and on PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import create_engine, text

from cairn.client import Client
from tests.conftest import LiveServer, start_live_server
from tests.functional import run_cli, wait_for

INTEGRITY_FAILURE = 6


class Registry:
    """A live server, the team's tokens, and the attacker's direct line to its database."""

    def __init__(self, server: LiveServer, database_url: str, tmp: Path) -> None:
        self.server = server
        self.database_url = database_url
        self.tmp = tmp
        self.state = tmp / "trust.json"
        self.tokens = {"admin": server.token}
        self.cli("admin", "user", "add", "alice", "--role", "default=writer")
        made = self.cli("admin", "--json", "token", "create", "t", "--for", "alice")
        self.tokens["alice"] = json.loads(made.stdout)["secret"]

    def cli(self, who: str, *args: str, code: int = 0) -> Any:
        result = run_cli(self.server.url, *args, token=self.tokens[who])
        assert result.returncode == code, (args, result.stdout, result.stderr)
        return result

    def push(self, ref: str, content: bytes, *args: str) -> int:
        folder = self.tmp / f"model-{hashlib.sha256(content).hexdigest()[:16]}"
        folder.mkdir()
        (folder / "weights.bin").write_bytes(content)
        pushed = self.cli("alice", "--json", "push", ref, str(folder), "--no-provenance", *args)
        return int(json.loads(pushed.stdout)["number"])

    def verify(self, code: int = 0) -> dict[str, Any]:
        result = self.cli(
            "admin", "--json", "audit", "verify", "--records", "--state", str(self.state), code=code
        )
        report: dict[str, Any] = json.loads(result.stdout)
        return report

    def forged(self, code: int = INTEGRITY_FAILURE) -> dict[str, tuple[str, tuple[str, ...]]]:
        """Each record the check fails on: (problem, groups)."""
        report = self.verify(code=code)
        assert report["problems"] == []  # the log itself is intact: the rows were edited
        return {
            f["record"]: (f["problem"], tuple(f["groups"]))
            for f in report["records"]["findings"]
            if f["forged"]
        }

    def last_entry_about(self, subject: str) -> int:
        entries = json.loads(self.cli("admin", "--json", "audit", "log", subject).stdout)
        return max(e["index"] for e in entries if e["subject"] == subject)

    def sql(self, statement: str, **params: Any) -> None:
        """What an attacker with the database's password runs, bypassing Cairn."""
        engine = create_engine(self.database_url)
        try:
            with engine.begin() as conn:
                conn.execute(text(statement), params)
        finally:
            engine.dispose()

    def json_param(self, name: str) -> str:
        postgres = self.database_url.startswith("postgresql")
        return f"CAST(:{name} AS jsonb)" if postgres else f":{name}"


@pytest.fixture
def registry(tmp_path: Path, database_url: str) -> Iterator[Registry]:
    server = start_live_server(tmp_path, database_url)
    try:
        yield Registry(server, database_url, tmp_path)
    finally:
        server.stop()


def _work_through_the_api(registry: Registry) -> None:
    """Register, tag, describe, promote and alias: every change through Cairn."""
    registry.push("default/fraud", b"v1", "--metric", "auc=0.91", "--tag", "team=risk")
    registry.push("default/fraud", b"v2", "--metric", "auc=0.93")
    registry.cli("alice", "tag", "default/fraud:1", "stage=canary")
    registry.cli("alice", "tag", "default/fraud:1", "--rm", "team")
    registry.cli("alice", "tag", "default/fraud", "owner=risk-team")
    with Client(registry.server.url, registry.tokens["alice"], progress=False) as alice:
        alice.update_version("default/fraud:2", "gradient boosting, 2026 data")
    registry.cli("admin", "promote", "default/fraud:2", "staging")
    registry.cli("admin", "alias", "set", "default/fraud", "champion", "2")
    registry.cli("admin", "alias", "set", "default/fraud", "champion", "1")
    registry.cli("admin", "alias", "set", "default/fraud", "challenger", "2")
    _govern_another_model(registry)


def _govern_another_model(registry: Registry) -> None:
    """Promotions, a failed deployment, a rollback, a validation, a deletion, a rename."""
    for content in (b"c1", b"c2", b"c3"):
        registry.push("default/churn", content)
    for number in ("1", "2"):
        registry.cli("alice", "promote", f"default/churn:{number}", "staging")
        registry.cli("alice", "promote", f"default/churn:{number}", "production")
        registry.cli("admin", "alias", "set", "default/churn", "production", number)
    registry.cli(
        "admin", "deploy", "record", "default/churn:2", "--target", "prod", "--outcome", "failed"
    )
    registry.cli("admin", "rollback", "default/churn@production")
    registry.cli("admin", "validate", "default/churn:1", "fairness", "passed")
    with Client(registry.server.url, registry.server.token, progress=False) as admin:
        admin.delete_version("default/churn:3")
        admin.update_model("default/churn", description="who leaves", owner="growth")
    renamed = httpx.post(
        f"{registry.server.url}/api/2.0/mlflow/registered-models/rename",
        json={"name": "churn", "new_name": "attrition"},
        headers=registry.server.headers,
    )
    assert renamed.status_code == 200, renamed.text


def _version_row(registry: Registry, number: int) -> str:
    return (
        "SELECT v.id FROM versions v JOIN models m ON m.id = v.model_id "
        f"WHERE m.name = 'fraud' AND v.number = {number}"
    )


def test_metrics_and_author_edited_in_the_database_are_found_and_named(
    registry: Registry,
) -> None:
    _work_through_the_api(registry)
    clean = registry.verify()
    assert clean["ok"] and clean["records"]["checked"] >= 9  # ns, 2 models, aliases, versions
    served = {f["record"] for f in clean["records"]["findings"]}
    assert served == set()  # nothing uncovered either: every record was made after the upgrade
    assert clean["records"]["not_compared"] == []
    assert [f for f in clean["records"]["findings"] if f["forged"]] == []

    registry.sql(
        f"UPDATE versions SET metrics = {registry.json_param('m')}, author = 'mallory' "
        f"WHERE id = ({_version_row(registry, 1)})",
        m=json.dumps({"auc": 0.99}),
    )
    shown = json.loads(registry.cli("alice", "--json", "show", "default/fraud:1").stdout)
    assert (shown["metrics"], shown["author"]) == ({"auc": 0.99}, "mallory")  # served as true

    report = registry.verify(code=INTEGRITY_FAILURE)
    assert report["ok"] is False and report["problems"] == []
    [finding] = [f for f in report["records"]["findings"] if f["forged"]]
    assert finding["record"] == "version default/fraud:1"
    assert (finding["problem"], finding["groups"]) == ("changed", ["evaluation", "origin"])
    assert finding["entry"] == registry.last_entry_about("default/fraud:1")
    said = registry.cli(
        "admin", "audit", "verify", "--records", "--state", str(registry.state), code=6
    )
    assert (
        f"FAILED: version default/fraud:1: evaluation, origin differ from what entry "
        f"{finding['entry']} ({finding['action']}) recorded"
    ) in said.stderr


def test_rows_inserted_deleted_or_retagged_directly_are_reported(registry: Registry) -> None:
    _work_through_the_api(registry)
    assert registry.verify()["ok"]
    registry.sql(
        "INSERT INTO version_tags (version_id, key, value) "
        f"VALUES (({_version_row(registry, 2)}), 'approved', 'yes')"
    )
    registry.sql(
        "INSERT INTO versions (model_id, number, manifest_digest, size, file_count, state, "
        "description, author, provenance, io_schema, metrics, params, completeness, "
        "missing_fields, created_at, updated_at) "
        "SELECT model_id, 9, manifest_digest, size, file_count, 'production', description, "
        "author, provenance, io_schema, metrics, params, completeness, missing_fields, "
        f"created_at, updated_at FROM versions WHERE id = ({_version_row(registry, 1)})"
    )
    registry.sql(
        "UPDATE aliases SET version_id = (" + _version_row(registry, 9) + ") "
        "WHERE name = 'challenger'"
    )
    registry.sql("DELETE FROM model_tags WHERE key = 'owner'")
    assert registry.forged() == {
        "version default/fraud:2": ("changed", ("description",)),
        "version default/fraud:9": ("unlogged", ()),
        "alias default/fraud@challenger": ("changed", ("target",)),
        "model default/fraud": ("changed", ("tags",)),
    }


def test_a_record_deleted_directly_is_reported(registry: Registry) -> None:
    _work_through_the_api(registry)
    assert registry.verify()["ok"]
    registry.sql("DELETE FROM aliases WHERE name = 'champion'")
    assert registry.forged() == {"alias default/fraud@champion": ("deleted", ())}


def test_an_edit_is_not_laundered_by_a_later_change_through_the_api(registry: Registry) -> None:
    registry.push("default/fraud", b"v1", "--metric", "auc=0.91")
    registry.sql(
        f"UPDATE versions SET metrics = {registry.json_param('m')}, state = 'production' "
        f"WHERE id = ({_version_row(registry, 1)})",
        m=json.dumps({"auc": 0.99}),
    )
    # A colleague tags the version: that entry commits to the state it finds, forged metrics
    # and state included; but a tag changes neither, so the log still shows the edit.
    registry.cli("alice", "tag", "default/fraud:1", "reviewed=yes")
    assert registry.forged() == {
        "version default/fraud:1": ("rewritten", ("evaluation", "lifecycle"))
    }


def _public_key(tmp: Path) -> Path:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    path = tmp / "release.pub"
    path.write_bytes(
        key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return path


def test_roles_keys_and_tokens_added_in_the_database_are_found(registry: Registry) -> None:
    registry.cli("admin", "role", "grant", "alice", "default", "approver")
    registry.cli("admin", "role", "revoke", "alice", "default", "approver")
    registry.cli("admin", "keys", "add", "default", "release", str(_public_key(registry.tmp)))
    made = registry.cli("admin", "--json", "token", "create", "spare", "--for", "alice")
    spare = json.loads(made.stdout)["token"]["token_id"]
    registry.cli("admin", "token", "revoke", spare)
    assert registry.verify()["ok"]

    alice = "(SELECT id FROM principals WHERE name = 'alice')"
    registry.sql(
        f"INSERT INTO role_grants (principal_id, namespace, role) VALUES ({alice}, '*', 'admin')"
    )
    registry.sql(
        "INSERT INTO namespace_keys (namespace_id, name, public_key, fingerprint, added_by, "
        "created_at) SELECT namespace_id, 'backdoor', public_key, 'sha256:mallory', 'mallory', "
        "created_at FROM namespace_keys WHERE name = 'release'"
    )
    registry.sql(
        "INSERT INTO tokens (token_id, principal_id, name, secret_hash, scopes, created_by, "
        "created_at, expires_at) SELECT 'forged', principal_id, 'backdoor', secret_hash, scopes, "
        "created_by, created_at, expires_at FROM tokens WHERE token_id = :spare",
        spare=spare,
    )
    registry.sql("UPDATE tokens SET revoked_at = NULL WHERE token_id = :spare", spare=spare)
    assert registry.forged() == {
        "principal alice": ("changed", ("roles",)),
        "keys default": ("changed", ("trusted",)),
        "token forged": ("unlogged", ()),
        f"token {spare}": ("changed", ("revocation",)),
    }


STRICT = {
    "states": {
        "staging": {"rules": [], "approvals": 0},
        "production": {"rules": [{"name": "good", "expr": "metrics.auc >= 0.9"}], "approvals": 2},
        "archived": {"rules": [], "approvals": 0},
    }
}


def test_a_policy_relaxed_in_the_database_is_found(registry: Registry) -> None:
    registry.push("default/fraud", b"v1", "--metric", "auc=0.91")
    policy = registry.tmp / "policy.json"
    policy.write_text(json.dumps(STRICT))
    registry.cli("admin", "policy", "set", "default", str(policy))
    registry.cli("admin", "policy", "set", "default/fraud", str(policy))
    assert registry.verify()["ok"]

    relaxed = {"states": {"production": {"rules": [], "approvals": 0}}}
    registry.sql(
        f"UPDATE policies SET document = {registry.json_param('d')} WHERE model_id IS NULL",
        d=json.dumps(relaxed),
    )
    registry.sql("DELETE FROM policies WHERE model_id IS NOT NULL")
    assert registry.forged() == {
        "policy default": ("changed", ("rules",)),
        "policy default/fraud": ("deleted", ()),
    }


def test_a_validation_result_flipped_in_the_database_is_found(registry: Registry) -> None:
    registry.push("default/fraud", b"v1")
    registry.cli("admin", "validate", "default/fraud:1", "fairness", "failed")
    assert registry.verify()["ok"]
    registry.sql("UPDATE validations SET status = 'passed' WHERE name = 'fairness'")
    shown = json.loads(registry.cli("alice", "--json", "show", "default/fraud:1").stdout)
    assert shown["validations"]["fairness"] == "passed"  # what a policy would now read
    assert registry.forged() == {"validations default/fraud:1": ("changed", ("results",))}


def test_a_background_scan_is_covered_while_queued_and_once_done(
    tmp_path: Path, database_url: str
) -> None:
    server = start_live_server(tmp_path, database_url, CAIRN_SCAN_INLINE_BYTES="1024")
    try:
        registry = Registry(server, database_url, tmp_path)
        registry.push("default/fraud", b"weights\n" + os.urandom(4096))
        assert registry.verify()["ok"]  # queued (or claimed): no entry yet, and none needed

        def scan() -> Any:
            found = registry.cli("alice", "--json", "show", "default/fraud:1").stdout
            status = json.loads(found)["validations"]["scan"]
            return status if status not in ("pending", "running") else None

        assert wait_for(scan, "the background scan") == "clean"
        report = registry.verify()
        assert report["ok"] and report["records"]["findings"] == []
    finally:
        server.stop()


def test_a_file_of_a_version_swapped_in_the_database_is_found_and_never_pulled(
    registry: Registry,
) -> None:
    """The files a version lists are what a pull delivers: a row of version_files pointed at
    another blob of the namespace (same size) must neither pass the check nor reach a pull,
    although the version's own row, and so its manifest digest, is untouched."""
    registry.push("default/fraud", b"good weights")
    registry.push("default/fraud", b"evil weights")
    evil = "sha256:" + hashlib.sha256(b"evil weights").hexdigest()
    registry.sql(
        f"UPDATE version_files SET digest = :evil WHERE version_id = ({_version_row(registry, 1)})",
        evil=evil,
    )
    out = registry.tmp / "deployed"
    pulled = registry.cli("alice", "pull", "default/fraud:1", str(out), code=INTEGRITY_FAILURE)
    assert "manifest digest" in pulled.stderr
    assert not (out / "weights.bin").exists()
    assert registry.forged() == {"version default/fraud:1": ("changed", ("content",))}


def test_an_approval_added_in_the_database_is_found(registry: Registry) -> None:
    """Votes count towards a policy's approvals: one inserted behind Cairn's back (a second
    approver nobody asked) is named by the check, as a vote the log never recorded."""
    registry.push("default/fraud", b"v1", "--metric", "auc=0.91")
    policy = registry.tmp / "policy.json"
    policy.write_text(json.dumps(STRICT))
    registry.cli("admin", "policy", "set", "default", str(policy))
    registry.cli("admin", "promote", "default/fraud:1", "staging")
    asked = run_cli(
        registry.server.url,
        "promote",
        "default/fraud:1",
        "production",
        token=registry.tokens["alice"],
    )
    assert "approval" in asked.stdout + asked.stderr, asked
    [request] = json.loads(registry.cli("admin", "--json", "approvals", "default").stdout)
    registry.cli("admin", "approve", str(request["id"]), "--comment", "looks right")
    assert registry.verify()["ok"]

    registry.sql(
        "INSERT INTO approvals (request_id, approver, decision, comment, manifest_digest, "
        "target, created_at) SELECT id, 'bob', 'approve', '', manifest_digest, target, "
        "created_at FROM approval_requests WHERE id = :id",
        id=request["id"],
    )
    [listed] = json.loads(registry.cli("admin", "--json", "approvals", "default").stdout)
    assert {a["approver"] for a in listed["approvals"]} == {"admin", "bob"}  # served as cast
    assert registry.forged() == {"approvals default/fraud:1": ("changed", ("votes",))}
