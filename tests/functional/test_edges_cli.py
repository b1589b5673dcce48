"""The edge rules as a user meets them at the command line, against a real server: what the CLI
reads and sends is held to the same rules as what the server reads."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import LiveServer
from tests.functional import run_cli


def _policy(server: LiveServer) -> dict[str, object]:
    got = httpx.get(f"{server.url}/api/v1/namespaces/default/policy", headers=server.headers)
    got.raise_for_status()
    found: dict[str, object] = got.json()
    return found


def test_a_policy_file_with_a_duplicate_key_is_refused_not_half_read(
    live_server: LiveServer, tmp_path: Path
) -> None:
    """``json.loads`` keeps the last of two keys: the approvals the author wrote first would
    be dropped without a word. The CLI reads the file with the server's strict reader."""
    strict = {"states": {"production": {"approvals": 2}}}
    doubled = '{"states": {"production": {"approvals": 2}, "production": {"approvals": 0}}}'
    assert json.loads(doubled) == {"states": {"production": {"approvals": 0}}}
    before = _policy(live_server)
    policy_file = tmp_path / "policy.json"
    policy_file.write_text(doubled)
    done = run_cli(live_server.url, "policy", "set", "default", str(policy_file))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "duplicate key 'production'" in done.stderr
    assert _policy(live_server) == before
    policy_file.write_text(json.dumps(strict))
    done = run_cli(live_server.url, "policy", "set", "default", str(policy_file))
    assert done.returncode == 0, done.stderr
    assert _policy(live_server) != before


def _scan_of(server: LiveServer, ref: str) -> dict[str, Any]:
    namespace, _, rest = ref.partition("/")
    model, _, number = rest.partition(":")
    url = f"{server.url}/api/v1/models/{namespace}/{model}/versions/{number}/validations"
    history = httpx.get(url, headers=server.headers).json()["items"]
    scan: dict[str, Any] = [v for v in history if v["name"] == "scan"][-1]
    return scan


def test_archive_members_named_against_the_path_rule_flag_the_scan(
    live_server: LiveServer, tmp_path: Path
) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("./weights/", b"")  # how a folder is written: not a finding
        archive.writestr("weights/layer.bin", b"fine")
        archive.writestr("weights/C:evil.bin", b"a drive letter after the first segment")
        archive.writestr("model\u202enib.exe", b"shows as modelexe.bin")
        archive.writestr("logs/con.txt", b"a device on Windows")
    (folder / "bundle.zip").write_bytes(buffer.getvalue())
    done = run_cli(live_server.url, "--json", "push", "default/zipped", str(folder))
    assert done.returncode == 0, done.stderr
    scan = _scan_of(live_server, json.loads(done.stdout)["ref"])
    assert scan["status"] == "flagged", scan
    findings = scan["details"]["findings"]
    assert {(f["kind"], f["severity"]) for f in findings} == {("unsafe_member_path", "medium")}
    assert len(findings) == 3, findings


def test_a_folder_holding_a_name_against_the_path_rule_is_not_pushed(
    live_server: LiveServer, tmp_path: Path
) -> None:
    folder = tmp_path / "model"
    (folder / "logs").mkdir(parents=True)
    (folder / "weights.bin").write_bytes(b"weights")
    (folder / "logs" / "run:1.txt").write_text("a colon: an NTFS stream on Windows")
    done = run_cli(live_server.url, "push", "default/colon", str(folder))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "unsafe_path" in done.stderr and "':'" in done.stderr
    found = httpx.get(f"{live_server.url}/api/v1/models/default/colon", headers=live_server.headers)
    assert found.status_code == 404
