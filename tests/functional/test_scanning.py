"""Every pushed file is scanned, reading bytes only: malicious pickles the tests build
themselves (never loaded) are flagged, clean files pass, large versions are scanned in the
background with their state visible."""

from __future__ import annotations

import io
import json
import os
import pickle
import struct
import zipfile
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import LiveServer, start_live_server
from tests.functional import blob_file, flip_byte, run_cli, wait_for

API = "/api/v1"


class _Exploit:
    """Pickling this writes a call to os.system; nothing here ever unpickles it."""

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (os.system, ("echo pwned",))


def _safetensors() -> bytes:
    header = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    return struct.pack("<Q", len(header)) + header + struct.pack("<2f", 1.0, 2.0)


def _torch_zip(data_pkl: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("archive/data.pkl", data_pkl)
        archive.writestr("archive/version", "3\n")
    return buffer.getvalue()


def _push(server: LiveServer, folder: Path) -> dict[str, Any]:
    result = run_cli(server.url, "--json", "push", "default/m", str(folder), "--no-provenance")
    assert result.returncode == 0, result.stderr
    pushed: dict[str, Any] = json.loads(result.stdout)
    return pushed


def _scan(server: LiveServer, number: int) -> dict[str, Any]:
    url = f"{server.url}{API}/models/default/m/versions/{number}/validations"
    history = httpx.get(url, headers=server.headers).json()["items"]
    scan: dict[str, Any] = [v for v in history if v["name"] == "scan"][-1]
    return scan


def test_malicious_pickles_are_flagged_and_clean_files_pass(
    live_server: LiveServer, tmp_path: Path
) -> None:
    evil = pickle.dumps(_Exploit(), protocol=4)
    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / "model.safetensors").write_bytes(_safetensors())
    (clean / "vocab.pkl").write_bytes(pickle.dumps({"tokens": ["a", "b"], "size": 2.5}))
    (clean / "tiny.bin").write_bytes(b"w1\n")  # shorter than any archive's trailer
    assert _scan(live_server, _push(live_server, clean)["number"])["status"] == "clean"

    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "evil.pkl").write_bytes(evil)
    (bad / "renamed.pt").write_bytes(evil)
    (bad / "model.pt").write_bytes(_torch_zip(evil))
    scan = _scan(live_server, _push(live_server, bad)["number"])
    assert scan["status"] == "flagged"
    flagged = {(f["file"], f["kind"], f["severity"]) for f in scan["details"]["findings"]}
    for file in ("evil.pkl", "renamed.pt", "model.pt"):
        assert (file, "dangerous_global", "blocking") in flagged, scan
    assert all("system" in f["message"] for f in scan["details"]["findings"])


def test_a_corrupted_safetensors_header_is_flagged(live_server: LiveServer, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    broken = bytearray(_safetensors())
    broken[0:8] = struct.pack("<Q", 10**9)  # a header longer than the file
    (folder / "model.safetensors").write_bytes(bytes(broken))
    scan = _scan(live_server, _push(live_server, folder)["number"])
    assert scan["status"] == "flagged"
    assert [f["kind"] for f in scan["details"]["findings"]] == ["safetensors_header"]


def test_a_large_version_is_scanned_in_the_background(tmp_path: Path) -> None:
    server = start_live_server(tmp_path, CAIRN_SCAN_INLINE_BYTES="1024")
    try:
        folder = tmp_path / "big"
        folder.mkdir()
        (folder / "padding.bin").write_bytes(b"padding\n" + os.urandom(4096))
        (folder / "evil.pkl").write_bytes(pickle.dumps(_Exploit(), protocol=2))
        number = _push(server, folder)["number"]
        first = _scan(server, number)
        assert first["status"] in ("pending", "running", "flagged")
        done = wait_for(
            lambda: (s := _scan(server, number))["status"] not in ("pending", "running") and s,
            "the background scan",
        )
        assert done["status"] == "flagged"
        history = httpx.get(
            f"{server.url}{API}/models/default/m/versions/{number}/validations",
            headers=server.headers,
        ).json()["items"]
        assert [(v["name"], v["status"]) for v in history] == [
            ("integrity", "passed"),
            ("completeness", "failed"),  # pushed without provenance, description, …
            ("signature", "unsigned"),
            ("scan", "flagged"),
        ]
    finally:
        server.stop()


def test_cairn_s_own_validators_re_run_and_the_history_is_kept(
    live_server: LiveServer, tmp_path: Path
) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(_safetensors())
    number = _push(live_server, folder)["number"]
    ref = f"default/m:{number}"
    base = f"{live_server.url}{API}/models/default/m/versions/{number}"
    # CI posts a result twice; both runs are kept.
    for status in ("failed", "passed"):
        result = run_cli(live_server.url, "validate", ref, "bias", status, "--metric", "dp=0.1")
        assert result.returncode == 0, result.stderr
    # The stored bytes rot on disk: re-running the integrity check finds it.
    digest = httpx.get(base, headers=live_server.headers).json()["files"][0]["digest"]
    flip_byte(blob_file(live_server.data_dir, digest), 20)
    rerun = httpx.post(f"{base}/validations/integrity/rerun", headers=live_server.headers)
    assert rerun.status_code == 201, rerun.text
    assert rerun.json()["status"] == "failed"
    assert rerun.json()["details"]["corrupt"] == ["model.safetensors"]
    history = httpx.get(f"{base}/validations", headers=live_server.headers).json()["items"]
    assert [(v["name"], v["status"]) for v in history] == [
        ("integrity", "passed"),
        ("completeness", "failed"),
        ("signature", "unsigned"),
        ("scan", "clean"),
        ("bias", "failed"),
        ("bias", "passed"),
        ("integrity", "failed"),
    ]
    # Its files are no longer served (a failed check blocks the pull); its record is.
    assert httpx.get(base, headers=live_server.headers).json()["error"]["code"] == (
        "version_blocked"
    )
    summary = httpx.get(base, params={"files": "false"}, headers=live_server.headers).json()[
        "validations"
    ]
    assert summary["integrity"] == "failed" and summary["bias"] == "passed"
    # Each name stays where it first appeared, whatever ran since.
    assert list(summary) == ["integrity", "completeness", "signature", "scan", "bias"]
    refused = httpx.post(f"{base}/validations/bias/rerun", headers=live_server.headers)
    assert refused.status_code == 400


def test_a_file_whose_bytes_put_control_characters_in_findings_registers_on_both_databases(
    tmp_path: Path, database_url: str
) -> None:
    """A pickle naming a global with NUL, a lone surrogate's bytes and other control
    characters in it (random weights can read like this): the scan warns of the unknown global
    and says so in text every database stores, instead of the registration failing on
    PostgreSQL."""
    server = start_live_server(tmp_path, database_url)
    try:
        folder = tmp_path / "model"
        folder.mkdir()
        (folder / "weights.pkl").write_bytes(
            b"\x80\x02cfoo\x00bar\x1b[31m\nsys\xed\xa0\x80tem\n)R."
        )
        pushed = _push(server, folder)
        scan = _scan(server, pushed["number"])
        assert scan["status"] == "warnings", scan
        text = json.dumps(scan)
        assert "\\u0000" not in text and "\\u001b" not in text, text
        assert "foo\\\\x00bar" in text, text  # the NUL is shown escaped, not dropped
    finally:
        server.stop()
