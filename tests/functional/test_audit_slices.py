"""Audit slices: whoever may read a namespace reads what happened in it, and proves it.

An auditor who reads every namespace, a namespace's own admin and a plain reader each read
their namespaces' entries through the CLI, and prove them in the signed log, with their own
tokens, against a real server on SQLite and on PostgreSQL. What is above namespaces
(principals, tokens, roles) stays with global admins, and no one reads a namespace's slice
without reading the namespace.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from cairn.cli.output import plain
from cairn.client import Client
from tests.conftest import LiveServer
from tests.functional import run_cli
from tests.functional.oci_support import ensure_namespace, serve, token_for

API = "/api/v1"
ABOVE_NAMESPACES = ("principal.", "token.", "role.", "namespace.create", "webhook.")


@dataclass
class Office:
    server: LiveServer
    folder: Path
    tokens: dict[str, str]

    def cli(self, who: str, *args: str) -> Any:
        cache = self.folder / f"cache-{who}"
        return run_cli(self.server.url, *args, token=self.tokens[who], cache_dir=cache)

    def slice(self, who: str, namespace: str) -> list[dict[str, Any]]:
        done = self.cli(who, "--json", "audit", "log", "--namespace", namespace, "--limit", "1000")
        assert done.returncode == 0, done.stderr
        entries: list[dict[str, Any]] = json.loads(done.stdout)
        return entries

    def push(self, who: str, model: str) -> None:
        folder = self.folder / uuid.uuid4().hex[:8]
        folder.mkdir()
        (folder / "weights.bin").write_bytes(uuid.uuid4().hex.encode() * 32)
        cache = self.folder / f"sdk-{who}"
        with Client(self.server.url, self.tokens[who], progress=False, cache_dir=cache) as sdk:
            version = sdk.push(model, folder, capture_provenance=False)
            sdk.tag(version.ref, "checked", "yes")


def _auditor(server: LiveServer) -> str:
    """A principal who reads every namespace (``*``), and a token of it."""
    with httpx.Client(base_url=server.url + API, headers=server.headers, timeout=30) as admin:
        admin.post("/principals", json={"name": "auditor"}).raise_for_status()
        admin.put("/principals/auditor/roles/%2A/reader").raise_for_status()
        made = admin.post("/tokens", json={"name": "t", "principal": "auditor"})
        made.raise_for_status()
        secret: str = made.json()["secret"]
        return secret


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def office(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Office]:
    folder = tmp_path_factory.mktemp(f"slices-{request.param}")
    with serve(folder, request.param) as server:
        for namespace in ("alpha", "beta"):
            ensure_namespace(server, namespace)
        tokens = {
            "writer_a": token_for(server, "writer-a", {"alpha": "writer"}),
            "writer_b": token_for(server, "writer-b", {"beta": "writer"}),
            "reader_a": token_for(server, "reader-a", {"alpha": "reader"}),
            "admin_a": token_for(server, "admin-a", {"alpha": "admin"}),
            "auditor": _auditor(server),
        }
        office = Office(server, folder, tokens)
        office.push("writer_a", "alpha/fraud")
        office.push("writer_b", "beta/churn")
        yield office


def test_an_auditor_reads_and_proves_every_namespace_they_may_read(office: Office) -> None:
    for namespace, model in (("alpha", "alpha/fraud"), ("beta", "beta/churn")):
        entries = office.slice("auditor", namespace)
        actions = {(e["action"], e["subject"]) for e in entries}
        assert ("version.register", f"{model}:1") in actions
        assert ("version.tag", f"{model}:1") in actions
        assert all(e["subject"].startswith(namespace) for e in entries), entries
        assert not [e for e in entries if e["action"].startswith(ABOVE_NAMESPACES)]
        proved = office.cli("auditor", "--json", "audit", "verify", "--namespace", namespace)
        assert proved.returncode == 0, proved.stdout + proved.stderr
        report = json.loads(proved.stdout)
        assert report["ok"] and report["entries"] == len(entries) and report["problems"] == []
    # Reading every namespace is not the whole log: that stays with global admins.
    assert office.cli("auditor", "audit", "log").returncode == 5


def test_a_namespace_admin_reads_their_namespace_and_no_other(office: Office) -> None:
    entries = office.slice("admin_a", "alpha")
    assert ("version.register", "alpha/fraud:1") in {(e["action"], e["subject"]) for e in entries}
    proved = office.cli("admin_a", "audit", "verify", "--namespace", "alpha")
    assert proved.returncode == 0, proved.stderr
    assert proved.stdout.startswith(f"ok: {len(entries)} entries of alpha are in the log")
    for who in ("admin_a", "reader_a"):
        refused = office.cli(who, "audit", "log", "--namespace", "beta")
        assert refused.returncode == 5, refused.stderr  # permission denied
        assert office.cli(who, "audit", "verify", "--namespace", "beta").returncode == 5
    with httpx.Client(base_url=office.server.url + API) as http:
        for bad in ("a\x00b", "x\x00"):
            refused = http.get(
                "/namespaces/alpha/audit/entries",
                params={"subject": bad},
                headers={"Authorization": f"Bearer {office.tokens['reader_a']}"},
            )
            assert refused.status_code == 400, refused.text
    with Client(office.server.url, office.tokens["reader_a"], progress=False) as reader:
        assert plain(reader.audit_entries(namespace="alpha")) == entries[:100]
        assert reader.verify_audit_slice("alpha").ok


def test_an_entry_edited_in_the_database_fails_the_slices_proof(office: Office) -> None:
    # A namespace of its own: the other scenarios prove alpha's and beta's slices.
    office.tokens["writer_g"] = token_for(office.server, "writer-g", {"gamma": "writer"})
    office.push("writer_g", "gamma/edited")
    entries = office.slice("auditor", "gamma")
    target = next(e for e in entries if e["subject"] == "gamma/edited:1")
    url = office.server.env.get("CAIRN_DATABASE_URL") or (
        f"sqlite:///{office.server.data_dir / 'cairn.db'}"
    )
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE audit_log SET actor = 'someone-else' WHERE leaf_index = :i"),
                {"i": target["index"]},
            )
    finally:
        engine.dispose()
    proved = office.cli("auditor", "audit", "verify", "--namespace", "gamma")
    assert proved.returncode == 6, proved.stdout
    assert f"entry {target['index']} ({target['action']} gamma/edited:1)" in proved.stderr
