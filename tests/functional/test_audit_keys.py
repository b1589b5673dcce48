"""Rotating the audit checkpoint key: ``cairn audit rotate-key`` against live servers, with
separate tokens for the admin who rotates, a writer whose work is logged and an auditor who
verifies. Earlier checkpoints keep verifying with the keys that signed them, every process of a
registry signs with the new key, and a key nobody announced is refused."""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cairn.domain.audit import checkpoint_text
from cairn.domain.audit_keys import key_id_of
from tests.conftest import LiveServer, bearer, start_live_server
from tests.functional import run_cli

API = "/api/v1"


@dataclass
class People:
    server: LiveServer
    tokens: dict[str, str]

    def cli(self, who: str, *args: str, code: int = 0) -> Any:
        result = run_cli(self.server.url, "--json", *args, token=self.tokens[who])
        assert result.returncode == code, (args, result.stdout, result.stderr)
        return json.loads(result.stdout) if code == 0 and result.stdout else result

    def work(self, count: int, start: int = 0) -> None:
        """The writer registers models: entries for the log."""
        for i in range(start, start + count):
            created = httpx.post(
                f"{self.server.url}{API}/models/default",
                json={"name": f"model-{i}"},
                headers=bearer(self.tokens["alice"]),
            )
            assert created.status_code == 201, created.text

    def verify(self, state: Path, *extra: str) -> dict[str, Any]:
        result = run_cli(
            self.server.url,
            "--json",
            "audit",
            "verify",
            "--state",
            str(state),
            *extra,
            token=self.tokens["auditor"],
        )
        assert result.returncode in (0, 6), result.stderr
        report: dict[str, Any] = json.loads(result.stdout)
        assert report["ok"] == (result.returncode == 0)
        return report


def _people(server: LiveServer) -> People:
    people = People(server, {"admin": server.token})
    for name, role in (("alice", "writer"), ("auditor", "admin")):
        people.cli(
            "admin",
            "user",
            "add",
            name,
            "--role",
            f"*={role}" if name == "auditor" else f"default={role}",
        )
        people.tokens[name] = people.cli("admin", "token", "create", "t", "--for", name)["secret"]
    return people


@pytest.fixture
def people(tmp_path: Path) -> Iterator[People]:
    server = start_live_server(tmp_path)
    yield _people(server)
    server.stop()


def _public_pem(private_file: Path) -> str:
    key = serialization.load_pem_private_key(private_file.read_bytes(), password=None)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def test_two_rotations_keep_every_checkpoint_verifiable(people: People, tmp_path: Path) -> None:
    key_file = people.server.data_dir / "audit-key"
    first_key = tmp_path / "first-key.pub"
    first_key.write_text(_public_pem(key_file))
    state = tmp_path / "auditor-trust.json"
    people.work(2)
    before = people.verify(state)
    assert before["ok"] and before["keys"] == [key_id_of(first_key.read_text())]

    # Only a global admin rotates.
    people.cli("alice", "audit", "rotate-key", code=5)
    assert people.verify(state)["keys"] == before["keys"]

    rotations = []
    for round_ in range(2):
        rotations.append(people.cli("admin", "audit", "rotate-key"))
        people.work(2, start=10 * (round_ + 1))
        report = people.verify(state)
        assert report["ok"], report["problems"]
        assert report["trusted_before"] is not None  # it extends what the auditor trusted

    chain = [k["key_id"] for k in people.cli("auditor", "audit", "keys")]
    assert chain == [before["keys"][0], rotations[0]["key_id"], rotations[1]["key_id"]]
    assert rotations[1]["previous_key_id"] == rotations[0]["key_id"]
    # The key file now holds the newest key, the replaced private keys are gone from the disk.
    assert key_id_of(_public_pem(key_file)) == rotations[1]["key_id"]
    assert sorted(p.name for p in key_file.parent.glob("audit-key*")) == ["audit-key"]

    # Each key signed checkpoints; the old ones still verify, with the keys that signed them.
    checkpoints = httpx.get(
        f"{people.server.url}{API}/audit/checkpoints", headers=bearer(people.tokens["auditor"])
    ).json()["items"]
    assert {c["key_id"] for c in checkpoints} == set(chain)
    handovers = {r["index"] + 1: r["previous_key_id"] for r in rotations}
    assert all(c["key_id"] == handovers[c["size"]] for c in checkpoints if c["size"] in handovers)
    # A new auditor, trusting only the first key (given explicitly), verifies everything.
    fresh = people.verify(tmp_path / "new-auditor.json", "--key", str(first_key))
    assert fresh["ok"], fresh["problems"]
    assert fresh["keys"] == chain and fresh["checkpoints"] == len(checkpoints)
    # And one trusting a key that is not in the chain refuses the log.
    stranger = tmp_path / "stranger.pub"
    stranger.write_text(
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    refused = people.verify(tmp_path / "third.json", "--key", str(stranger))
    assert any("records no rotation from it" in p for p in refused["problems"]), refused
    assert not (tmp_path / "third.json").exists()  # nothing refused is remembered


def test_a_checkpoint_signed_by_an_unannounced_key_is_refused(
    people: People, tmp_path: Path
) -> None:
    state = tmp_path / "auditor-trust.json"
    people.work(2)
    trusted = people.verify(state)
    assert trusted["ok"]
    people.work(1, start=5)
    # Whoever can write the database signs the latest checkpoint with a key of their own.
    mallory = Ed25519PrivateKey.generate()
    public = (
        mallory.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    latest = httpx.get(
        f"{people.server.url}{API}/audit/checkpoint", headers=bearer(people.tokens["auditor"])
    ).json()
    signature = base64.b64encode(
        mallory.sign(checkpoint_text(latest["size"], latest["root"]))
    ).decode()
    with sqlite3.connect(people.server.data_dir / "cairn.db", isolation_level=None) as db:
        db.execute(
            "UPDATE audit_checkpoints SET key_id = ?, signature = ? WHERE size = ?",
            (key_id_of(public), signature, latest["size"]),
        )
    report = people.verify(state)
    assert not report["ok"]
    assert report["problems"] == [
        f"checkpoint {latest['size']} is signed by {key_id_of(public)}, a key no rotation from "
        f"a key you trust announced; the key in force at that size is {trusted['keys'][0]}"
    ]
    printed = run_cli(
        people.server.url, "audit", "verify", "--state", str(state), token=people.tokens["auditor"]
    )
    assert printed.returncode == 6
    assert f"FAILED: checkpoint {latest['size']} is signed by {key_id_of(public)}" in printed.stderr


def test_every_process_signs_with_the_new_key(tmp_path: Path, database_url: str) -> None:
    """Two server processes of one registry (one database, one data folder): a rotation through
    the first, and the second signs the next checkpoints with the new key."""
    first = start_live_server(tmp_path, database_url)
    second = start_live_server(tmp_path, database_url)
    try:
        people = _people(first)
        people.work(1)
        rotation = people.cli("admin", "audit", "rotate-key")
        other = People(second, people.tokens)
        other.work(2, start=1)
        latest = httpx.get(
            f"{second.url}{API}/audit/checkpoint", headers=bearer(people.tokens["auditor"])
        ).json()
        assert latest["key_id"] == rotation["key_id"] and latest["size"] > rotation["index"] + 1
        report = other.verify(tmp_path / "trust.json")
        assert report["ok"], report["problems"]
        assert report["keys"][-1] == rotation["key_id"]
    finally:
        first.stop()
        second.stop()
