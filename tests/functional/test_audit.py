"""The verifiable audit log through the API and ``cairn audit verify``: proofs that verify,
and every kind of tampering with the stored log detected and named."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cairn.domain.merkle import verify_consistency, verify_inclusion
from tests.conftest import LiveServer, bearer, start_live_server
from tests.functional import run_cli

API = "/api/v1"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    live = start_live_server(tmp_path)
    yield live
    live.stop()


def _mutate(server: LiveServer, count: int, start: int = 0) -> None:
    for i in range(start, start + count):
        response = httpx.post(
            f"{server.url}{API}/models/default",
            json={"name": f"model-{i}"},
            headers=server.headers,
            timeout=10,
        )
        assert response.status_code == 201, response.text


def _verify(server: LiveServer, state: Path) -> tuple[int, list[str]]:
    result = run_cli(server.url, "--json", "audit", "verify", "--state", str(state))
    assert result.returncode in (0, 6), result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] == (result.returncode == 0)
    return report["size"], report["problems"]


def _db(server: LiveServer) -> sqlite3.Connection:
    return sqlite3.connect(server.data_dir / "cairn.db", timeout=30, isolation_level=None)


def _get(server: LiveServer, path: str, **params: Any) -> Any:
    response = httpx.get(f"{server.url}{API}{path}", params=params, headers=server.headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_an_untouched_log_verifies_and_only_grows(server: LiveServer, tmp_path: Path) -> None:
    state = tmp_path / "trust.json"
    _mutate(server, 3)
    size, problems = _verify(server, state)
    assert problems == [] and size >= 7  # bootstrap entries + three models
    _mutate(server, 2, start=3)
    grown, problems = _verify(server, state)
    assert problems == [] and grown == size + 2
    assert json.loads(state.read_text())[server.url]["size"] == grown


def test_inclusion_and_consistency_proofs_verify_against_signed_checkpoints(
    server: LiveServer,
) -> None:
    _mutate(server, 4)
    first = _get(server, "/audit/checkpoint")
    _mutate(server, 5, start=4)
    second = _get(server, "/audit/checkpoint")
    assert second["size"] == first["size"] + 5
    for index in range(second["size"]):
        proof = _get(server, "/audit/proofs/inclusion", index=index, size=second["size"])
        assert verify_inclusion(
            bytes.fromhex(proof["leaf_hash"]),
            index,
            second["size"],
            [bytes.fromhex(h) for h in proof["proof"]],
            bytes.fromhex(second["root"]),
        )
    grow = _get(server, "/audit/proofs/consistency", old=first["size"], new=second["size"])
    assert verify_consistency(
        first["size"],
        second["size"],
        bytes.fromhex(first["root"]),
        bytes.fromhex(second["root"]),
        [bytes.fromhex(h) for h in grow["proof"]],
    )
    too_big = httpx.get(
        f"{server.url}{API}/audit/proofs/inclusion",
        params={"index": 0, "size": second["size"] + 1},
        headers=server.headers,
    )
    assert too_big.status_code == 400


def test_a_changed_payload_is_found(server: LiveServer, tmp_path: Path) -> None:
    _mutate(server, 3)
    assert _verify(server, tmp_path / "trust.json")[1] == []
    with _db(server) as db:
        db.execute(
            "UPDATE audit_log SET payload = ? WHERE subject = 'default/model-1'",
            (json.dumps({"description": "", "owner": "mallory"}),),
        )
    _, problems = _verify(server, tmp_path / "trust.json")
    assert any("model.create default/model-1" in p and "changed" in p for p in problems)


def test_a_deleted_entry_is_found(server: LiveServer, tmp_path: Path) -> None:
    _mutate(server, 3)
    assert _verify(server, tmp_path / "trust.json")[1] == []
    with _db(server) as db:
        db.execute("DELETE FROM audit_log WHERE subject = 'default/model-1'")
    _, problems = _verify(server, tmp_path / "trust.json")
    assert any("missing" in p for p in problems), problems


def test_two_swapped_entries_are_found(server: LiveServer, tmp_path: Path) -> None:
    _mutate(server, 3)
    assert _verify(server, tmp_path / "trust.json")[1] == []
    with _db(server) as db:
        rows = db.execute(
            "SELECT id, leaf_index FROM audit_log WHERE subject IN "
            "('default/model-0', 'default/model-2') ORDER BY id"
        ).fetchall()
        (a, index_a), (b, index_b) = rows
        db.execute("BEGIN")
        db.execute("UPDATE audit_log SET leaf_index = -1 WHERE id = ?", (a,))
        db.execute("UPDATE audit_log SET leaf_index = ? WHERE id = ?", (index_a, b))
        db.execute("UPDATE audit_log SET leaf_index = ? WHERE id = ?", (index_b, a))
        db.execute("COMMIT")
    _, problems = _verify(server, tmp_path / "trust.json")
    assert any("do not hash to the signed root" in p for p in problems), problems


def test_a_database_restored_to_an_earlier_copy_is_found(tmp_path: Path) -> None:
    live = start_live_server(tmp_path)
    state = tmp_path / "trust.json"
    try:
        _mutate(live, 2)
        backup = tmp_path / "backup.db"
        with _db(live) as db, sqlite3.connect(backup) as copy:
            db.backup(copy)  # a consistent copy, as an operator's backup would be
        _mutate(live, 3, start=2)
        trusted, problems = _verify(live, state)  # the client saw the later checkpoint
        assert problems == []
        live.stop()
        for suffix in ("", "-wal", "-shm"):
            (live.data_dir / f"cairn.db{suffix}").unlink(missing_ok=True)
        shutil.copy(backup, live.data_dir / "cairn.db")
        live.start()
        size, problems = _verify(live, state)
        assert size < trusted
        assert any("rolled back" in p for p in problems), problems
        # Writing new history over the restored copy until it is as long does not hide it.
        _mutate(live, trusted - size + 1, start=100)
        _, problems = _verify(live, state)
        assert any("no longer hash to the root you trusted" in p for p in problems), problems
    finally:
        live.stop()


def test_audit_log_reads_the_entries_about_a_model(server: LiveServer) -> None:
    _mutate(server, 2)
    result = run_cli(server.url, "--json", "audit", "log", "default/model-1")
    assert result.returncode == 0, result.stderr
    entries = json.loads(result.stdout)
    assert [(e["action"], e["subject"], e["actor"]) for e in entries] == [
        ("model.create", "default/model-1", "admin")
    ]
    reader = httpx.post(
        f"{server.url}{API}/principals", json={"name": "rita"}, headers=server.headers
    )
    assert reader.status_code == 201
    token = httpx.post(
        f"{server.url}{API}/tokens",
        json={"name": "t", "principal": "rita"},
        headers=server.headers,
    ).json()["secret"]
    denied = httpx.get(f"{server.url}{API}/audit/entries", headers=bearer(token))
    assert denied.status_code == 403
